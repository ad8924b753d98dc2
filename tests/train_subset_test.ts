/**
 * One function owns the training subset: the task CLI's `--train-size` (via
 * loadSplits) and the grader's profiles draw the same indices for the same
 * seed, so a student's self-check sees the teacher's data.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { stratifiedSubset, subsetIndices } from "../data/subset.ts";
import { stratifiedSample } from "../data/allocate.ts";
import { loadSplits } from "../data/splits.ts";
import { deriveSeed } from "../utils/rng.ts";
import * as gradeModule from "../grader/grade.ts";
import { RUBRIC, type Rubric } from "../grader/rubric/rubric.ts";
import { runTask, type TaskDefinition } from "../tasks/common.ts";
import type { ImageSet } from "../data/types.ts";
import { writeToyArchive } from "./toy_archive.ts";

const root = new URL("..", import.meta.url).pathname;

function digestOf(set: ImageSet): string {
  const bytes = new Uint8Array(set.count * 785);
  bytes.set(set.images.subarray(0, set.count * 784));
  bytes.set(set.labels.subarray(0, set.count), set.count * 784);
  return `${set.count} ${createHash("sha256").update(bytes).digest("hex")}`;
}

Deno.test("the grader's subset is the data layer's function, seeded and stratified", () => {
  assert(gradeModule.stratifiedSubset === stratifiedSubset);
  const labels = Uint8Array.from({ length: 500 }, (_, i) => (i * 7) % 10);
  const set = {
    images: Uint8Array.from({ length: 500 * 784 }, (_, i) => i % 251),
    labels,
    count: 500,
  };
  const idx = subsetIndices(labels, 120, 42);
  assertEquals(idx, stratifiedSample(labels, 120, deriveSeed(42, 7)));
  const s = stratifiedSubset(set, 120, 42);
  assertEquals(s.count, 120);
  assertEquals([...s.labels], [...idx].map((i) => labels[i]));
  // same seed, same bits; another seed, another subset
  assertEquals(stratifiedSubset(set, 120, 42).images, s.images);
  assert(subsetIndices(labels, 120, 43).join() !== idx.join());
  assert(stratifiedSubset(set, undefined, 42) === set);
  assert(stratifiedSubset(set, 500, 42) === set);
});

Deno.test("the task CLI's --train-size and the grader's quick profile hand over identical images", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nm-subset-" });
  try {
    await writeToyArchive(dir, 30);
    const cacheDir = join(dir, "cache");
    const seed = 42;
    const size = 123;
    // Task CLI path: runTask -> loadSplits({ trainSize, subsetSeed: seed }).
    let seen: ImageSet | undefined;
    const def: TaskDefinition = {
      id: 1,
      title: "capture",
      defaults: { epochs: 1, batchSize: 8 },
      train: (input) => {
        seen = input.train;
        const predict = (_i: Uint8Array, n: number) =>
          Promise.resolve(new Float32Array(n * 10).fill(0.1));
        return Promise.resolve({
          models: { main: { name: "uniform", predict, history: [], config: {} } },
        });
      },
      report: () => ({ table: [], notes: [] }),
    };
    await runTask(def, {
      dataDir: dir,
      cacheDir,
      protocol: "small",
      trainSize: size,
      seed,
      backend: "cpu",
      out: join(dir, "task"),
      log: () => {},
    });
    assert(seen);
    assertEquals(seen.count, size);
    // Grader path: the CLI's splits, the profile's budget, a sandboxed student.
    const splits = await loadSplits({ dataDir: dir, cacheDir, protocol: "small", sanitize: true });
    const rubric = structuredClone(RUBRIC) as Rubric;
    for (const t of rubric.tasks) {
      t.budget.quick = { trainSize: size, epochs: 1, timeoutSeconds: 60 };
    }
    const out = join(dir, "grade");
    const report = await gradeModule.grade({
      data: {
        protocol: splits.protocol,
        train: splits.train,
        valid: splits.valid,
        test: splits.test,
      },
      tasks: [{
        task: 1,
        module: join(root, "tests/fixtures/students/train_digest.ts"),
        trusted: false,
      }],
      profile: "quick",
      rubric,
      seed,
      outDir: out,
      projectRoot: root,
    });
    assertEquals(report.tasks[0].runs[0].error, undefined, report.tasks[0].logTail);
    const graded = (await Deno.readTextFile(join(out, "task1", "train_digest.txt"))).trim();
    assertEquals(graded, digestOf(seen));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
