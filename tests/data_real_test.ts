/**
 * The real notMNIST_small archive. It is read from env NOTMNIST_DIR, else from
 * `../shared/notmnist` beside the repository (where CI keeps it); the test fails
 * with a clear message when it is in neither place.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodePng } from "../deps/png.ts";
import { tarEntries } from "../deps/tar_reader.ts";
import { loadArchive } from "../data/archive.ts";
import { duplicateGroups, duplicateStats } from "../data/groups.ts";
import { foldsOf, loadSplits } from "../data/splits.ts";
import { PIXELS } from "../data/types.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const DATA_DIR = Deno.env.get("NOTMNIST_DIR") ?? join(REPO, "..", "shared", "notmnist");
const ARCHIVE = join(DATA_DIR, "notMNIST_small.tar.gz");

async function requireArchive(): Promise<void> {
  try {
    await Deno.stat(ARCHIVE);
  } catch {
    throw new Error(
      `${ARCHIVE} not found: set NOTMNIST_DIR to the folder holding notMNIST_small.tar.gz`,
    );
  }
}

const EMPTY = [
  "notMNIST_small/A/RGVtb2NyYXRpY2FCb2xkT2xkc3R5bGUgQm9sZC50dGY=.png",
  "notMNIST_small/F/Q3Jvc3NvdmVyIEJvbGRPYmxpcXVlLnR0Zg==.png",
];

Deno.test("real notMNIST_small: counts, skipped files, duplicates, splits and folds", async (t) => {
  await requireArchive();
  const cacheDir = await Deno.makeTempDir();
  try {
    const a = await loadArchive(ARCHIVE, { cacheDir });
    await t.step("counts per letter and the two empty files", () => {
      assertEquals(a.source.files, 18_726);
      assertEquals(a.set.count, 18_724);
      assertEquals(a.filesPerLetter, {
        A: 1873,
        B: 1873,
        C: 1873,
        D: 1873,
        E: 1873,
        F: 1873,
        G: 1872,
        H: 1872,
        I: 1872,
        J: 1872,
      });
      assertEquals(a.perLetter, {
        A: 1872,
        B: 1873,
        C: 1873,
        D: 1873,
        E: 1873,
        F: 1872,
        G: 1872,
        H: 1872,
        I: 1872,
        J: 1872,
      });
      assertEquals(a.skipped, EMPTY.map((path) => ({ path, reason: "empty file (0 bytes)" })));
    });
    await t.step("duplicate groups", () => {
      const d = duplicateStats(a.set, duplicateGroups(a.set, a.hashes));
      assertEquals(
        [d.distinct, d.groups, d.filesInGroups, d.extraCopies],
        [18_232, 236, 728, 492],
      );
      assertEquals(d.largest, { size: 254, letters: { I: 254 } });
      const blank = a.names.findIndex((_, i) =>
        a.set.labels[i] === 8 &&
        a.set.images.subarray(i * PIXELS, (i + 1) * PIXELS).every((v) => v === 255)
      );
      assert(blank >= 0, "the 254-copy group is the all-white image");
      assertEquals(d.conflicting, [
        { size: 6, letters: { B: 1, C: 1, G: 1, H: 1, I: 1, J: 1 } },
        { size: 2, letters: { I: 1, J: 1 } },
      ]);
    });
    await t.step("the fast decoder agrees with fast-png (every 7th file)", async () => {
      const byName = new Map(a.names.map((n, i) => [n, i]));
      const file = await Deno.open(ARCHIVE);
      let k = 0;
      let compared = 0;
      for await (
        const e of tarEntries(file.readable.pipeThrough(new DecompressionStream("gzip")))
      ) {
        if (e.type !== "file" || e.bytes.length === 0 || k++ % 7 !== 0) continue;
        const i = byName.get(e.name);
        assert(i !== undefined, `${e.name} missing from the decoded set`);
        const img = decodePng(e.bytes);
        assertEquals([img.width, img.height, img.channels, img.depth], [28, 28, 1, 8]);
        assertEquals(new Uint8Array(img.data), a.set.images.subarray(i * PIXELS, (i + 1) * PIXELS));
        compared++;
      }
      assert(compared > 2600, `compared ${compared}`);
    });
    await t.step("cache reload gives the same images", async () => {
      const b = await loadArchive(ARCHIVE, { cacheDir });
      assertEquals(b.fromCache, true);
      assertEquals(b.set.images, a.set.images);
      assertEquals(b.set.labels, a.set.labels);
      assertEquals(
        b.source.sha256,
        "84e19604cea1bc2b33362efef0e09ddf35f590994244d69d8891c46760c587a3",
      );
    });
    await t.step("small protocol split sizes", async () => {
      const s = await loadSplits({ dataDir: DATA_DIR, cacheDir, protocol: "small" });
      assertEquals(s.summary.sizes, { train: 14_980, valid: 1_872, test: 1_872 });
      const quota = {
        A: 187,
        B: 188,
        C: 188,
        D: 187,
        E: 187,
        F: 187,
        G: 187,
        H: 187,
        I: 187,
        J: 187,
      };
      assertEquals(s.summary.perClass.valid, quota);
      assertEquals(s.summary.perClass.test, quota);
      assertEquals(s.summary.duplicates.conflicting.images, 8);
      assertEquals(s.summary.duplicates.unused, 0);
      assertEquals(s.summary.skipped.length, 2);
      assertEquals(s.summary.sources[0].fromCache, true);
    });
    await t.step("5 grouped folds", () => {
      const folds = foldsOf(a.set, duplicateGroups(a.set, a.hashes), 5, 20110908);
      const tests = folds.map((f) => f.test.count);
      assertEquals(tests.reduce((x, y) => x + y, 0), 18_724 - 728);
      for (const n of tests) assert(n >= 3598 && n <= 3600, `fold test size ${n}`);
      for (const f of folds) assertEquals(f.train.count + f.test.count, 18_724);
    });
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});
