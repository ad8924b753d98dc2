import { assert, assertEquals, assertThrows } from "../deps/assert.ts";
import {
  canonicalJson,
  LAB_TARGET,
  RUBRIC,
  type Rubric,
  rubricHash,
  taskPoints,
  type TaskRubric,
  taskRubric,
  validateRubric,
} from "../grader/rubric/rubric.ts";
import {
  accuracyScore,
  linearCredit,
  type RoleMetrics,
  scoreTask,
} from "../grader/rubric/score.ts";
import { evaluate, validatePredictions } from "../grader/evaluate.ts";

const th = { floor: 0.7, pass: 0.8, fullCredit: 0.9, margin: 0.02, gapReduction: 0.01 };

function metrics(test: number, train = test, valid = test, name = "m"): RoleMetrics {
  return { name, testAccuracy: test, trainAccuracy: train, validAccuracy: valid };
}

Deno.test("linearCredit is 0 at/below the floor, 1 at/above full credit, linear between", () => {
  assertEquals(linearCredit(0.5, 0.7, 0.9), 0);
  assertEquals(linearCredit(0.7, 0.7, 0.9), 0);
  assert(Math.abs(linearCredit(0.8, 0.7, 0.9) - 0.5) < 1e-12);
  assert(Math.abs(linearCredit(0.75, 0.7, 0.9) - 0.25) < 1e-12);
  assertEquals(linearCredit(0.9, 0.7, 0.9), 1);
  assertEquals(linearCredit(0.99, 0.7, 0.9), 1);
  assertEquals(linearCredit(NaN, 0.7, 0.9), 0);
  assertThrows(() => linearCredit(0.8, 0.9, 0.9), /must exceed floor/);
});

Deno.test("accuracyScore scales the credit by the points and rounds to 4 decimals", () => {
  assertEquals(accuracyScore(0.85, th, 25), 18.75);
  assertEquals(accuracyScore(0.8123456, th, 10), 5.6173);
  assertEquals(accuracyScore(0.6, th, 25), 0);
});

const task1: TaskRubric = taskRubric(1);
const task2: TaskRubric = taskRubric(2);
const task3: TaskRubric = taskRubric(3);

Deno.test("scoreTask: accuracy above pass earns partial credit and passes", () => {
  const tests = scoreTask(task1, th, { metrics: { main: metrics(0.85) } });
  assertEquals(tests.length, 2);
  assert(tests[0].passed && tests[0].maxScore === 0);
  assertEquals(tests[1].score, 18.75);
  assertEquals(tests[1].maxScore, 25);
  assert(tests[1].passed);
  assert(tests[1].output.includes("85.00%") && tests[1].output.includes("97.10%"));
});

Deno.test("scoreTask: between floor and pass earns credit but fails the requirement", () => {
  const tests = scoreTask(task1, th, { metrics: { main: metrics(0.75) } });
  assertEquals(tests[1].score, 6.25);
  assertEquals(tests[1].passed, false);
  assert(tests[1].required);
});

Deno.test("scoreTask: a failed run fails every test with the error in the output", () => {
  const tests = scoreTask(task2, th, { error: "timeout: timed out after 5 s" });
  assertEquals(tests.length, 3);
  assert(tests.every((t) => !t.passed && t.score === 0));
  assert(tests[0].output.includes("timed out after 5 s"));
  assertEquals(tests.reduce((s, t) => s + t.maxScore, 0), taskPoints(task2));
});

Deno.test("scoreTask: task 2 margin over logistic regression", () => {
  const ok = scoreTask(task2, th, {
    metrics: { main: metrics(0.9), logreg: metrics(0.87) },
  });
  assert(ok[2].passed && ok[2].score === 10, ok[2].output);
  const close = scoreTask(task2, th, {
    metrics: { main: metrics(0.9), logreg: metrics(0.89) },
  });
  assert(!close[2].passed && close[2].score === 0);
  assert(close[2].output.includes("lead 1.00 points, required >= 2.00 points"), close[2].output);
  const missing = scoreTask(task2, th, { metrics: { main: metrics(0.9) } });
  assert(!missing[2].passed && missing[2].output.includes('no "logreg" model'));
  const broken = scoreTask(task2, th, {
    metrics: { main: metrics(0.9) },
    roleErrors: { logreg: "nan: role logreg has NaN" },
  });
  assert(broken[2].output.includes("nan: role logreg has NaN"));
});

Deno.test("scoreTask: task 3 must reduce the train-test gap by more than the required amount", () => {
  const reduced = scoreTask(task3, th, {
    metrics: { main: metrics(0.88, 0.95), baseline: metrics(0.86, 1.0) },
  });
  // gaps: main 7 points, baseline 14 points -> reduction 7 > 1
  assert(reduced[2].passed && reduced[2].score === 10, reduced[2].output);
  const same = scoreTask(task3, th, {
    metrics: { main: metrics(0.88, 0.975), baseline: metrics(0.88, 0.98) },
  });
  // reduction 0.5 points < 1 point
  assert(!same[2].passed, same[2].output);
  const zero = scoreTask(task3, { ...th, gapReduction: 0 }, {
    metrics: { main: metrics(0.88, 0.98), baseline: metrics(0.88, 0.98) },
  });
  assert(!zero[2].passed, "an equal gap is not a reduction");
});

Deno.test("scoreTask: repeat check adds a required test", () => {
  const tests = scoreTask(task1, th, {
    metrics: { main: metrics(0.9) },
    repeat: { identical: false, detail: "role main: predictions differ" },
  });
  const last = tests[tests.length - 1];
  assert(last.required && !last.passed && last.output.includes("predictions differ"));
});

Deno.test("the shipped rubric is consistent, totals 100 points and keeps 97.1% as the lab target", () => {
  validateRubric(RUBRIC);
  assertEquals(RUBRIC.tasks.reduce((s, t) => s + taskPoints(t), 0), 100);
  assertEquals(LAB_TARGET, 0.971);
  assertEquals(taskRubric(4).thresholds.lab.full.fullCredit, 0.971);
  for (const t of RUBRIC.tasks) {
    for (const profile of ["quick", "full"] as const) {
      assert(t.thresholds.small[profile].pass < LAB_TARGET);
    }
  }
  assertThrows(() => taskRubric(7), /no task 7/);
});

Deno.test("validateRubric names the bad field", () => {
  const bad = structuredClone(RUBRIC) as Rubric;
  bad.tasks[1].thresholds.small.quick.pass = 0.99;
  assertThrows(
    () => validateRubric(bad),
    /task 2 small\/quick: expected floor <= pass <= fullCredit/,
  );
  const noMargin = structuredClone(RUBRIC) as Rubric;
  delete noMargin.tasks[1].thresholds.lab.full.margin;
  assertThrows(() => validateRubric(noMargin), /needs a margin/);
});

Deno.test("rubricHash is stable under key order and changes with any number", async () => {
  assertEquals(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
  const h = await rubricHash(RUBRIC);
  assert(/^[0-9a-f]{64}$/.test(h));
  assertEquals(await rubricHash(structuredClone(RUBRIC)), h);
  const changed = structuredClone(RUBRIC) as Rubric;
  changed.tasks[0].thresholds.small.quick.pass += 0.001;
  assert(await rubricHash(changed) !== h);
});

Deno.test("evaluate: accuracy, confusion and per-class accuracy", () => {
  const labels = new Uint8Array([0, 1, 2, 2]);
  const probs = new Float32Array(40);
  probs[0 * 10 + 0] = 1; // right
  probs[1 * 10 + 1] = 1; // right
  probs[2 * 10 + 2] = 1; // right
  probs[3 * 10 + 5] = 1; // wrong: 2 -> 5
  const e = evaluate(probs, labels, 4);
  assertEquals(e.accuracy, 0.75);
  assertEquals(e.confusion[2][5], 1);
  assertEquals(e.perClass[2], 0.5);
  assert(Number.isNaN(e.perClass[9]));
});

Deno.test("validatePredictions rejects wrong shapes and non-finite values with clear messages", () => {
  assertThrows(
    () => validatePredictions(new Float32Array(3), 3, "role main"),
    /role main: expected 3 x 10 = 30 values, got 3 \(one value per image/,
  );
  const nan = new Float32Array(20);
  nan[13] = NaN;
  assertThrows(() => validatePredictions(nan, 2, "x"), /value NaN at image 1, class 3/);
  const inf = new Float32Array(20);
  inf[0] = Infinity;
  assertThrows(() => validatePredictions(inf, 2, "x"), /Infinity/);
});
