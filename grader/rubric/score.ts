/**
 * Rubric arithmetic: turns one task's measured metrics (or its failure) into
 * graded tests with points, partial credit and pass/fail.
 *
 * @module
 */
import { pct } from "../../utils/format.ts";
import { LAB_TARGET, type TaskRubric, type Thresholds } from "./rubric.ts";
import { RECIPE_CHECK_NAMES, type RoleRecord, runRecipeCheck } from "./recipe_checks.ts";
import { pctExplaining } from "./shown_digits.ts";

/** One graded test, the unit of every report (Gradescope, JUnit, Markdown). */
export interface TestResult {
  /** Task the test belongs to. */
  task: number;
  /** Human name, e.g. "Task 2: test accuracy (main)". */
  name: string;
  /** Points earned. */
  score: number;
  /** Points available. */
  maxScore: number;
  /** Whether the test's requirement holds. */
  passed: boolean;
  /** Whether a failure of this test fails the whole grade (exit code). */
  required: boolean;
  /** Explanation shown to the student: numbers, thresholds, or the error. */
  output: string;
}

/** The grader's measurements of one model role. */
export interface RoleMetrics {
  /** The model's own name. */
  name: string;
  /** Accuracy for credit: on the hidden test set when one is graded, else the public test split. */
  testAccuracy: number;
  /** With a hidden test set: accuracy on the public test split (feedback only, no credit). */
  publicTestAccuracy?: number;
  /** Accuracy on the perturbed copies of the public test images (the memorisation check). */
  perturbedAccuracy?: number;
  /** Accuracy on the training images handed to the task (no dropout: measured by the grader). */
  trainAccuracy: number;
  /** Accuracy on the validation split. */
  validAccuracy: number;
}

/** What the grader learned from running one task once. */
export interface TaskOutcome {
  /** Metrics per role, when the task ran; roles whose predictions failed are absent. */
  metrics?: Record<string, RoleMetrics>;
  /** Why the task failed as a whole (exception, timeout, permission, bad `main` predictions). */
  error?: string;
  /** Per-role failures (bad predictions of a non-main role). */
  roleErrors?: Record<string, string>;
  /** Number of test images, for the report. */
  testCount?: number;
  /** Set by `--repeat`: whether every run gave identical predictions, with details. */
  repeat?: { identical: boolean; detail: string };
  /** What each role's run recorded (history, config), for the rubric's recipe checks. */
  records?: Record<string, RoleRecord>;
  /** The epoch budget the grader passed (`TaskInput.epochs`), for the decay check. */
  epochs?: number;
}

/** Rounds to 4 decimals, so reports do not carry float noise. */
export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/**
 * Linear partial credit in [0, 1]: 0 at or below `floor`, 1 at or above
 * `fullCredit`, linear in between. Non-finite accuracy earns 0.
 */
export function linearCredit(accuracy: number, floor: number, fullCredit: number): number {
  if (!Number.isFinite(accuracy)) return 0;
  if (!(fullCredit > floor)) {
    throw new Error(`fullCredit (${fullCredit}) must exceed floor (${floor})`);
  }
  if (accuracy <= floor) return 0;
  if (accuracy >= fullCredit) return 1;
  return (accuracy - floor) / (fullCredit - floor);
}

/** Accuracy points earned: `points` x {@link linearCredit}, rounded to 4 decimals. */
export function accuracyScore(accuracy: number, th: Thresholds, points: number): number {
  return round4(points * linearCredit(accuracy, th.floor, th.fullCredit));
}

/** Train-test gap of a role: train accuracy minus test accuracy. */
export function trainTestGap(m: RoleMetrics): number {
  return m.trainAccuracy - m.testAccuracy;
}

/**
 * Grades one task: a required "runs" test (0 points), the accuracy test
 * (partial credit, required pass threshold), the task's comparison when it has
 * one (all-or-nothing, required), and a reproducibility test when the outcome
 * carries a repeat check.
 */
export function scoreTask(rubric: TaskRubric, th: Thresholds, outcome: TaskOutcome): TestResult[] {
  const task = rubric.task;
  const prefix = `Task ${task}`;
  const tests: TestResult[] = [];
  const main = outcome.metrics?.main;
  const runError = outcome.error ??
    (main ? undefined : outcome.roleErrors?.main ?? "no `main` model");

  tests.push({
    task,
    name: `${prefix}: runs and returns valid predictions`,
    score: 0,
    maxScore: 0,
    passed: runError === undefined,
    required: true,
    output: runError === undefined
      ? `ok: roles ${Object.keys(outcome.metrics ?? {}).join(", ")}` +
        (outcome.testCount ? `; ${outcome.testCount} test images` : "")
      : `FAILED: ${runError}`,
  });

  if (runError !== undefined || !main) {
    tests.push({
      task,
      name: `${prefix}: test accuracy (main)`,
      score: 0,
      maxScore: rubric.accuracyPoints,
      passed: false,
      required: true,
      output: `not graded: the task did not produce valid predictions (${runError})`,
    });
    if (rubric.comparison) {
      tests.push({
        task,
        name: comparisonName(rubric),
        score: 0,
        maxScore: rubric.comparison.points,
        passed: false,
        required: true,
        output: "not graded: the task did not produce valid predictions",
      });
    }
  } else {
    const score = accuracyScore(main.testAccuracy, th, rubric.accuracyPoints);
    const passed = main.testAccuracy >= th.pass;
    tests.push({
      task,
      name: `${prefix}: test accuracy (main)`,
      score,
      maxScore: rubric.accuracyPoints,
      passed,
      required: true,
      output:
        `${passed ? "PASS" : "FAIL"}: ${
          main.publicTestAccuracy === undefined ? "" : "hidden "
        }test accuracy ${pctExplaining(main.testAccuracy, [th.pass, th.floor, th.fullCredit])} ` +
        `(${main.name}); required >= ${pct(th.pass)}; credit linear from ${pct(th.floor)} ` +
        `(0 points) to ${pct(th.fullCredit)} (${rubric.accuracyPoints} points); ` +
        `train ${pct(main.trainAccuracy)}, valid ${pct(main.validAccuracy)}; ` +
        (main.publicTestAccuracy === undefined
          ? ""
          : `public test split ${pct(main.publicTestAccuracy)} (feedback, no credit); `) +
        `lab-protocol target ${pct(LAB_TARGET)}`,
    });
    if (rubric.comparison) tests.push(scoreComparison(rubric, th, outcome));
  }
  tests.push(...scoreRecipe(rubric, outcome));

  if (outcome.repeat) {
    tests.push({
      task,
      name: `${prefix}: reproducible across repeated runs`,
      score: 0,
      maxScore: 0,
      passed: outcome.repeat.identical,
      required: true,
      output: `${outcome.repeat.identical ? "PASS" : "FAIL"}: ${outcome.repeat.detail}`,
    });
  }
  return tests;
}

/** The rubric's recipe checks on the `main` model's record: one test each, all-or-nothing. */
export function scoreRecipe(rubric: TaskRubric, outcome: TaskOutcome): TestResult[] {
  const record = outcome.records?.main;
  return (rubric.recipe ?? []).map((c) => {
    const base = {
      task: rubric.task,
      name: `Task ${rubric.task}: ${RECIPE_CHECK_NAMES[c.kind]}`,
      maxScore: c.points,
      required: true,
    };
    if (!record || outcome.error !== undefined || !outcome.metrics?.main) {
      return {
        ...base,
        score: 0,
        passed: false,
        output: "not graded: the task did not produce a valid `main` model",
      };
    }
    const v = runRecipeCheck(c.kind, record, outcome.epochs);
    return {
      ...base,
      score: v.passed ? c.points : 0,
      passed: v.passed,
      output: `${v.passed ? "PASS" : "FAIL"}: ${v.detail}`,
    };
  });
}

function comparisonName(rubric: TaskRubric): string {
  const c = rubric.comparison;
  if (!c) throw new Error(`task ${rubric.task} has no comparison`);
  return c.kind === "margin"
    ? `Task ${rubric.task}: main beats ${c.against} by the margin`
    : `Task ${rubric.task}: smaller train-test gap than ${c.against}`;
}

function scoreComparison(rubric: TaskRubric, th: Thresholds, outcome: TaskOutcome): TestResult {
  const c = rubric.comparison;
  if (!c) throw new Error(`task ${rubric.task} has no comparison`);
  const name = comparisonName(rubric);
  const main = outcome.metrics?.main;
  const other = outcome.metrics?.[c.against];
  const base = { task: rubric.task, name, maxScore: c.points, required: true };
  if (!main || !other) {
    const why = outcome.roleErrors?.[c.against] ??
      `the task returned no "${c.against}" model (TaskOutput.models.${c.against})`;
    return { ...base, score: 0, passed: false, output: `FAIL: ${why}` };
  }
  if (c.kind === "margin") {
    const need = th.margin ?? 0;
    const lead = main.testAccuracy - other.testAccuracy;
    const passed = lead >= need;
    return {
      ...base,
      score: passed ? c.points : 0,
      passed,
      output: `${passed ? "PASS" : "FAIL"}: main ${pct(main.testAccuracy)} vs ${c.against} ` +
        `${pct(other.testAccuracy)}: lead ${(lead * 100).toFixed(2)} points, required >= ` +
        `${(need * 100).toFixed(2)} points`,
    };
  }
  const need = th.gapReduction ?? 0;
  const gapMain = trainTestGap(main);
  const gapOther = trainTestGap(other);
  const reduction = gapOther - gapMain;
  const passed = reduction > need;
  return {
    ...base,
    score: passed ? c.points : 0,
    passed,
    output: `${passed ? "PASS" : "FAIL"}: train-test gap ${(gapMain * 100).toFixed(2)} points ` +
      `(main: train ${pct(main.trainAccuracy)}, test ${pct(main.testAccuracy)}) vs ` +
      `${(gapOther * 100).toFixed(2)} points (${c.against}: train ${pct(other.trainAccuracy)}, ` +
      `test ${pct(other.testAccuracy)}); reduction ${(reduction * 100).toFixed(2)} points, ` +
      `required > ${(need * 100).toFixed(2)} points`,
  };
}
