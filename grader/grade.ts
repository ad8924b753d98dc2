/**
 * Grading orchestration: for each task, hand the profile's train subset and
 * the valid split to the task module in a sandbox, evaluate the returned
 * predictions on the held-out test split, apply the rubric, and (with
 * `repeat` > 1) check that repeated runs give bit-identical predictions.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import type { ImageSet, Protocol } from "../data/types.ts";
import { stratifiedSubset } from "../data/subset.ts";
import {
  budgetLimits,
  type Profile,
  RUBRIC,
  type Rubric,
  rubricHash,
  type TaskNumber,
  taskPoints,
  taskRubric,
  validateRubric,
} from "./rubric/rubric.ts";
import { runSandboxed, type SandboxResult } from "./sandbox/mod.ts";
import { scoreTask, type TaskOutcome } from "./rubric/score.ts";
import { missingTaskNumbers, missingTaskTests } from "./rubric/missing_tasks.ts";
import type { RoleRecord } from "./rubric/recipe_checks.ts";
import { type IntakeFinding, intakeTests } from "./intake/findings.ts";
import type { GradeProvenance, GradeReport, RunRecord, TaskReport } from "./report/types.ts";
import { numericsRecord } from "./report/provenance.ts";
import { DEFAULT_NUMERICS, type NumericsMode } from "../compute/numerics.ts";
import type { BackendRequest } from "../compute/backend_request.ts";
import { confusionMatrixSvg, learningCurveSvg } from "../models/pictures.ts";
import { taskCurveSeries } from "../tasks/curve_series.ts";
import { oneLine } from "../utils/format.ts";
import { atomicWrite } from "../utils/atomic_write.ts";
import { perturbImages } from "../data/perturb.ts";
import { evaluateRun, type RunEvaluation } from "./evaluate_run.ts";
import { testBlock } from "./checks/test_block.ts";
import { checkIntegrity, hiddenLevels } from "./checks/integrity_run.ts";
import { applyIntegrity } from "./rubric/integrity.ts";
import type { SandboxRequest } from "./sandbox/mod.ts";
import { taskTimeShare } from "./rubric/time_share.ts";

/** Which module to grade for one task. */
export interface TaskSpec {
  /** Task number (1..4). */
  task: TaskNumber;
  /** Path or file URL of the module exporting `train` (TaskModule). */
  module: string;
  /** Trusted modules (the lab's own) may use FFI, env and sys info in their sandbox. */
  trusted: boolean;
  /** What intake found in the module before it ran (grader/intake/findings.ts). */
  findings?: IntakeFinding[];
}

/** The data to grade on. */
export interface GradeData {
  /** The protocol these splits follow. */
  protocol: Protocol;
  /** Full training split (the profile may take a subset). */
  train: ImageSet;
  /** Validation split. */
  valid: ImageSet;
  /** Held-out test split (sanitized); its labels never leave the grader. */
  test: ImageSet;
  /** Hidden test set (`--hidden-test`): when given, test accuracy for credit is measured on it. */
  hidden?: ImageSet;
}

/** Options of {@link grade}. */
export interface GradeOptions {
  /** Data splits. */
  data: GradeData;
  /** Tasks to grade, in order. */
  tasks: TaskSpec[];
  /** Profile: budgets and thresholds. */
  profile: Profile;
  /** Rubric (default {@link RUBRIC}). */
  rubric?: Rubric;
  /** Seed (default the rubric's). */
  seed?: number;
  /** Runs per task; > 1 checks bit-identical predictions across runs. */
  repeat?: number;
  /** Report folder (e.g. out/grade); each task writes into `<outDir>/taskN`. */
  outDir: string;
  /** Project root (holds deno.json). */
  projectRoot: string;
  /** Backend selection in the sandbox before training (`undefined`: the task selects its own). */
  backend?: BackendRequest;
  /** Numerics mode of every task process (default reproducible); recorded in the report. */
  numerics?: NumericsMode;
  /** Folders graded code may not import from (data dir, cache dir). */
  forbiddenRoots?: string[];
  /** Overrides the profile's train size (e.g. for a smoke run). */
  trainSize?: number;
  /** Overrides the profile's epochs. */
  epochs?: number;
  /** Multiplies every time limit (slow machines). */
  timeoutScale?: number;
  /** Extra env for trusted children (BLAS threads). */
  trustedEnv?: Record<string, string>;
  /** Progress sink. */
  log?: (line: string) => void;
  /** Whether to echo the tasks' own output through `log`. */
  verbose?: boolean;
  /** Recorded in the report as-is. */
  provenance?: GradeProvenance;
  /** Teacher override of the integrity flags: reported, credit kept (`--override-integrity`). */
  overrideIntegrity?: boolean;
  /**
   * `performance.now()` time (ms) by which every task must be done: each
   * task's limit is then {@link taskTimeShare} of what is left.
   */
  deadlineMs?: number;
  /** Called after each task with the report of the tasks graded so far. */
  onTask?: (report: GradeReport) => Promise<void> | void;
}

/**
 * The profile's train subset: the data layer's {@link stratifiedSubset}, the
 * same function behind the task CLI's `--train-size`, so a student's self-check
 * trains on the images the grader hands over.
 */
export { stratifiedSubset };

/** A run's evaluation (`evaluate_run.ts`). */
type EvaluatedRun = RunEvaluation;

/** What each role's run recorded (its history and config), for the recipe checks. */
function rolesRecorded(sandbox: SandboxResult): Record<string, RoleRecord> {
  const out: Record<string, RoleRecord> = {};
  for (const [role, r] of Object.entries(sandbox.roles)) {
    out[role] = { history: r.info.history, config: r.info.config };
  }
  return out;
}

function compareRuns(runs: RunRecord[]): { identical: boolean; detail: string } {
  const [first, ...rest] = runs;
  const problems: string[] = [];
  for (const other of rest) {
    if (Boolean(first.error) !== Boolean(other.error)) {
      problems.push(`run ${other.run} ${other.error ? "failed" : "succeeded"} but run 1 did not`);
      continue;
    }
    const roles = new Set([...Object.keys(first.digests), ...Object.keys(other.digests)]);
    for (const role of roles) {
      if (first.digests[role] !== other.digests[role]) {
        const a = first.metrics[role];
        const b = other.metrics[role];
        problems.push(
          `role ${role}: predictions differ between run 1 and run ${other.run}` +
            (a && b ? ` (test accuracy ${a.testAccuracy} vs ${b.testAccuracy})` : ""),
        );
      }
    }
  }
  return problems.length === 0
    ? {
      identical: true,
      detail:
        `${runs.length} runs gave bit-identical predictions for every role (train, valid and test)`,
    }
    : { identical: false, detail: problems.join("; ") };
}

async function listPictures(dir: string, reportDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory && depth < 2 && !e.name.startsWith(".")) await walk(p, depth + 1);
      else if (e.isFile && /\.(svg|png)$/i.test(e.name)) out.push(relative(reportDir, p));
    }
  };
  await walk(dir, 0);
  return out;
}

/**
 * Folder of the grader's own files of task `task` inside the report folder:
 * beside the tasks' output folders, never inside one (graded code writes only
 * its `task<N>` folder, so nothing it leaves there can block these writes).
 */
export function graderTaskDir(reportDir: string, task: number): string {
  return join(reportDir, "grader", `task${task}`);
}

/** Draws the grader's pictures of a task into `dir`; returns their paths. */
async function drawPictures(
  dir: string,
  task: number,
  run: EvaluatedRun,
  models: TaskReport["models"],
): Promise<string[]> {
  const written: string[] = [];
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const main = run.evaluations.main;
  if (main) {
    written.push(join(dir, "grader_confusion.svg"));
    await atomicWrite(
      join(dir, "grader_confusion.svg"),
      confusionMatrixSvg(
        `Task ${task}: test confusion matrix of main (accuracy ${
          (main.accuracy * 100).toFixed(2)
        }%)`,
        main.confusion,
      ),
    );
  }
  const series = taskCurveSeries(task, models);
  if (series.length > 0) {
    written.push(join(dir, "grader_learning_curve.svg"));
    await atomicWrite(
      join(dir, "grader_learning_curve.svg"),
      learningCurveSvg(`Task ${task}: learning curves (from the task's history)`, series),
    );
  }
  return written;
}

/**
 * The backend request handed to each sandboxed run: `options.backend` with the
 * grade's numerics mode, or, when only a numerics mode is given, that mode with
 * the default order (so the children run in the mode the report records);
 * `null` (the task selects its own) when neither is given.
 */
export function sandboxBackend(
  options: Pick<GradeOptions, "backend" | "numerics">,
): BackendRequest | null {
  if (!options.backend && options.numerics === undefined) return null;
  return { ...options.backend, numerics: options.numerics ?? DEFAULT_NUMERICS };
}

/**
 * Grades every task in `options.tasks` and returns the report (nothing is
 * written besides the tasks' own output folders; see `reports.ts`). Never
 * throws because a task misbehaves.
 */
export async function grade(options: GradeOptions): Promise<GradeReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const rubric = options.rubric ?? RUBRIC;
  validateRubric(rubric);
  const seed = options.seed ?? rubric.seed;
  const repeat = options.repeat ?? 1;
  const log = options.log ?? (() => {});
  const reportDir = resolve(options.outDir);
  const { data, profile } = options;
  const tasks: TaskReport[] = [];
  // A rubric without hidden-set levels is refused before anything runs.
  if (data.hidden) {
    for (const spec of options.tasks) hiddenLevels(taskRubric(spec.task, rubric), profile);
  }
  const block = testBlock([
    ["public", data.test],
    ["perturbed", rubric.integrity ? perturbImages(data.test, seed) : undefined],
    ["hidden", data.hidden],
  ]);
  const hash = await rubricHash(rubric);
  const missingTasks = missingTaskNumbers(rubric, options.tasks);
  const ownLimits = options.tasks.map((spec) =>
    taskRubric(spec.task, rubric).budget[profile].timeoutSeconds * (options.timeoutScale ?? 1)
  );

  const controlRuns = rubric.integrity?.controlProfiles.includes(profile) ? 1 : 0;
  for (const [index, spec] of options.tasks.entries()) {
    const r = taskRubric(spec.task, rubric);
    const publicThresholds = r.thresholds[data.protocol][profile];
    const hiddenThresholds = data.hidden ? hiddenLevels(r, profile) : undefined;
    const thresholds = hiddenThresholds ?? publicThresholds;
    const budget = r.budget[profile];
    const trainSize = options.trainSize ?? budget.trainSize;
    const epochs = options.epochs ?? budget.epochs;
    const timeoutSeconds = options.deadlineMs === undefined ? ownLimits[index] : taskTimeShare(
      ownLimits[index],
      ownLimits.slice(index).reduce((a, b) => a + b, 0),
      // the control run, when the profile runs it, shares the task's time with its graded runs
      (options.deadlineMs - performance.now()) / 1000 / (repeat + controlRuns),
    );
    const train = stratifiedSubset(data.train, trainSize, seed);
    const evaluated: EvaluatedRun[] = [];
    let request: SandboxRequest | undefined;
    for (let run = 1; run <= repeat; run++) {
      const outDir = join(
        reportDir,
        repeat > 1 && run > 1 ? `task${spec.task}.run${run}` : `task${spec.task}`,
      );
      log(
        `task ${spec.task}${repeat > 1 ? ` run ${run}/${repeat}` : ""}: ${spec.module} ` +
          `(${
            spec.trusted ? "trusted" : "sandboxed Worker, no FFI in it"
          }; ${train.count} train images, ` +
          `epochs ${epochs ?? "task default"}, limit ${timeoutSeconds} s)`,
      );
      request = {
        module: spec.module,
        train,
        valid: data.valid,
        testImages: { images: block.images, count: block.count },
        seed,
        epochs,
        protocol: data.protocol,
        outDir,
        timeoutSeconds,
        trusted: spec.trusted,
        backend: sandboxBackend(options),
        projectRoot: options.projectRoot,
        forbiddenRoots: options.forbiddenRoots,
        trustedEnv: options.trustedEnv,
        limits: budgetLimits(budget),
        onLine: options.verbose ? (line) => log(`  [task${spec.task}] ${line}`) : undefined,
      };
      const sandbox = await runSandboxed(request);
      const ev = evaluateRun(run, sandbox, train, data.valid, block);
      evaluated.push(ev);
      const main = ev.record.metrics.main;
      log(
        `task ${spec.task}: ${
          ev.record.error
            ? `FAILED (${oneLine(ev.record.error)})`
            : `test accuracy ${main?.testAccuracy.toFixed(4)}`
        } in ${sandbox.wallSeconds.toFixed(1)} s${
          ev.record.backend ? ` on ${ev.record.backend}` : ""
        }`,
      );
    }
    const first = evaluated[0];
    const outcome: TaskOutcome = {
      ...first.outcome,
      records: rolesRecorded(first.sandbox),
      epochs,
    };
    if (repeat > 1) outcome.repeat = compareRuns(evaluated.map((e) => e.record));
    const integrity = await checkIntegrity(
      first.record.error ? undefined : first.record.metrics.main,
      request,
      { rubric, profile, test: data.test, seed, log, override: options.overrideIntegrity ?? false },
      { task: spec.task, outDir: join(reportDir, `task${spec.task}.control`) },
      { publicThresholds, hiddenThresholds },
    );
    const scored = scoreTask(r, thresholds, outcome);
    const tests = integrity ? applyIntegrity(spec.task, scored, integrity) : scored;
    tests.push(...intakeTests(spec.findings ?? [], rubric.typeErrorsFail));
    const failing = evaluated.find((e) => e.record.error) ?? first;
    const models: TaskReport["models"] = {};
    for (const [role, rp] of Object.entries(first.sandbox.roles)) models[role] = rp.info;
    const taskOut = join(reportDir, `task${spec.task}`);
    const graderPictures = await drawPictures(
      graderTaskDir(reportDir, spec.task),
      spec.task,
      first,
      models,
    );
    tasks.push({
      task: spec.task,
      title: r.title,
      module: spec.module,
      trusted: spec.trusted,
      thresholds,
      budget: { ...budget, trainSize, epochs, timeoutSeconds, trainCount: train.count },
      maxScore: taskPoints(r),
      score: tests.reduce((a, t) => a + t.score, 0),
      passed: tests.every((t) => t.passed || !t.required),
      runs: evaluated.map((e) => e.record),
      models,
      confusion: first.evaluations.main?.confusion,
      perClass: first.evaluations.main?.perClass,
      pictures: await listPictures(taskOut, reportDir),
      graderPictures: graderPictures.map((p) => relative(reportDir, p)),
      outDir: relative(reportDir, taskOut),
      logTail: failing.sandbox.logTail,
      integrity,
      tests,
    });
    await options.onTask?.(reportOf(tasks.slice()));
  }
  return reportOf(tasks);

  function reportOf(tasks: TaskReport[]): GradeReport {
    const tests = [...tasks.flatMap((t) => t.tests), ...missingTaskTests(rubric, missingTasks)];
    const backends = [...new Set(tasks.flatMap((t) => t.runs.map((r) => r.backend ?? "unknown")))];
    return {
      version: 1,
      startedAt,
      protocol: data.protocol,
      profile,
      seed,
      repeat,
      rubricHash: hash,
      rubricVersion: rubric.version,
      splits: {
        train: data.train.count,
        valid: data.valid.count,
        test: data.test.count,
        hidden: data.hidden?.count,
      },
      backends,
      numerics: numericsRecord(options.numerics ?? DEFAULT_NUMERICS, backends),
      provenance: options.provenance ?? {},
      tasks,
      missingTasks,
      tests,
      score: Math.round(tests.reduce((a, t) => a + t.score, 0) * 1e4) / 1e4,
      maxScore: tests.reduce((a, t) => a + t.maxScore, 0),
      passed: tests.every((t) => t.passed || !t.required),
      executionSeconds: (performance.now() - started) / 1000,
    };
  }
}
