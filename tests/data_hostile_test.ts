/**
 * Archives built to break the data layer, all generated here: a gzip bomb
 * (streamed zeros, never built in memory), hostile entry names, every link and
 * special entry type, an archive with no image and a one-letter archive.
 */
import { assert, assertEquals, assertRejects } from "../deps/assert.ts";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { assemblePng } from "../deps/png.ts";
import { tarEntries } from "../deps/tar_reader.ts";
import { packTar } from "../deps/tar_writer.ts";
import { entryPathProblem, loadArchive, MAX_ENTRY_BYTES, MAX_SKIPPED } from "../data/archive.ts";
import { main as dataCli } from "../data/cli.ts";
import { EmptyArchiveError, MissingLettersError } from "../data/errors.ts";
import { decodeGray28, MAX_RAW_BYTES } from "../data/png_gray.ts";
import { loadSplits } from "../data/splits.ts";
import {
  grayPng,
  randomImage,
  type RawTarEntry,
  writeFolder,
  writeRawTarGz,
} from "../data/synthetic.ts";
import { LETTERS, PIXELS } from "../data/types.ts";
import { main as gradeCli } from "../grader/cli.ts";
import { run as runTask2 } from "../tasks/task2.ts";
import { Rng } from "../utils/rng.ts";
import { capture } from "./console_capture.ts";

const MiB = 1 << 20;

/** One readable image per letter (or per given letter) under `root`. */
function images(root: string, letters: readonly string[] = LETTERS, seed = 1): RawTarEntry[] {
  const rng = new Rng(seed);
  return letters.map((l) => ({
    name: `${root}/${l}/img_${l}.png`,
    bytes: grayPng(randomImage(rng)),
  }));
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The error `fn` rejects with; fails unless it is a `cls`. */
async function rejection<E extends Error>(
  fn: () => Promise<unknown>,
  cls: new (...args: never[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    assert(err instanceof cls, `expected ${cls.name}, got ${err}`);
    return err;
  }
  throw new Error(`expected ${cls.name}, but nothing was thrown`);
}

/** Loads `archive` in a fresh process; its image count, skipped files and peak RSS (KiB). */
async function loadInChild(
  archive: string,
): Promise<{ count: number; skipped: { path: string; reason: string }[]; peakKib: number | null }> {
  const child = new URL("./fixtures/load_archive_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", child, archive], // reading /proc/self/status needs --allow-all
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(out.success, `child failed: ${text}\n${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text.trim().split("\n").pop()!);
}

Deno.test("gzip bomb: a 384 MiB entry is drained unread, listed with its size; memory stays flat", async () => {
  await withDir(async (dir) => {
    const declared = 384 * MiB;
    const bombPath = join(dir, "bomb", "notMNIST_small.tar.gz");
    const peerPath = join(dir, "peer", "notMNIST_small.tar.gz");
    await writeRawTarGz(bombPath, [
      ...images("notMNIST_small", ["A", "B", "C"]),
      { name: "notMNIST_small/A/bomb.png", zeros: declared },
      ...images("notMNIST_small", ["D", "E"], 2),
    ]);
    await writeRawTarGz(peerPath, [
      ...images("notMNIST_small", ["A", "B", "C"]),
      ...images("notMNIST_small", ["D", "E"], 2),
    ]);
    const onDisk = (await Deno.stat(bombPath)).size;
    assert(onDisk < 2 * MiB, `the bomb is small on disk: ${onDisk} bytes`);
    // Each archive is read in a fresh process, so each peak RSS is its own.
    const peer = await loadInChild(peerPath);
    const bomb = await loadInChild(bombPath);
    if (bomb.peakKib !== null && peer.peakKib !== null) {
      // Buffering the entry would add at least 384 MiB; draining it adds about 70 MiB of
      // decompressed chunks waiting for the garbage collector (whatever the declared size).
      const extra = (bomb.peakKib - peer.peakKib) / 1024;
      assert(
        extra < 192,
        `peak RSS ${extra.toFixed(0)} MiB above the same archive without the bomb`,
      );
    }
    assertEquals([bomb.count, peer.count], [5, 5]);
    assertEquals(bomb.skipped.length, 1);
    assertEquals(bomb.skipped[0].path, "notMNIST_small/A/bomb.png");
    assertEquals(
      bomb.skipped[0].reason,
      `declared size ${declared} bytes (384.0 MiB), over the 1.0 MiB allowed for one image; ` +
        "drained unread",
    );
    // and in this process: every entry counted
    const a = await loadArchive(bombPath, { workers: 0 });
    assertEquals([a.set.count, a.source.files], [5, 6]);
  });
});

Deno.test("tarEntries: bodies over maxBodyBytes, and of non-files, are drained; the rest is read", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "x.tar.gz");
    await writeRawTarGz(path, [
      { name: "r/A/big", zeros: 3 * MiB + 5 },
      { name: "r/A/small", bytes: new Uint8Array([1, 2, 3]) },
      { name: "r/A/dev", type: "character-device", zeros: 2 * MiB },
      { name: "r/A/after", bytes: new Uint8Array([4]) },
    ]);
    const f = await Deno.open(path);
    const got = [];
    for await (
      const e of tarEntries(f.readable.pipeThrough(new DecompressionStream("gzip")), {
        maxBodyBytes: MiB,
      })
    ) got.push([e.name, e.type, e.size, e.oversized, [...e.bytes]]);
    assertEquals(got, [
      ["r/A/big", "file", 3 * MiB + 5, true, []],
      ["r/A/small", "file", 3, false, [1, 2, 3]],
      ["r/A/dev", "character-device", 2 * MiB, false, []],
      ["r/A/after", "file", 1, false, [4]],
    ]);
  });
});

Deno.test("tarEntries: long names (ustar prefix or PAX) read back whole; corrupt or cut streams are errors", async () => {
  const long = `root/${"d".repeat(120)}/${"f".repeat(130)}.png`;
  const mid = `root/${"p".repeat(90)}/${"q".repeat(60)}.png`;
  const tar = await packTar([
    { name: long, bytes: new Uint8Array([7]) },
    { name: mid, bytes: new Uint8Array([8, 9]) },
  ]);
  const read = async (bytes: Uint8Array) => {
    const out: [string, number[]][] = [];
    for await (const e of tarEntries(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream())) {
      out.push([e.name, [...e.bytes]]);
    }
    return out;
  };
  assertEquals(await read(tar), [[long, [7]], [mid, [8, 9]]]);
  const bad = tar.slice();
  bad[5] ^= 0x01; // a name byte of the first header: its checksum no longer matches
  await assertRejects(() => read(bad), /corrupt tar header at byte 0 \(bad checksum\)/);
  await assertRejects(() => read(tar.subarray(0, 512 * 3 + 100)), /truncated/);
  // a consumer that stops early cancels the stream (gunzipFile then closes its file)
  let cancelled = false;
  const src = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(tar.slice(0, 2048)); // the first entry, and more to come
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const e of tarEntries(src)) {
    assertEquals(e.name, long);
    break;
  }
  assert(cancelled, "the stream was cancelled");
});

Deno.test("hostile names: '..', absolute, outside the root, no letter folder, nested: skipped with reasons", async () => {
  await withDir(async (dir) => {
    const rng = new Rng(3);
    const png = () => grayPng(randomImage(rng));
    const root = "notMNIST_small";
    const expected = `(expected ${root}/<A-J>/<file>)`;
    const hostile: [string, string][] = [
      ["../../evil/A/x.png", `path contains ".." ${expected}`],
      ["/tmp/evil_abs/A/y.png", `absolute path ${expected}`],
      [`${root}/../evil/A/z.png`, `path contains ".." ${expected}`],
      [`${root}/A/../../B/w.png`, `path contains ".." ${expected}`],
      ["other_root/A/v.png", `outside the archive's root folder ${root}/ ${expected}`],
      [`${root}/A/deeper/u.png`, `not directly in a letter folder ${expected}`],
      [`${root}/K/t.png`, `no class folder (A..J) in its path ${expected}`],
      [`${root}/a/s.png`, `no class folder (A..J) in its path ${expected}`],
      [`${root}/stray.png`, `no class folder (A..J) in its path ${expected}`],
      ["A/r.png", `outside the archive's root folder ${root}/ ${expected}`],
      [`${root}/C/new\nline.png`, `control character in the path ${expected}`],
      [`${root}/D/\x1b[2Jclear.png`, `control character in the path ${expected}`],
    ];
    const path = join(dir, `${root}.tar.gz`);
    await writeRawTarGz(path, [
      ...images(root),
      { name: `./${root}/B/dot_slash.png`, bytes: png() }, // "./" prefix: accepted
      ...hostile.map(([name]) => ({ name, bytes: png() })),
    ]);
    const a = await loadArchive(path, { workers: 0 });
    assertEquals(a.set.count, 11);
    assertEquals(a.source.files, 11 + hostile.length);
    assertEquals(a.perLetter.A, 1);
    assertEquals(a.perLetter.B, 2);
    assertEquals(a.names.filter((n) => !n.replace(/^\.\//, "").startsWith(`${root}/`)), []);
    assertEquals(
      a.skipped,
      hostile.map(([p, reason]) => ({ path: p, reason })).sort((x, y) =>
        x.path < y.path ? -1 : x.path > y.path ? 1 : 0
      ),
    );
    for (const [p, reason] of hostile) assertEquals(entryPathProblem(p, root), reason);
    assertEquals(entryPathProblem("C:/x/A/y.png", root), `absolute path ${expected}`);
    assertEquals(entryPathProblem(`${root}/J/ok.png`, root), null);
    // deno task data lists them with control characters escaped
    const { out } = await capture(() =>
      dataCli(["--data-dir", dir, "--cache-dir", join(dir, "cache"), "--protocol", "small"])
    );
    assert(out.includes(`    ${root}/D/\\u001b[2Jclear.png: control character in the path`), out);
    assert(out.includes(`    ${root}/C/new\\u000aline.png: control character`), out);
    assert(out.includes('    ../../evil/A/x.png: path contains ".."'), out);
    assert(!out.includes("\x1b"), "no raw escape reaches the terminal");
  });
});

Deno.test("links, devices and FIFOs in a .tar.gz are skipped and listed; every entry is counted", async () => {
  await withDir(async (dir) => {
    const root = "notMNIST_small";
    const special: RawTarEntry[] = [
      { name: `${root}/A/sym.png`, type: "symlink", linkName: "/etc/passwd" },
      { name: `${root}/B/hard.png`, type: "link", linkName: `${root}/A/img_A.png` },
      { name: `${root}/C/chr.png`, type: "character-device" },
      { name: `${root}/D/blk.png`, type: "block-device" },
      { name: `${root}/E/fifo.png`, type: "fifo" },
      { name: `${root}/F/`, type: "directory" }, // a directory is not a file: not counted
    ];
    const path = join(dir, `${root}.tar.gz`);
    await writeRawTarGz(path, [...images(root), ...special]);
    const a = await loadArchive(path, { workers: 0 });
    assertEquals(a.set.count, 10);
    assertEquals(a.source.files, 15, "10 images + 5 special entries");
    assertEquals(a.set.count + a.skipped.length, a.source.files);
    assertEquals(a.filesPerLetter.A, 2);
    assertEquals(a.skipped, [
      {
        path: `${root}/A/sym.png`,
        reason: "symbolic link to /etc/passwd (links are not followed)",
      },
      {
        path: `${root}/B/hard.png`,
        reason: `hard link to ${root}/A/img_A.png (links are not followed)`,
      },
      { path: `${root}/C/chr.png`, reason: "character device (not a regular file)" },
      { path: `${root}/D/blk.png`, reason: "block device (not a regular file)" },
      { path: `${root}/E/fifo.png`, reason: "FIFO (not a regular file)" },
    ]);
  });
});

Deno.test("an extracted folder: symlinks and FIFOs are listed, never opened; large files are not read", async () => {
  await withDir(async (dir) => {
    const root = join(dir, "notMNIST_small");
    const rng = new Rng(4);
    await writeFolder(
      dir,
      LETTERS.map((l) => ({ path: `notMNIST_small/${l}/x.png`, bytes: grayPng(randomImage(rng)) })),
    );
    await Deno.symlink("/etc/passwd", join(root, "A", "link.png"));
    await Deno.symlink(join(root, "B"), join(root, "C", "dir_link")); // a link to a folder
    const fifo = await new Deno.Command("mkfifo", { args: [join(root, "D", "pipe.png")] }).output();
    assert(fifo.success, "mkfifo");
    const big = await Deno.open(join(root, "E", "big.png"), { write: true, create: true });
    await big.truncate(2 * MiB); // sparse: 2 MiB declared, no disk used
    big.close();
    for (const pass of ["decoded", "cached"]) {
      const a = await loadArchive(root, { workers: 0, cacheDir: join(dir, "cache") });
      assertEquals(a.fromCache, pass === "cached");
      assertEquals(a.set.count, 10);
      assertEquals(a.source.files, 14);
      const reasons = Object.fromEntries(a.skipped.map((s) => [s.path, s.reason]));
      assertEquals(reasons, {
        "notMNIST_small/A/link.png": "symbolic link to /etc/passwd (links are not followed)",
        "notMNIST_small/C/dir_link": `symbolic link to ${join(root, "B")} (links are not followed)`,
        "notMNIST_small/D/pipe.png": "FIFO (not a regular file)",
        "notMNIST_small/E/big.png": `declared size ${2 * MiB} bytes (2.0 MiB), over the ` +
          `${(MAX_ENTRY_BYTES / MiB).toFixed(1)} MiB allowed for one image; drained unread`,
      });
    }
  });
});

Deno.test("no readable image: a typed error naming the archive and what was expected", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "notMNIST_small.tar.gz");
    await writeRawTarGz(path, [{ name: "notMNIST_small/README", bytes: new Uint8Array(10) }]);
    const err = await rejection(() => loadArchive(path, { workers: 0 }), EmptyArchiveError);
    assertEquals(err.path, path);
    assert(
      err.message.startsWith(
        `notMNIST archive ${path} holds no readable image: expected 28x28 8-bit grayscale PNGs ` +
          `named notMNIST_small/<A-J>/<file>; found 1 file, all skipped (notMNIST_small/README: ` +
          `no class folder`,
      ),
      err.message,
    );
    await assertRejects(() => dataCli(["--data-dir", dir]), EmptyArchiveError);
    // an archive with no entry at all
    await writeRawTarGz(path, []);
    const none = await rejection(() => loadArchive(path, { workers: 0 }), EmptyArchiveError);
    assert(
      none.message.endsWith(
        "holds no readable image: expected 28x28 8-bit grayscale PNGs named " +
          "notMNIST_small/<A-J>/<file>; found 0 files",
      ),
      none.message,
    );
  });
});

Deno.test("one-letter archive: a warning from deno task data, a typed error for training and grading", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "notMNIST_small.tar.gz");
    const rng = new Rng(6);
    await writeRawTarGz(
      path,
      Array.from({ length: 40 }, (_, i) => ({
        name: `notMNIST_small/A/${i}.png`,
        bytes: grayPng(randomImage(rng)),
      })),
    );
    const cacheDir = join(dir, "cache");
    const err = await rejection(
      () => loadSplits({ dataDir: dir, cacheDir, workers: 0 }),
      MissingLettersError,
    );
    assertEquals(err.letters, ["B", "C", "D", "E", "F", "G", "H", "I", "J"]);
    assertEquals(err.path, path);
    assert(err.message.includes("no readable image of letters B, C, D, E, F, G, H, I, J"));
    const { code, out } = await capture(() =>
      dataCli(["--data-dir", dir, "--cache-dir", cacheDir])
    );
    assertEquals(code, 0);
    assert(
      out.includes(
        `  warning: ${path}: no readable image of letters B, C, D, E, F, G, H, I, J;`,
      ),
      out,
    );
    assert(out.includes("the tasks and the grader refuse it"), out);
    // two letters missing from an otherwise complete archive
    await writeRawTarGz(path, [...images("notMNIST_small", LETTERS.slice(0, 8))]);
    const two = await rejection(
      () => loadSplits({ dataDir: dir, cacheDir, workers: 0 }),
      MissingLettersError,
    );
    assertEquals(two.letters, ["I", "J"]);
  });
});

/** A PNG with header fields as given and `idat` as its (zlib) image data. */
function rawPng(width: number, height: number, color: number, interlace: number, idat: Uint8Array) {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([8, color, 0, 0, interlace], 8);
  return assemblePng(ihdr, idat);
}

Deno.test("PNG bombs: a huge declared size or image data that inflates to 64 MiB is refused unread", () => {
  const bomb = new Uint8Array(deflateSync(new Uint8Array(64 * MiB)));
  assert(bomb.length < MiB, `the bomb fits in an entry: ${bomb.length} bytes`);
  const out = new Uint8Array(PIXELS);
  const limit =
    `corrupt PNG: image data does not inflate (inflates to more than ${MAX_RAW_BYTES} bytes)`;
  const cases: [Uint8Array, string][] = [
    [rawPng(100_000, 100_000, 0, 0, bomb), "wrong size 100000x100000 (expected 28x28)"],
    [rawPng(28, 28, 0, 0, bomb), limit], // the fast path (8-bit gray)
    [rawPng(28, 28, 0, 1, bomb), limit], // interlaced gray: decoded by fast-png after the check
    [rawPng(28, 28, 6, 0, bomb), limit], // RGBA
  ];
  for (const [png, reason] of cases) assertEquals(decodeGray28(png, out, 0), reason);
});

Deno.test("an archive without J images: task 2 and the grader refuse it, naming the letter", async () => {
  await withDir(async (dir) => {
    await writeRawTarGz(
      join(dir, "notMNIST_small.tar.gz"),
      images("notMNIST_small", ["A", "B", "C", "D", "E", "F", "G", "H", "I"]),
    );
    const cacheDir = join(dir, "cache");
    const err = await rejection(
      () =>
        runTask2({
          dataDir: dir,
          cacheDir,
          backend: "wasm",
          protocol: "small",
          epochs: 1,
          out: join(dir, "out"),
          log: () => {},
        }),
      MissingLettersError,
    );
    assertEquals(err.letters, ["J"]);
    const errors: string[] = [];
    const orig = console.error;
    console.error = (...args: unknown[]) => errors.push(args.map(String).join(" "));
    let code: number;
    try {
      const out = await capture(() =>
        gradeCli(["--data-dir", dir, "--cache-dir", cacheDir, "--out", join(dir, "grade")])
      );
      code = out.code;
    } finally {
      console.error = orig;
    }
    assertEquals(code, 2);
    assert(
      errors.join("\n").includes("could not load the notMNIST data: ") &&
        errors.join("\n").includes("no readable image of letter J;"),
      errors.join("\n"),
    );
  });
});

Deno.test("more than MAX_SKIPPED unusable entries: refused before their list fills memory", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "notMNIST_small.tar.gz");
    const entries: RawTarEntry[] = images("notMNIST_small");
    for (let i = 0; i <= MAX_SKIPPED; i++) entries.push({ name: `x/${i}`, type: "fifo" });
    await writeRawTarGz(path, entries);
    await assertRejects(
      () => loadArchive(path, { workers: 0 }),
      new RegExp(
        `notMNIST archive .*notMNIST_small\\.tar\\.gz: more than ${MAX_SKIPPED} entries skipped, ` +
          `so it is not a notMNIST archive \\(first: x/0: outside the archive's root folder`,
      ),
    );
  });
});
