import { assert, assertEquals, assertRejects } from "../deps/assert.ts";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { digestNote, downloadArchive, OFFICIAL_SHA256 } from "../data/download.ts";
import { Rng } from "../utils/rng.ts";

interface Server {
  base: string;
  requests: { path: string; range: string | null }[];
  close: () => Promise<void>;
}

/** A loopback server: `handler` answers each request. */
function serve(handler: (req: Request, n: number) => Response): Server {
  const requests: Server["requests"] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => {
      requests.push({ path: new URL(req.url).pathname, range: req.headers.get("range") });
      return handler(req, requests.length);
    },
  );
  const addr = server.addr as Deno.NetAddr;
  return {
    base: `http://127.0.0.1:${addr.port}/files/`,
    requests,
    close: async () => {
      await server.shutdown();
    },
  };
}

/** Runs `body` with a new temp folder and a loopback server, then closes and removes both. */
async function withServer(
  handler: (req: Request, n: number) => Response,
  body: (dir: string, srv: Server) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const srv = serve(handler);
  try {
    await body(dir, srv);
  } finally {
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function payload(n: number): Uint8Array<ArrayBuffer> {
  const rng = new Rng(9);
  return Uint8Array.from({ length: n }, () => rng.int(256));
}

/** Serves `data` with Range support. */
function rangeResponse(req: Request, data: Uint8Array): Response {
  const range = req.headers.get("range");
  const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
  if (m) {
    const start = Number(m[1]);
    if (start >= data.length) return new Response(null, { status: 416 });
    return new Response(data.slice(start), {
      status: 206,
      headers: { "content-range": `bytes ${start}-${data.length - 1}/${data.length}` },
    });
  }
  return new Response(data.slice(), { headers: { "content-length": String(data.length) } });
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A server whose first answer breaks off after `cut` bytes, then serves `data` with Range. */
function cutOnce(data: Uint8Array, cut: number): (req: Request, n: number) => Response {
  return (req, n) => {
    if (n > 1) return rangeResponse(req, data);
    const body = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(data.slice(0, cut));
      },
      pull(ctl) {
        return new Promise((r) => setTimeout(r, 50)).then(() => ctl.error(new Error("cut")));
      },
    });
    return new Response(body, { headers: { "content-length": String(data.length) } });
  };
}

async function listDir(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("downloadArchive: a complete download lands under the final name", async () => {
  const data = payload(50_000);
  await withServer((req) => rangeResponse(req, data), async (dir, srv) => {
    const path = await downloadArchive({
      name: "small",
      dataDir: dir,
      baseUrl: srv.base,
      progress: false,
    });
    assertEquals(path, join(dir, "notMNIST_small.tar.gz"));
    assertEquals(await Deno.readFile(path), data);
    assertEquals(await listDir(dir), ["notMNIST_small.tar.gz"]);
    assertEquals(srv.requests[0].path, "/files/notMNIST_small.tar.gz");
    // already there: no new request
    await downloadArchive({ name: "small", dataDir: dir, baseUrl: srv.base, progress: false });
    assertEquals(srv.requests.length, 1);
  });
});

Deno.test("downloadArchive: 404 is a clear error and leaves no file", async () => {
  await withServer(() => new Response("no", { status: 404 }), async (dir, srv) => {
    await assertRejects(
      () => downloadArchive({ name: "large", dataDir: dir, baseUrl: srv.base, progress: false }),
      /notMNIST_large\.tar\.gz: HTTP 404/,
    );
    assertEquals(await listDir(dir), []);
  });
});

Deno.test("downloadArchive: a wrong announced size is refused before writing", async () => {
  const data = payload(1000);
  await withServer((req) => rangeResponse(req, data), async (dir, srv) => {
    await assertRejects(
      () =>
        downloadArchive({
          name: "small",
          dataDir: dir,
          baseUrl: srv.base,
          expectedSize: 8_458_043,
          progress: false,
        }),
      /wrong size: the server announces 1000 bytes, expected 8458043/,
    );
    assertEquals(await listDir(dir), []);
  });
});

Deno.test("downloadArchive: an interrupted transfer keeps only a .part, then resumes with Range", async () => {
  const data = payload(300_000);
  const cut = 120_000;
  // first request: announce the full length, send part of it, then break the connection
  await withServer(cutOnce(data, cut), async (dir, srv) => {
    await assertRejects(
      () => downloadArchive({ name: "small", dataDir: dir, baseUrl: srv.base, progress: false }),
      /interrupted|truncated/,
    );
    assertEquals(await listDir(dir), ["notMNIST_small.tar.gz.part"]);
    const partial = (await Deno.stat(join(dir, "notMNIST_small.tar.gz.part"))).size;
    assert(partial > 0 && partial < data.length, `partial size ${partial}`);
    const path = await downloadArchive({
      name: "small",
      dataDir: dir,
      baseUrl: srv.base,
      expectedSize: data.length,
      progress: false,
    });
    assertEquals(await Deno.readFile(path), data);
    assertEquals(srv.requests[1].range, `bytes=${partial}-`);
    assertEquals(await listDir(dir), ["notMNIST_small.tar.gz"]);
  });
});

Deno.test("downloadArchive: a body shorter than announced is reported as truncated", async () => {
  const data = payload(10_000);
  await withServer(() =>
    // a 206 whose Content-Range promises more than the body holds
    new Response(data.slice(0, 4000), {
      status: 206,
      headers: { "content-range": `bytes 0-9999/10000` },
    }), async (dir, srv) => {
    await assertRejects(
      () => downloadArchive({ name: "small", dataDir: dir, baseUrl: srv.base, progress: false }),
      /truncated: got 4000 of 10000 bytes/,
    );
    assertEquals(await listDir(dir), ["notMNIST_small.tar.gz.part"]);
  });
});

Deno.test("downloadArchive: an unreachable server is a clear error", async () => {
  const dir = await Deno.makeTempDir();
  const srv = serve(() => new Response("x"));
  const base = srv.base;
  await srv.close(); // nothing listens on that port any more
  try {
    await assertRejects(
      () => downloadArchive({ name: "small", dataDir: dir, baseUrl: base, progress: false }),
      /cannot download http:\/\/127\.0\.0\.1:\d+\/files\/notMNIST_small\.tar\.gz: .*offline\?/,
    );
    assertEquals(await listDir(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadArchive: a complete body of the wrong size is refused and removed", async () => {
  const data = payload(3000);
  // no Content-Length: the size is only known once the body has ended
  await withServer(() => new Response(new Blob([data.slice()]).stream()), async (dir, srv) => {
    await assertRejects(
      () =>
        downloadArchive({
          name: "small",
          dataDir: dir,
          baseUrl: srv.base,
          expectedSize: 5000,
          progress: false,
        }),
      /wrong size: downloaded 3000 bytes, expected 5000/,
    );
    assertEquals(await listDir(dir), []);
  });
});

Deno.test("downloadArchive: bytes that do not match the SHA-256 are refused; the .part is not renamed", async () => {
  const data = payload(20_000);
  const other = sha256(payload(20_001));
  await withServer((req) => rangeResponse(req, data), async (dir, srv) => {
    const get = () =>
      downloadArchive({
        name: "small",
        dataDir: dir,
        baseUrl: srv.base,
        expectedSize: data.length,
        expectedSha256: other,
        progress: false,
      });
    await assertRejects(
      get,
      new RegExp(
        `notMNIST_small\\.tar\\.gz: SHA-256 mismatch: the 20000 bytes downloaded hash to ` +
          `${sha256(data)}, expected ${other}; .*notMNIST_small\\.tar\\.gz\\.part is kept for ` +
          `inspection and not renamed`,
      ),
    );
    assertEquals(await listDir(dir), ["notMNIST_small.tar.gz.part"]);
    assertEquals(await Deno.readFile(join(dir, "notMNIST_small.tar.gz.part")), data);
    // the complete .part is checked again, not fetched again, and still refused
    await assertRejects(get, /SHA-256 mismatch/);
    assertEquals(srv.requests.length, 1);
    assertEquals(await listDir(dir), ["notMNIST_small.tar.gz.part"]);
  });
});

Deno.test("downloadArchive: a resumed download is hashed whole (kept part, then the rest)", async () => {
  const data = payload(200_000);
  await withServer(cutOnce(data, 70_000), async (dir, srv) => {
    const opts = {
      name: "small" as const,
      dataDir: dir,
      baseUrl: srv.base,
      expectedSha256: sha256(data),
      progress: false,
    };
    await assertRejects(() => downloadArchive(opts), /interrupted|truncated/);
    const lines: string[] = [];
    const path = await downloadArchive({ ...opts, log: (l) => lines.push(l) });
    assert(srv.requests[1].range !== null, "the second request resumes");
    assertEquals(await Deno.readFile(path), data);
    assert(lines.some((l) => l.endsWith("(SHA-256 verified)")), lines.join("\n"));
  });
  // the same resume with a digest the whole file does not have is refused
  await withServer(cutOnce(data, 70_000), async (dir, srv) => {
    const opts = {
      name: "small" as const,
      dataDir: dir,
      baseUrl: srv.base,
      expectedSha256: sha256(data.subarray(70_000)),
      progress: false,
    };
    await assertRejects(() => downloadArchive(opts), /interrupted|truncated/);
    await assertRejects(() => downloadArchive(opts), /SHA-256 mismatch/);
    assertEquals(await listDir(dir), ["notMNIST_small.tar.gz.part"]);
  });
});

Deno.test("digestNote: an archive that is not the official one is noted, not rejected", () => {
  assertEquals(digestNote("small", OFFICIAL_SHA256.small), null);
  assertEquals(digestNote("large", null), null);
  const other = "84e19604cea1bc2b33362efef0e09ddf35f590994244d69d8891c46760c587a3";
  assertEquals(
    digestNote("small", other),
    `note: notMNIST_small.tar.gz has SHA-256 ${other}, not the official ` +
      `${OFFICIAL_SHA256.small}; it is used as it is (a rebuilt or modified copy)`,
  );
});
