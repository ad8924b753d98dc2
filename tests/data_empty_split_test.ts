/**
 * Splits a protocol cannot fill (issue 21, item 14): an archive in which every
 * image has an exact copy leaves nothing for valid and test under sanitize; it
 * is refused with a typed error by the split layer, `deno task data` and the
 * grader, instead of valid 0 / test 0 and a NaN accuracy.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { EmptySplitError } from "../data/errors.ts";
import { groupedFolds, loadSplits } from "../data/splits.ts";
import { grayPng, randomImage, type SyntheticFile, writeTarGz } from "../data/synthetic.ts";
import { LETTERS } from "../data/types.ts";
import { main as gradeCli } from "../grader/cli.ts";
import { Rng } from "../utils/rng.ts";
import { capture } from "./console_capture.ts";

/** 20 distinct images per letter; those of `doubled` letters are each stored twice. */
async function withArchive(
  doubled: readonly string[],
  body: (dir: string, path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const rng = new Rng(12);
    const files: SyntheticFile[] = [];
    for (const l of LETTERS) {
      for (let i = 0; i < 20; i++) {
        const bytes = grayPng(randomImage(rng));
        files.push({ path: `notMNIST_small/${l}/${i}.png`, bytes });
        if (doubled.includes(l)) files.push({ path: `notMNIST_small/${l}/${i}_copy.png`, bytes });
      }
    }
    const path = join(dir, "notMNIST_small.tar.gz");
    await writeTarGz(path, files);
    await body(dir, path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function rejection(fn: () => Promise<unknown>): Promise<EmptySplitError> {
  try {
    await fn();
  } catch (err) {
    assert(err instanceof EmptySplitError, `expected EmptySplitError, got ${err}`);
    return err;
  }
  throw new Error("expected EmptySplitError, but nothing was thrown");
}

Deno.test("every image has a duplicate: loadSplits and groupedFolds refuse the empty split, naming the archive", async () => {
  await withArchive(LETTERS, async (dir, path) => {
    const cacheDir = join(dir, "cache");
    const err = await rejection(() =>
      loadSplits({ dataDir: dir, cacheDir, workers: 0, protocol: "small" })
    );
    assertEquals([err.path, err.protocol, err.split, err.letters], [path, "small", "valid", [
      ...LETTERS,
    ]]);
    assertEquals(
      err.message,
      `${path}: the "small" protocol's valid split is empty; expected 10% of each letter's ` +
        "images, drawn from images with no exact copy in the archive (sanitize: 0 of its 400 " +
        "images have none), so a 10-class model cannot be trained, validated and tested on it",
    );
    // refused even where missing letters are allowed (deno task data)
    await rejection(() =>
      loadSplits({ dataDir: dir, cacheDir, workers: 0, allowMissingLetters: true })
    );
    const folds = await rejection(() => groupedFolds({ dataDir: dir, cacheDir, k: 5, workers: 0 }));
    assertEquals([folds.split, folds.path], ["test", path]);
    // without sanitize, duplicate groups may go to valid/test: no error
    const s = await loadSplits({ dataDir: dir, cacheDir, workers: 0, sanitize: false });
    assertEquals(s.summary.sizes, { train: 320, valid: 40, test: 40 });
  });
});

Deno.test("every J image has a duplicate: valid/test without J are refused unless missing letters are allowed", async () => {
  await withArchive(["J"], async (dir, path) => {
    const cacheDir = join(dir, "cache");
    const err = await rejection(() => loadSplits({ dataDir: dir, cacheDir, workers: 0 }));
    assertEquals([err.path, err.split, err.letters], [path, "valid", ["J"]]);
    assert(err.message.includes("valid split has no image of letter J; expected"), err.message);
    const lines: string[] = [];
    const s = await loadSplits({
      dataDir: dir,
      cacheDir,
      workers: 0,
      allowMissingLetters: true,
      log: (l) => lines.push(l),
    });
    assertEquals([s.summary.perClass.valid.J, s.summary.perClass.test.J], [0, 0]);
    assert(lines.some((l) => l.startsWith(`warning: ${path}: the "small" protocol's valid`)));
  });
});

Deno.test("every image has a duplicate: deno task data exits non-zero, the grader refuses", async () => {
  await withArchive(LETTERS, async (dir) => {
    const cacheDir = join(dir, "cache");
    const cli = new URL("../data/cli.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, "--data-dir", dir, "--cache-dir", cacheDir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1, stderr);
    assert(stderr.includes(`protocol's valid split is empty`), stderr);
    const errors: string[] = [];
    const orig = console.error;
    console.error = (...args: unknown[]) => errors.push(args.map(String).join(" "));
    let code: number;
    try {
      const r = await capture(() =>
        gradeCli(["--data-dir", dir, "--cache-dir", cacheDir, "--out", join(dir, "grade")])
      );
      code = r.code;
    } finally {
      console.error = orig;
    }
    assertEquals(code, 2);
    assert(errors.join("\n").includes("valid split is empty"), errors.join("\n"));
  });
});
