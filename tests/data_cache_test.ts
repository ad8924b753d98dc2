/**
 * Trusting the decoded cache (issue 21, item 13): a cache whose bytes or
 * manifest were changed is decoded again with a note, never loaded as it is;
 * a read-only cache folder is reported as not written.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { loadArchive } from "../data/archive.ts";
import { CACHE_VERSION } from "../data/cache.ts";
import { main as dataCli } from "../data/cli.ts";
import { loadSplits } from "../data/splits.ts";
import { grayPng, randomImage, writeTarGz } from "../data/synthetic.ts";
import { LETTERS, PIXELS } from "../data/types.ts";
import { Rng } from "../utils/rng.ts";
import { capture } from "./console_capture.ts";

async function withArchive(body: (dir: string, path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const rng = new Rng(8);
    const files = LETTERS.flatMap((l) =>
      Array.from({ length: 20 }, (_, i) => ({
        path: `notMNIST_small/${l}/${i}.png`,
        bytes: grayPng(randomImage(rng)),
      }))
    );
    const path = join(dir, "notMNIST_small.tar.gz");
    await writeTarGz(path, files);
    await body(dir, path);
  } finally {
    await Deno.chmod(join(dir, "ro"), 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

/** Applies `edit` to the `.bin` of the cache at `prefix`. */
async function editBin(prefix: string, edit: (bin: Uint8Array) => void): Promise<void> {
  const bin = await Deno.readFile(`${prefix}.bin`);
  edit(bin);
  await Deno.writeFile(`${prefix}.bin`, bin);
}

Deno.test("cache: one changed label byte or zeroed pixels are caught by the checksum and decoded again", async () => {
  await withArchive(async (dir, path) => {
    const cacheDir = join(dir, "cache");
    const first = await loadArchive(path, { cacheDir, workers: 0 });
    assertEquals(first.cacheState, "written");
    const prefix = first.cachePath!;
    const manifest = JSON.parse(await Deno.readTextFile(`${prefix}.json`));
    assertEquals(manifest.version, CACHE_VERSION);
    const bin = await Deno.readFile(`${prefix}.bin`);
    assertEquals(manifest.sha256, createHash("sha256").update(bin).digest("hex"));
    const images = first.set.images.slice();
    const labels = first.set.labels.slice();
    const n = first.set.count;
    const cases: [string, (b: Uint8Array) => void][] = [
      ["a label byte", (b) => (b[n * PIXELS + 3] = 200)],
      ["zeroed pixels", (b) => b.fill(0, 0, n * PIXELS)],
    ];
    for (const [what, edit] of cases) {
      await editBin(prefix, edit);
      const lines: string[] = [];
      const again = await loadArchive(path, { cacheDir, workers: 0, log: (l) => lines.push(l) });
      assertEquals(again.fromCache, false, what);
      assertEquals(again.cacheState, "written", what);
      assertEquals(again.cacheNotes.length, 1, what);
      assert(again.cacheNotes[0].includes("has SHA-256"), again.cacheNotes[0]);
      assert(lines.some((l) => l.startsWith("note: the decoded cache ")), lines.join("\n"));
      assertEquals(again.set.images, images, what);
      assertEquals(again.set.labels, labels, what);
      // the rewritten cache is trusted again
      const third = await loadArchive(path, { cacheDir, workers: 0 });
      assertEquals([third.fromCache, third.cacheNotes], [true, []], what);
      assertEquals(third.set.labels, labels, what);
    }
    // the splits load from a repaired cache (the corrupt label used to crash them)
    await editBin(prefix, (b) => (b[n * PIXELS] = 200));
    const s = await loadSplits({ dataDir: dir, cacheDir, workers: 0, protocol: "small" });
    assertEquals(s.summary.sizes.train + s.summary.sizes.valid + s.summary.sizes.test, 200);
  });
});

Deno.test("cache: a malformed or forged manifest is not trusted (labels outside 0..9 even with a matching checksum)", async () => {
  await withArchive(async (dir, path) => {
    const cacheDir = join(dir, "cache");
    const first = await loadArchive(path, { cacheDir, workers: 0 });
    const prefix = first.cachePath!;
    const good = await Deno.readTextFile(`${prefix}.json`);
    const goodBin = await Deno.readFile(`${prefix}.bin`);
    const n = first.set.count;
    const edits: [string, (m: Record<string, unknown>, bin: Uint8Array) => void][] = [
      ["count", (m) => (m.count = (m.count as number) + 1)],
      ["layout", (m) => ((m.layout as Record<string, number[]>).names[1] = -5)],
      ["skipped", (m) => (m.skipped = [{ path: 1 }])],
      ["per letter", (m) => (m.perLetter = { A: 1 })],
      ["forged label", (m, bin) => {
        bin[n * PIXELS] = 42;
        m.sha256 = createHash("sha256").update(bin).digest("hex");
      }],
    ];
    for (const [what, edit] of edits) {
      const m = JSON.parse(good);
      const bin = goodBin.slice();
      edit(m, bin);
      await Deno.writeTextFile(`${prefix}.json`, JSON.stringify(m));
      await Deno.writeFile(`${prefix}.bin`, bin);
      const again = await loadArchive(path, { cacheDir, workers: 0 });
      assertEquals(again.fromCache, false, what);
      assert(again.cacheNotes[0]?.includes("is not usable"), `${what}: ${again.cacheNotes}`);
      assertEquals(again.set.labels, first.set.labels, what);
    }
    await Deno.writeTextFile(`${prefix}.json`, "{ not json");
    const garbled = await loadArchive(path, { cacheDir, workers: 0 });
    assertEquals(garbled.fromCache, false);
    assert(garbled.cacheNotes[0].includes("manifest is not JSON"), garbled.cacheNotes[0]);
  });
});

Deno.test("cache: a read-only cache folder is not written, and deno task data says so", async () => {
  await withArchive(async (dir, path) => {
    const ro = join(dir, "ro");
    await Deno.mkdir(ro);
    await Deno.chmod(ro, 0o555);
    const a = await loadArchive(path, { cacheDir: ro, workers: 0 });
    assertEquals(a.cacheState, "unwritten");
    assertEquals(a.set.count, 200);
    assert(a.cacheNotes[0].includes("is read-only"), a.cacheNotes[0]);
    assertEquals([...Deno.readDirSync(ro)], [], "nothing written");
    const { code, out } = await capture(() =>
      dataCli(["--data-dir", dir, "--cache-dir", ro, "--protocol", "small"])
    );
    assertEquals(code, 0);
    assert(!out.includes("(written)"), out);
    assert(
      out.includes("(could not be written; the archive was decoded and used without it)"),
      out,
    );
    assert(out.includes("split sizes: train 160, valid 20, test 20"), out);
  });
});
