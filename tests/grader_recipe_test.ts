/**
 * The rubric checks what the lab asks, from what the run recorded: task 4's
 * momentum and a rate that decays within the budget, task 3's L2 and
 * dropout; totals out of the whole rubric; accuracies shown with the digits
 * that explain the points; a shared report folder summarising every task
 * graded so far (issue 22).
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { RUBRIC, taskPoints, taskRubric } from "../grader/rubric/rubric.ts";
import { type RoleMetrics, scoreTask, type TaskOutcome } from "../grader/rubric/score.ts";
import { checkDecay, type RoleRecord } from "../grader/rubric/recipe_checks.ts";
import { pctExplaining } from "../grader/rubric/shown_digits.ts";
import { missingTaskNumbers, missingTaskTests } from "../grader/rubric/missing_tasks.ts";
import {
  allTasksMarkdown,
  clearTaskFolders,
  readGradedTasks,
  writeAllTasks,
} from "../grader/report/graded_so_far.ts";
import { missingTasksNote, toJUnit, toMarkdown } from "../grader/report/reports.ts";
import { grade } from "../grader/grade.ts";
import { toySplits } from "./toy_data.ts";
import type { GradeReport } from "../grader/report/types.ts";
import type { EpochRecord } from "../tasks/types.ts";

function assertStringIncludes(text: string, part: string): void {
  assert(text.includes(part), `expected ${JSON.stringify(part)} in ${JSON.stringify(text)}`);
}

const th = { floor: 0.8, pass: 0.88, fullCredit: 0.895 };

function metrics(test: number, train = test): RoleMetrics {
  return { name: "net", testAccuracy: test, trainAccuracy: train, validAccuracy: test };
}

function history(rates: number[]): EpochRecord[] {
  return rates.map((learningRate, i) => ({
    epoch: i + 1,
    loss: 1,
    trainAccuracy: 0.9,
    validLoss: 1,
    validAccuracy: 0.9,
    learningRate,
    seconds: 1,
    samplesPerSecond: 1,
  }));
}

function outcome(record: RoleRecord, epochs = 10, test = 0.9): TaskOutcome {
  return { metrics: { main: metrics(test) }, records: { main: record }, epochs };
}

const momentum = { kind: "momentum", momentum: 0.9 };
const spec = { hidden: [{ units: 64, activation: "relu", l2: 1e-4, dropout: 0.3 }] };

Deno.test("task 4: a step schedule that never decays within the budget loses the decay points", () => {
  const r = taskRubric(4);
  const flat = scoreTask(
    r,
    th,
    outcome({
      history: history(Array(10).fill(0.03)),
      config: { optimizer: momentum, spec },
    }, 10),
  );
  const decay = flat.find((t) => t.name.includes("decays"));
  assert(decay && !decay.passed && decay.score === 0, decay?.output);
  assertStringIncludes(decay.output, "0.0300 in all 10 recorded epochs");
  assertStringIncludes(decay.output, "TaskInput.epochs");
  const mom = flat.find((t) => t.name.includes("momentum"));
  assert(mom?.passed && mom.score === 5, mom?.output);
  const total = flat.reduce((s, t) => s + t.score, 0);
  assertEquals(total, taskPoints(r) - 5, "partial credit: accuracy and momentum, not the decay");
});

Deno.test("task 4: plain SGD with a decaying rate loses the momentum points; both earn all", () => {
  const r = taskRubric(4);
  const rates = history([0.05, 0.045, 0.04, 0.035, 0.03, 0.025, 0.02, 0.015, 0.01, 0.005]);
  const sgd = scoreTask(r, th, outcome({ history: rates, config: { optimizer: { kind: "sgd" } } }));
  const mom = sgd.find((t) => t.name.includes("momentum"));
  assert(mom && !mom.passed, mom?.output);
  assertStringIncludes(mom.output, "no momentum");
  const none = scoreTask(r, th, outcome({ history: rates, config: {} }));
  assertStringIncludes(
    none.find((t) => t.name.includes("momentum"))!.output,
    "records no optimizer",
  );
  const good = scoreTask(r, th, outcome({ history: rates, config: { optimizer: momentum } }));
  assertEquals(good.reduce((s, t) => s + t.score, 0), taskPoints(r));
  assert(good.every((t) => t.passed), JSON.stringify(good));
});

Deno.test("the decay check allows a warm-up, needs two epochs and a 10% fall from the peak", () => {
  const at = (rates: number[]) => checkDecay({ history: history(rates), config: {} }, rates.length);
  assert(at([0.01, 0.05, 0.04]).passed, "warm-up then decay");
  assert(!at([0.05, 0.05, 0.046]).passed, "a fall of 8% is not a decay");
  assert(!at([0.05]).passed);
  assert(!at([0.01, 0.02, 0.03]).passed, "a rising rate");
});

Deno.test("task 3: L2 and dropout are read from the recorded network", () => {
  const r = taskRubric(3);
  const o = (config: Record<string, unknown>): TaskOutcome => ({
    metrics: { main: metrics(0.9, 0.95), baseline: metrics(0.88, 1) },
    records: { main: { history: [], config } },
  });
  const names = (config: Record<string, unknown>) =>
    scoreTask(r, { ...th, gapReduction: 0.005 }, o(config)).filter((t) => !t.passed).map((t) =>
      t.name
    );
  assertEquals(names({ spec }), []);
  assertEquals(names({ spec: { hidden: [{ units: 64, l2: 1e-4 }] } }), [
    "Task 3: dropout used (from the recorded network)",
  ]);
  assertEquals(names({ spec: { hidden: [{ units: 64, dropout: 0.5 }], outputL2: 0 } }), [
    "Task 3: L2 regularization used (from the recorded network)",
  ]);
  assertEquals(names({}).length, 2);
  const gap = scoreTask(r, { ...th, gapReduction: 0.005 }, o({ spec })).find((t) =>
    t.name.includes("gap")
  );
  assertStringIncludes(gap!.output, "train-test gap 5.00 points");
  assertStringIncludes(gap!.output, "vs 12.00 points (baseline");
});

Deno.test("the shipped rubric keeps 100 points with the recipe checks", () => {
  assertEquals(RUBRIC.tasks.reduce((s, t) => s + taskPoints(t), 0), 100);
  assertEquals(taskPoints(taskRubric(4)), 25);
  assertEquals(taskPoints(taskRubric(3)), 25);
});

Deno.test("an accuracy just below full credit shows the digits that cost the point", () => {
  assertEquals(pctExplaining(0.88995, [0.88, 0.89]), "88.995%");
  assertEquals(pctExplaining(0.89, [0.88, 0.89]), "89.00%");
  assertEquals(pctExplaining(0.9123, [0.88, 0.89]), "91.23%");
  const out = scoreTask(taskRubric(4), { floor: 0.8, pass: 0.87, fullCredit: 0.89 }, {
    metrics: { main: metrics(0.889995) },
  })[1];
  assert(out.score < 15, `${out.score}`);
  assertStringIncludes(out.output, "test accuracy 88.99");
});

Deno.test("missing tasks are named, worth their points, and fail the report", () => {
  const missing = missingTaskNumbers(RUBRIC, [{ task: 1 }, { task: 3 }]);
  assertEquals(missing, [2, 4]);
  const tests = missingTaskTests(RUBRIC, missing);
  assertEquals(tests.map((t) => [t.task, t.maxScore, t.score, t.passed, t.required]), [
    [2, 25, 0, false, true],
    [4, 25, 0, false, true],
  ]);
  const note = missingTasksNote({ missingTasks: [2, 4] } as GradeReport).join("\n");
  assertStringIncludes(note, "Not graded: task 2, task 4");
  assertEquals(missingTasksNote({ missingTasks: [] } as unknown as GradeReport), []);
});

Deno.test("self-checks share a report folder: stale task folders go, all_tasks.md sums them", async () => {
  const out = await Deno.makeTempDir({ prefix: "all-tasks-" });
  try {
    await Deno.mkdir(join(out, "task4.run2"), { recursive: true });
    await Deno.writeTextFile(join(out, "task4", "stale.svg"), "x").catch(async () => {
      await Deno.mkdir(join(out, "task4"));
      await Deno.writeTextFile(join(out, "task4", "stale.svg"), "x");
    });
    await Deno.mkdir(join(out, "task1"));
    await clearTaskFolders(out, [4]);
    const left = (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name).sort();
    assertEquals(left, ["task1"]);
    const report = (task: number, score: number, startedAt: string) =>
      ({
        profile: "quick",
        protocol: "small",
        startedAt,
        tasks: [{ task, score, maxScore: 25, passed: true, module: `/s/task${task}.ts` }],
      }) as unknown as GradeReport;
    await writeAllTasks(out, report(4, 24, "2026-01-01T00:00:00Z"), RUBRIC);
    const md = await writeAllTasks(out, report(1, 20, "2026-01-02T00:00:00Z"), RUBRIC);
    const text = await Deno.readTextFile(md);
    assertStringIncludes(
      text,
      "**Result: FAIL** — 44.00 / 100 points; not graded yet: task 2, task 3",
    );
    assertEquals((await readGradedTasks(out)).map((g) => g.task), [1, 4]);
    assertStringIncludes(allTasksMarkdown([], RUBRIC), "0.00 / 100");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("JUnit names the tasks not graded, so its failure count adds up", () => {
  const tests = missingTaskTests(RUBRIC, [2]);
  const xml = toJUnit(
    {
      tests,
      tasks: [],
      missingTasks: [2],
      executionSeconds: 0,
      startedAt: "t",
    } as unknown as GradeReport,
  );
  assert(/<testsuites [^>]*tests="1" failures="1"/.test(xml), xml);
  assertEquals((xml.match(/<testcase /g) ?? []).length, 1);
  assert(xml.includes('type="NotGraded"'), xml);
});

Deno.test("an empty submission is a FAIL out of 100, every task named", async () => {
  const out = await Deno.makeTempDir({ prefix: "empty-grade-" });
  try {
    const report = await grade({
      data: { protocol: "small", ...toySplits(2) },
      tasks: [],
      profile: "quick",
      outDir: out,
      projectRoot: new URL("..", import.meta.url).pathname,
    });
    assertEquals([report.score, report.maxScore, report.passed], [0, 100, false]);
    assertEquals(report.missingTasks, [1, 2, 3, 4]);
    const md = toMarkdown(report);
    assertStringIncludes(md, "**Result: FAIL** — 0.00 / 100 points");
    assertStringIncludes(md, "**Not graded: task 1, task 2, task 3, task 4**");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
