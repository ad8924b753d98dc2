import { assert, assertEquals, assertRejects, assertThrows } from "../deps/assert.ts";
import { join } from "node:path";
import { apportion, stratifiedSample } from "../data/allocate.ts";
import { OFFICIAL_SHA256 } from "../data/download.ts";
import { subset, toFloat32 } from "../data/batch.ts";
import { resolveCacheDir, resolveDataDir } from "../data/paths.ts";
import { groupedFolds, loadSplits } from "../data/splits.ts";
import {
  grayPng,
  randomImage,
  type SyntheticFile,
  writeFolder,
  writeTarGz,
} from "../data/synthetic.ts";
import { type ImageSet, LETTERS, PIXELS } from "../data/types.ts";
import { Rng } from "../utils/rng.ts";

function key(set: ImageSet, i: number): string {
  return set.images.subarray(i * PIXELS, (i + 1) * PIXELS).join(",");
}

function keys(set: ImageSet): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < set.count; i++) out.add(key(set, i));
  return out;
}

/**
 * A small-like archive: 60 distinct images per letter, a 30-copy group of one
 * blank "I" image, a 3-copy group in A and a 2-copy group labelled C and D.
 */
function smallLike(prefix: string, seed: number): SyntheticFile[] {
  const rng = new Rng(seed);
  const files: SyntheticFile[] = [];
  for (const l of LETTERS) {
    for (let i = 0; i < 60; i++) {
      files.push({ path: `${prefix}/${l}/${i}.png`, bytes: grayPng(randomImage(rng)) });
    }
  }
  const blank = grayPng(new Uint8Array(PIXELS).fill(255));
  for (let i = 0; i < 30; i++) files.push({ path: `${prefix}/I/blank${i}.png`, bytes: blank });
  const a = grayPng(randomImage(rng));
  for (let i = 0; i < 3; i++) files.push({ path: `${prefix}/A/dup${i}.png`, bytes: a });
  const cd = grayPng(randomImage(rng));
  files.push({ path: `${prefix}/C/cd.png`, bytes: cd }, { path: `${prefix}/D/cd.png`, bytes: cd });
  return files;
}

Deno.test("apportion and stratifiedSample keep totals and proportions", () => {
  assertEquals(apportion(10, [1, 1, 1]), [4, 3, 3]);
  assertEquals(apportion(1872, [1872, 1873, 1873, 1873, 1873, 1872, 1872, 1872, 1872, 1872]), [
    187,
    188,
    188,
    187,
    187,
    187,
    187,
    187,
    187,
    187,
  ]);
  const labels = Uint8Array.from({ length: 1000 }, (_, i) => (i < 500 ? 0 : i < 800 ? 1 : 2));
  const s = stratifiedSample(labels, 100, 3);
  assertEquals(s.length, 100);
  const per = [0, 0, 0];
  for (const i of s) per[labels[i]]++;
  assertEquals(per, [50, 30, 20]);
  assertEquals(stratifiedSample(labels, 100, 3), s);
  assert(stratifiedSample(labels, 100, 4).join() !== s.join());
});

Deno.test("loadSplits small: grouped, stratified, on target; duplicates stay in train", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeTarGz(join(dir, "notMNIST_small.tar.gz"), smallLike("notMNIST_small", 1));
    const cacheDir = join(dir, "cache");
    const lines: string[] = [];
    const s = await loadSplits({ dataDir: dir, cacheDir, workers: 0, log: (l) => lines.push(l) });
    assertEquals(s.protocol, "small");
    // a generated archive is not the official one: used, with a note naming both digests
    const sha = s.summary.sources[0].sha256;
    assert(
      lines.includes(
        `note: notMNIST_small.tar.gz has SHA-256 ${sha}, not the official ` +
          `${OFFICIAL_SHA256.small}; it is used as it is (a rebuilt or modified copy)`,
      ),
      lines.join("\n"),
    );
    // 635 images: 10% of each class by largest remainder -> 64 per split
    assertEquals(s.summary.sizes, { train: 635 - 128, valid: 64, test: 64 });
    const quota = apportion(64, [63, 60, 61, 61, 60, 60, 60, 60, 90, 60]);
    assertEquals(LETTERS.map((l) => s.summary.perClass.valid[l]), quota);
    assertEquals(LETTERS.map((l) => s.summary.perClass.test[l]), quota);
    const tr = keys(s.train), va = keys(s.valid), te = keys(s.test);
    assertEquals(va.size, s.valid.count, "valid holds distinct images");
    assertEquals(te.size, s.test.count, "test holds distinct images");
    for (const k of va) assert(!tr.has(k) && !te.has(k), "valid image also in train/test");
    for (const k of te) assert(!tr.has(k), "test image also in train");
    // every copy of every duplicate group is in train
    const blank = new Array(PIXELS).fill(255).join(",");
    let blanks = 0;
    for (let i = 0; i < s.train.count; i++) if (key(s.train, i) === blank) blanks++;
    assertEquals(blanks, 30);
    assertEquals(s.summary.duplicates.conflicting.images, 2);
    assertEquals(s.summary.duplicates.unused, 0);
    assertEquals(s.summary.sources[0].duplicates.groups, 3);
    assertEquals(s.summary.sources[0].duplicates.filesInGroups, 35);
    assertEquals(s.summary.sources[0].duplicates.largest?.size, 30);
    JSON.parse(JSON.stringify(s.summary));
    // same seed, same split; another seed, another split
    const again = await loadSplits({ dataDir: dir, cacheDir, workers: 0 });
    assertEquals(again.test.images, s.test.images);
    const other = await loadSplits({ dataDir: dir, cacheDir, seed: 7, workers: 0 });
    assert(other.test.images.join() !== s.test.images.join());
    // trainSize: stratified subsample of train only
    const sub = await loadSplits({ dataDir: dir, cacheDir, trainSize: 100, workers: 0 });
    assertEquals(sub.summary.sizes, { train: 100, valid: 64, test: 64 });
    assertEquals(sub.summary.trainBeforeSubsample, 507);
    assertEquals(sub.test.images, s.test.images);
    // without sanitize, groups that fit the quota may go to valid/test with all copies
    const raw = await loadSplits({ dataDir: dir, cacheDir, sanitize: false, workers: 0 });
    assertEquals(raw.summary.sizes.valid + raw.summary.sizes.test, 128);
    assertEquals(raw.summary.sizes.train, 635 - 128);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadSplits lab: train/valid from large, test = small minus overlap", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const small = smallLike("notMNIST_small", 1);
    // large: fresh images plus 5 exact copies of small images (one of them the blank)
    const large = smallLike("notMNIST_large", 2);
    const shared = [small[0], small[1], small[70], small[300], small[600]];
    shared.forEach((f, i) =>
      large.push({ path: `notMNIST_large/${f.path.split("/")[1]}/s${i}.png`, bytes: f.bytes })
    );
    await writeTarGz(join(dir, "notMNIST_small.tar.gz"), small);
    await writeFolder(dir, large); // extracted notMNIST_large/ folder
    const cacheDir = join(dir, "cache");
    const s = await loadSplits({ dataDir: dir, cacheDir, validSize: 50, workers: 0 });
    assertEquals(s.protocol, "lab");
    assertEquals(s.summary.sizes.valid, 50);
    assertEquals(s.summary.sizes.train, large.length - 50);
    // small: 635 images; 4 single images + the 30 blanks are in large; the 3-copy group
    // keeps one copy; the C/D conflicting pair is removed
    assertEquals(s.summary.duplicates.acrossRemoved.test, 4 + 30);
    assertEquals(s.summary.duplicates.withinRemoved.test, 2);
    assertEquals(s.summary.sizes.test, 635 - 34 - 2 - 2);
    const tr = keys(s.train), va = keys(s.valid);
    for (let i = 0; i < s.test.count; i++) {
      assert(!tr.has(key(s.test, i)) && !va.has(key(s.test, i)), "test overlaps train/valid");
    }
    for (const k of va) assert(!tr.has(k), "valid overlaps train");
    assertEquals(s.summary.sources.map((x) => [x.archive, x.kind]), [["small", "tar.gz"], [
      "large",
      "folder",
    ]]);
    // protocol small can still be forced
    const sm = await loadSplits({ dataDir: dir, cacheDir, protocol: "small", workers: 0 });
    assertEquals(sm.protocol, "small");
    await Deno.remove(join(dir, "notMNIST_large"), { recursive: true });
    await assertRejects(
      () => loadSplits({ dataDir: dir, cacheDir, protocol: "lab", workers: 0 }),
      /protocol "lab" needs notMNIST_large/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("groupedFolds: disjoint, stratified folds of single-copy images; duplicates in train", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeTarGz(join(dir, "notMNIST_small.tar.gz"), smallLike("notMNIST_small", 1));
    const folds = await groupedFolds({ dataDir: dir, cacheDir: join(dir, "c"), k: 5, workers: 0 });
    assertEquals(folds.length, 5);
    const seen = new Set<string>();
    for (const f of folds) {
      assertEquals(f.train.count + f.test.count, 635);
      const tr = keys(f.train);
      for (let i = 0; i < f.test.count; i++) {
        const k = key(f.test, i);
        assert(!tr.has(k), "test image also in the fold's train");
        assert(!seen.has(k), "image tested twice");
        seen.add(k);
      }
      const per = new Array(10).fill(0);
      for (let i = 0; i < f.test.count; i++) per[f.test.labels[i]]++;
      assertEquals(per, new Array(10).fill(12));
    }
    assertEquals(seen.size, 600);
    await assertRejects(() => groupedFolds({ dataDir: dir, k: 1 }), /k must be an integer >= 2/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("toFloat32 scales pixels by 1/255 in index order; subset copies rows", () => {
  const images = new Uint8Array(3 * PIXELS);
  images.fill(0, 0, PIXELS);
  images.fill(255, PIXELS, 2 * PIXELS);
  images.fill(51, 2 * PIXELS);
  const set: ImageSet = { images, labels: Uint8Array.from([0, 1, 2]), count: 3 };
  const b = toFloat32(set, [2, 0, 1], 0, 3);
  assertEquals(b.length, 3 * PIXELS);
  assertEquals([b[0], b[PIXELS], b[2 * PIXELS]], [Math.fround(51 / 255), 0, 1]);
  const out = new Float32Array(2 * PIXELS);
  assert(toFloat32(set, [2, 0, 1], 1, 3, out) === out);
  assertEquals([out[0], out[PIXELS + 5]], [0, 1]);
  assertThrows(() => toFloat32(set, [0, 5], 0, 2), /index 5 is outside/);
  assertThrows(() => toFloat32(set, [0], 0, 1, new Float32Array(3)), /out holds 3 floats/);
  const s = subset(set, [1, 1, 0]);
  assertEquals(s.count, 3);
  assertEquals(Array.from(s.labels), [1, 1, 0]);
  assertEquals(s.images[PIXELS], 255);
  assertEquals(s.images[2 * PIXELS], 0);
});

Deno.test("resolveDataDir / resolveCacheDir: flag > env > defaults; read-only data dirs are not written", async () => {
  const dir = await Deno.makeTempDir();
  const saved = ["NOTMNIST_DIR", "NOTMNIST_CACHE", "XDG_CACHE_HOME"].map((k) =>
    [k, Deno.env.get(k)] as const
  );
  try {
    Deno.env.set("NOTMNIST_DIR", join(dir, "env"));
    Deno.env.delete("NOTMNIST_CACHE");
    Deno.env.set("XDG_CACHE_HOME", join(dir, "xdg"));
    assertEquals(resolveDataDir(join(dir, "flag")), join(dir, "flag"));
    assertEquals(resolveDataDir(), join(dir, "env"));
    Deno.env.delete("NOTMNIST_DIR");
    assertEquals(resolveDataDir(), join(dir, "xdg", "notmnist-lab"));
    const ro = join(dir, "ro");
    await Deno.mkdir(ro);
    await Deno.chmod(ro, 0o555);
    assertEquals(await resolveCacheDir(ro), join(dir, "xdg", "notmnist-lab", "cache"));
    assertEquals([...Deno.readDirSync(ro)], [], "nothing written into the read-only dir");
    const rw = join(dir, "rw");
    await Deno.mkdir(rw);
    assertEquals(await resolveCacheDir(rw), join(rw, ".cache"));
    Deno.env.set("NOTMNIST_CACHE", join(dir, "envcache"));
    assertEquals(await resolveCacheDir(rw), join(dir, "envcache"));
    assertEquals(await resolveCacheDir(rw, join(dir, "f")), join(dir, "f"));
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    await Deno.chmod(join(dir, "ro"), 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
