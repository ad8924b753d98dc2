/**
 * End-to-end tests of the sandboxed grader with fixture students on tiny
 * synthetic data: good and bad modules, each failure shown in the reports.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { grade, stratifiedSubset, type TaskSpec } from "../grader/grade.ts";
import type { GradeReport } from "../grader/types.ts";
import { toGradescope } from "../grader/reports.ts";
import { RUBRIC, type Rubric, type TaskNumber } from "../grader/rubric.ts";
import { runSandboxed } from "../grader/sandbox.ts";
import { toySplits } from "./toy_data.ts";

const root = new URL("..", import.meta.url).pathname;
const fixture = (name: string): string => join(root, "tests/fixtures/students", `${name}.ts`);
const splits = toySplits(7);
const data = { protocol: "small" as const, ...splits };

/** A rubric sized for the synthetic data (nearest centroid reaches about 0.96). */
function testRubric(timeoutSeconds = 30): Rubric {
  const r = structuredClone(RUBRIC) as Rubric;
  for (const t of r.tasks) {
    t.budget.quick = { trainSize: 150, epochs: 1, timeoutSeconds };
    t.thresholds.small.quick = {
      floor: 0.5,
      pass: 0.9,
      fullCredit: 0.99,
      margin: t.task === 2 ? 0.2 : undefined,
      gapReduction: t.task === 3 ? 0.1 : undefined,
    };
  }
  return r;
}

async function gradeOne(
  module: string,
  task: TaskNumber = 1,
  rubric = testRubric(),
  extra: { forbiddenRoots?: string[]; repeat?: number } = {},
): Promise<GradeReport> {
  const outDir = await Deno.makeTempDir({ prefix: "grader-test-" });
  const spec: TaskSpec = { task, module, trusted: false };
  try {
    return await grade({
      data,
      tasks: [spec],
      profile: "quick",
      rubric,
      outDir,
      projectRoot: root,
      ...extra,
    });
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
}

Deno.test("an honest student passes every task test, measured by the grader", async () => {
  const report = await gradeOne(fixture("honest"), 3, testRubric(), { repeat: 2 });
  const t = report.tasks[0];
  assert(report.passed, JSON.stringify(report.tests, null, 1));
  assertEquals(t.budget.trainCount, 150);
  const main = t.runs[0].metrics.main;
  const base = t.runs[0].metrics.baseline;
  assert(main.testAccuracy > 0.9 && main.testAccuracy < 1, `main ${main.testAccuracy}`);
  assertEquals(base.trainAccuracy, 1);
  assert(base.testAccuracy < main.testAccuracy);
  // 4 tests: runs, accuracy, gap, reproducible
  assertEquals(t.tests.length, 4);
  assert(t.tests[3].output.includes("bit-identical"));
  assert(t.pictures.some((p) => p.endsWith("learning_curve.svg")), t.pictures.join(","));
  const score = t.tests[1].score;
  const expected = Math.round(15 * Math.min(1, (main.testAccuracy - 0.5) / 0.49) * 1e4) / 1e4;
  assertEquals(score, expected);
});

Deno.test("task 2: the grader checks the margin over logistic regression itself", async () => {
  const report = await gradeOne(fixture("honest"), 2);
  const margin = report.tests.find((t) => t.name.includes("beats logreg"));
  assert(margin?.passed, margin?.output);
  assert(margin.output.includes("logreg 10.00%"), margin.output);
});

const badStudents: [string, string, RegExp][] = [
  ["throws", "throws in train()", /exception: train failed: Error: student bug: shapes/],
  [
    "throws_on_import",
    "throws while being imported",
    /import: import failed: Error: top-level failure while importing/,
  ],
  ["nan", "predicts NaN", /nan: role "main" \(diverged\) on the test images: value NaN at image 0/],
  [
    "wrong_shape",
    "returns the wrong output shape",
    /shape: role "main" \(labels only\) on the test images: expected 100 x 10 = 1000 values, got 100/,
  ],
  [
    "fetch_url",
    "fetches a URL",
    /permission: .*NotCapable: Requires net access to "example.com:443"/,
  ],
  [
    "read_shared",
    "reads ../shared",
    /permission: .*NotCapable: Requires read access to ".*shared\/notmnist"/,
  ],
  [
    "write_outside",
    "writes outside its folder",
    /permission: .*NotCapable: Requires write access to ".*escaped.txt"/,
  ],
  ["read_env", "reads env", /permission: .*NotCapable: Requires env access to "NOTMNIST_DIR"/],
  [
    "run_process",
    "starts a subprocess",
    /permission: .*NotCapable: Requires run access to "\/bin\/cat"/,
  ],
  ["ffi", "opens a native library", /permission: .*NotCapable: Requires ffi access to "libc.so.6"/],
  // Graded code cannot even list the folder its data came from (it gets the data by message).
  [
    "read_test",
    "looks for the test split",
    /permission: train failed: NotCapable: Requires read access to ".*notmnist-grade-.*data"/,
  ],
];

for (const [name, what, message] of badStudents) {
  Deno.test(`a student that ${what} fails, with the message in results.json`, async () => {
    const report = await gradeOne(fixture(name));
    assertEquals(report.passed, false);
    const results = toGradescope(report);
    const runs = results.tests[0];
    assertEquals(runs.status, "failed");
    assert(message.test(runs.output), runs.output);
    assertEquals(results.score, 0);
    assert(results.tests.every((t) => t.status === "failed"));
    // The run's typed failure kind is the one the message starts with.
    assertEquals(report.tasks[0].runs[0].failureKind, message.source.split(":")[0]);
  });
}

Deno.test("graded code sees no file of the grader's: not even the listing of its data folder", async () => {
  const report = await gradeOne(fixture("read_test"));
  const tail = report.tasks[0].logTail;
  assertEquals([...tail.matchAll(/handed: (\S+)/g)].length, 0, tail);
});

Deno.test("a student that never finishes is killed at the time limit and reported", async () => {
  const t0 = performance.now();
  const report = await gradeOne(fixture("timeout"), 1, testRubric(2));
  const seconds = (performance.now() - t0) / 1000;
  assert(seconds < 15, `took ${seconds} s`);
  const out = toGradescope(report).tests[0].output;
  assert(
    /timeout: timed out after 2 s \(while training\); the process group was killed/.test(out),
    out,
  );
});

Deno.test("a module that statically imports a file from a forbidden folder is refused before it runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grader-sneaky-" });
  await Deno.mkdir(join(dir, "cache"));
  await Deno.writeTextFile(join(dir, "cache", "test_labels.json"), "[0,1,2]");
  await Deno.writeTextFile(
    join(dir, "task1.ts"),
    `import labels from "./cache/test_labels.json" with { type: "json" };\n` +
      `export function train() { return Promise.reject(new Error(String(labels))); }\n`,
  );
  const report = await gradeOne(join(dir, "task1.ts"), 1, testRubric(), {
    forbiddenRoots: [join(dir, "cache")],
  });
  const out = toGradescope(report).tests[0].output;
  assert(/forbidden-import: refused to run .*test_labels.json is inside a folder/.test(out), out);
});

Deno.test("runSandboxed reports a missing module without throwing", async () => {
  const r = await runSandboxed({
    module: fixture("does_not_exist"),
    train: splits.train,
    valid: splits.valid,
    testImages: splits.test,
    seed: 1,
    outDir: await Deno.makeTempDir(),
    timeoutSeconds: 10,
    trusted: false,
    projectRoot: root,
  });
  assertEquals(r.failure?.kind, "import");
  assert(r.failure?.message.includes("not found"));
});

Deno.test("stratifiedSubset keeps class proportions, is seeded and keeps the original order", () => {
  const s = stratifiedSubset(splits.train, 50, 3);
  assertEquals(s.count, 50);
  const counts = new Array(10).fill(0);
  for (const l of s.labels) counts[l]++;
  assertEquals(counts, new Array(10).fill(5));
  assertEquals(stratifiedSubset(splits.train, 50, 3).images, s.images);
  assert(stratifiedSubset(splits.train, 50, 4).images.some((v, i) => v !== s.images[i]));
  assertEquals(stratifiedSubset(splits.train, undefined, 3), splits.train);
});
