/**
 * The Gradescope side of the grader: `run_autograder` calls this module to
 * grade `/autograder/submission/task*.ts` into
 * `/autograder/results/results.json`, with the rubric's visibility policy
 * (test accuracy after the due date) and a leaderboard entry. Every root path
 * is a flag (and `run_autograder` maps environment variables onto them), so
 * the same code runs in a temp folder laid out like `/autograder`.
 *
 * ```sh
 * deno run -A grader/gradescope/autograder.ts --submission /autograder/submission \
 *   --results /autograder/results/results.json --work /autograder/work --profile full
 * ```
 *
 * @module
 */
import { join, resolve } from "node:path";
import { numberFlag, parseFlags, stringFlag } from "../../deps/flags.ts";
import { atomicWriteJson } from "../../utils/atomic_write.ts";
import { GRADE_FLAGS } from "../flags.ts";
import { PROJECT_ROOT } from "../project.ts";
import { stageSubmission } from "../intake/stage.ts";
import { grade } from "../grade.ts";
import type { GradeReport } from "../report/types.ts";
import { loadGradeData } from "../grade_data.ts";
import {
  type GradescopeResults,
  type GradescopeTest,
  toGradescope,
  writeReports,
} from "../report/reports.ts";
import {
  type Profile,
  RUBRIC,
  type Rubric,
  TASK_NUMBERS,
  type TaskNumber,
  taskPoints,
  taskRubric,
} from "../rubric/rubric.ts";
import { round4 } from "../rubric/score.ts";

/** One leaderboard column of Gradescope's results.json. */
export interface LeaderboardEntry {
  /** Column name. */
  name: string;
  /** The value. */
  value: number;
  /** Sort order: higher (`desc`) or lower (`asc`) is better. */
  order: "asc" | "desc";
}

/** Gradescope's results.json with the fields the autograder adds. */
export interface AutograderResults extends GradescopeResults {
  /** Leaderboard columns. */
  leaderboard?: LeaderboardEntry[];
}

/** Whether a test's output reveals test accuracy (the accuracy test and the comparisons). */
export function revealsTestAccuracy(test: { name: string; maxScore: number }): boolean {
  return (test.maxScore > 0 && !/runs and returns valid predictions$/.test(test.name)) ||
    /integrity checks$/.test(test.name);
}

function missingTest(task: TaskNumber, rubric: Rubric): GradescopeTest {
  return {
    name: `Task ${task}: task${task}.ts submitted`,
    score: 0,
    max_score: taskPoints(taskRubric(task, rubric)),
    output: `no task${task}.ts in the submission (expected at its top level)`,
    visibility: "visible",
    status: "failed",
    number: `${task}.0`,
    tags: [`task${task}`, "missing"],
  };
}

function byTaskNumber(a: GradescopeTest, b: GradescopeTest): number {
  return Number(a.number.split(".")[0]) - Number(b.number.split(".")[0]);
}

/**
 * Gradescope's results for `report`: {@link toGradescope} plus the rubric's
 * policy (accuracy tests' visibility, the leaderboard) and a failed, visible
 * test for every task the submission lacks, so the total out of 100 is right.
 */
export function autograderResults(
  report: GradeReport,
  submitted: TaskNumber[],
  rubric: Rubric = RUBRIC,
): AutograderResults {
  const base = toGradescope(report);
  const policy = rubric.gradescope;
  // the report's own tests for tasks it did not grade give way to the "submitted" tests below
  const notGraded = new Set<number>(report.missingTasks ?? []);
  const tests: GradescopeTest[] = base.tests.map((t, i) => {
    const r = report.tests[i];
    return policy && revealsTestAccuracy(r) ? { ...t, visibility: policy.accuracyVisibility } : t;
  }).filter((_, i) => !notGraded.has(report.tests[i].task));
  for (const task of TASK_NUMBERS) {
    if (!submitted.includes(task)) tests.push(missingTest(task, rubric));
  }
  tests.sort(byTaskNumber);
  const results: AutograderResults = { ...base, tests };
  const missing = TASK_NUMBERS.filter((t) => !submitted.includes(t));
  if (missing.length > 0) {
    results.output = `Not submitted: ${missing.map((t) => `task${t}.ts`).join(", ")} (0 points ` +
      `each). Of the submitted tasks: ${results.output}`;
  }
  if (policy && policy.accuracyVisibility !== "visible") {
    results.output += ` Test accuracy is shown ${
      policy.accuracyVisibility.replace(/_/g, " ")
    }; whether each task ran is shown now.`;
  }
  if (policy?.leaderboardTask !== undefined) {
    const t = report.tasks.find((x) => x.task === policy.leaderboardTask);
    const acc = t?.runs[0]?.metrics.main?.testAccuracy;
    results.leaderboard = [{
      name: `Task ${policy.leaderboardTask} test accuracy (%)`,
      value: acc === undefined || !Number.isFinite(acc) ? 0 : round4(acc * 100),
      order: "desc",
    }];
  }
  return results;
}

/** The default total budget of a Gradescope run, seconds (under Gradescope's default 10 minutes). */
export const DEFAULT_BUDGET_SECONDS = 540;

/**
 * The results.json of a run in progress: the tasks graded so far (`partial`,
 * absent before the first) and, for every submitted task not graded yet, a
 * failed test with 0 points that says so. Written before the first task and
 * after each one, so a run killed at Gradescope's limit still reports what
 * finished.
 */
export function progressResults(
  partial: GradeReport | undefined,
  submitted: TaskNumber[],
  rubric: Rubric = RUBRIC,
): AutograderResults {
  const done = partial ? autograderResults(partial, submitted, rubric) : undefined;
  const graded = new Set(partial?.tasks.map((t) => t.task) ?? []);
  const pending = submitted.filter((t) => !graded.has(t));
  const tests: GradescopeTest[] = done
    ? [...done.tests]
    : TASK_NUMBERS.filter((t) => !submitted.includes(t)).map((t) => missingTest(t, rubric));
  for (const task of pending) {
    tests.push({
      name: `Task ${task}: not run yet`,
      score: 0,
      max_score: taskPoints(taskRubric(task, rubric)),
      output: `task${task}.ts was not graded yet: the run stopped before it (the time limit?)`,
      visibility: "visible",
      status: "failed",
      number: `${task}.0`,
      tags: [`task${task}`, "not-run"],
    });
  }
  tests.sort(byTaskNumber);
  const notRun = pending.map((t) => `task${t}.ts`).join(", ");
  return {
    ...(done ?? { execution_time: 0, visibility: "visible", stdout_visibility: "visible" }),
    score: done?.score ?? 0,
    tests,
    output: `Not run yet (0 points each until they are): ${notRun}. ` +
      (done ? `Graded so far: ${done.output}` : "Grading has not finished any task."),
  };
}

/** A results.json for a grading that could not run at all (the student sees why). */
export function failedResults(message: string): AutograderResults {
  return {
    score: 0,
    execution_time: 0,
    output: `The autograder could not grade this submission: ${message}`,
    visibility: "visible",
    stdout_visibility: "visible",
    tests: [],
  };
}

/** Options of {@link runAutograder}. */
export interface AutograderOptions {
  /** The student's submission folder. */
  submission: string;
  /** Where results.json goes. */
  results: string;
  /** Work folder: the full reports go to `<work>/grade`. */
  work: string;
  /** Profile. */
  profile: Profile;
  /** Data folder (default `NOTMNIST_DIR`). */
  dataDir?: string;
  /** Cache folder (default `NOTMNIST_CACHE`). */
  cacheDir?: string;
  /** Epochs override (tests). */
  epochs?: number;
  /** Train-size override (tests). */
  trainSize?: number;
  /** Time-limit multiplier. */
  timeoutScale?: number;
  /**
   * Total budget of the run, seconds, from its start (default
   * {@link DEFAULT_BUDGET_SECONDS}): each task's limit is the smaller of its
   * own and its share of what is left.
   */
  budget?: number;
  /** Hidden test set archive: graded for credit when given (`--hidden-test`). */
  hiddenTest?: string;
  /** Teacher override of the integrity flags (`--override-integrity`). */
  overrideIntegrity?: boolean;
  /** Rubric (default {@link RUBRIC}). */
  rubric?: Rubric;
  /** Progress lines (the autograder's stdout). */
  log?: (line: string) => void;
}

/**
 * Grades a Gradescope submission and writes results.json (always: a grading
 * that cannot run writes a results.json that says why). The submission is
 * copied (regular files only) into a fresh temp folder before it is graded; `taskN.ts` is looked for at
 * its top level, or inside its only folder (a zipped folder).
 */
export async function runAutograder(opts: AutograderOptions): Promise<AutograderResults> {
  const deadlineMs = performance.now() + (opts.budget ?? DEFAULT_BUDGET_SECONDS) * 1000;
  const log = opts.log ?? (() => {});
  const rubric = opts.rubric ?? RUBRIC;
  let results: AutograderResults;
  let stage: string | undefined;
  try {
    let dir = resolve(opts.submission);
    const top = await Array.fromAsync(Deno.readDir(dir));
    const visible = top.filter((e) => !e.name.startsWith(".") && e.name !== "__MACOSX");
    if (!visible.some((e) => /^task[1-4]\.ts$/.test(e.name))) {
      const folders = visible.filter((e) => e.isDirectory);
      if (folders.length === 1) dir = join(dir, folders[0].name);
    }
    // The copy that is graded lives outside every folder graded code may not import from.
    const copy = await Deno.makeTempDir({ prefix: "notmnist-submission-" });
    stage = copy;
    const staged = await stageSubmission(dir, copy);
    log(
      `submission: ${staged.files.length} files, tasks ${staged.tasks.join(", ") || "none"}, ` +
        `sha256 ${staged.sha256}`,
    );
    for (const s of staged.skipped) log(`not copied: ${s}`);
    // A valid results.json before the first task and after each one: a killed run keeps them.
    await atomicWriteJson(opts.results, progressResults(undefined, staged.tasks, rubric));
    const loaded = await loadGradeData({
      dataDir: opts.dataDir,
      cacheDir: opts.cacheDir,
      hiddenTest: opts.hiddenTest,
      projectRoot: PROJECT_ROOT,
      log,
    });
    const reportDir = join(resolve(opts.work), "grade");
    const report = await grade({
      data: loaded.data,
      tasks: staged.tasks.map((task) => ({
        task,
        module: join(copy, `task${task}.ts`),
        trusted: false,
      })),
      profile: opts.profile,
      rubric,
      outDir: reportDir,
      projectRoot: PROJECT_ROOT,
      backend: {},
      forbiddenRoots: [...loaded.forbiddenRoots, resolve(opts.submission), reportDir],
      epochs: opts.epochs,
      trainSize: opts.trainSize,
      timeoutScale: opts.timeoutScale,
      overrideIntegrity: opts.overrideIntegrity,
      log,
      provenance: loaded.provenance,
      deadlineMs,
      onTask: (partial) =>
        atomicWriteJson(opts.results, progressResults(partial, staged.tasks, rubric)),
    });
    await writeReports(reportDir, report);
    results = autograderResults(report, staged.tasks, rubric);
  } catch (err) {
    results = failedResults((err as Error).message);
  } finally {
    if (stage) await Deno.remove(stage, { recursive: true }).catch(() => {});
  }
  await atomicWriteJson(opts.results, results);
  return results;
}

/** The flags of the runner (`run_autograder` passes the roots); grading flags reuse the grader's. */
export const AUTOGRADER_SPEC = {
  submission: stringFlag({
    arg: "DIR",
    help: "the student's submission",
    default: "/autograder/submission",
  }),
  results: stringFlag({
    arg: "FILE",
    help: "where results.json goes",
    default: "/autograder/results/results.json",
  }),
  work: stringFlag({
    arg: "DIR",
    help: "full reports go to DIR/grade",
    default: "/autograder/work",
  }),
  profile: GRADE_FLAGS.profile,
  "data-dir": GRADE_FLAGS["data-dir"],
  "cache-dir": GRADE_FLAGS["cache-dir"],
  epochs: GRADE_FLAGS.epochs,
  "train-size": GRADE_FLAGS["train-size"],
  "timeout-scale": GRADE_FLAGS["timeout-scale"],
  budget: numberFlag({
    arg: "SECONDS",
    help: "total time of the run, split across the tasks (each gets at most its share of what " +
      "is left); keep it under Gradescope's limit",
    min: 10,
    max: 86_400,
    default: DEFAULT_BUDGET_SECONDS,
  }),
  "hidden-test": GRADE_FLAGS["hidden-test"],
  "override-integrity": GRADE_FLAGS["override-integrity"],
};

/** Parses the runner's flags; throws naming the flag on bad input. */
export function parseAutograderArgs(args: string[]): AutograderOptions {
  const { values, positionals } = parseFlags(args, AUTOGRADER_SPEC);
  if (positionals.length > 0) {
    throw new Error(`unexpected argument "${positionals[0]}" (flags only)`);
  }
  return values;
}

if (import.meta.main) {
  let opts: AutograderOptions;
  try {
    opts = parseAutograderArgs(Deno.args);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    Deno.exit(2);
  }
  const r = await runAutograder({ ...opts, log: (l) => console.log(l) });
  console.log(`score ${r.score}; results: ${opts.results}`);
}
