/**
 * The notMNIST lab's autograder: runs task modules (the lab's own or a
 * student's) in fenced Deno subprocesses, evaluates their predictions on the
 * held-out test split itself, applies the rubric and writes Gradescope, JUnit
 * and Markdown reports. Grading a whole class and the Gradescope autograder
 * have their own entry points: `@notmnist/lab/grader/class` and
 * `@notmnist/lab/grader/gradescope`.
 *
 * ```ts ignore
 * import { grade, writeReports } from "@notmnist/lab/grader";
 *
 * const report = await grade({
 *   data: { protocol: "small", train, valid, test },
 *   tasks: [{ task: 1, module: "./student/task1.ts", trusted: false }],
 *   profile: "quick",
 *   outDir: "out/grade",
 *   projectRoot: ".",
 * });
 * await writeReports("out/grade", report);
 * ```
 *
 * @module
 */
export type { ImageSet, Protocol } from "../data/types.ts";
export type { EpochRecord } from "../models/epoch_record.ts";
export {
  grade,
  type GradeData,
  type GradeOptions,
  stratifiedSubset,
  type TaskSpec,
} from "./grade.ts";
export type {
  GradeProvenance,
  GradeReport,
  RunFailureKind,
  RunRecord,
  TaskReport,
} from "./report/types.ts";
export {
  type GradescopeResults,
  type GradescopeTest,
  type GradescopeVisibility,
  toGradescope,
  toJUnit,
  toMarkdown,
  writeReports,
} from "./report/reports.ts";
export {
  type Budget,
  budgetLimits,
  type Comparison,
  DEFAULT_LIMITS,
  type GradescopePolicy,
  type IntegrityPolicy,
  LAB_TARGET,
  type Profile,
  PROFILES,
  type ResultVisibility,
  RUBRIC,
  type Rubric,
  rubricHash,
  TASK_NUMBERS,
  type TaskNumber,
  taskPoints,
  type TaskRubric,
  taskRubric,
  type Thresholds,
  validateRubric,
} from "./rubric/rubric.ts";
export {
  accuracyScore,
  linearCredit,
  type RoleMetrics,
  scoreTask,
  type TaskOutcome,
  type TestResult,
} from "./rubric/score.ts";
export {
  evaluate,
  type Evaluation,
  PredictionError,
  type PredictionFailureKind,
  validatePredictions,
} from "./evaluate.ts";
export {
  DECAY_RATIO,
  type RecipeCheck,
  type RecipeCheckKind,
  type RecipeVerdict,
  type RoleRecord,
  runRecipeCheck,
} from "./rubric/recipe_checks.ts";
export {
  applyIntegrity,
  type ControlResult,
  type IntegrityFlag,
  type IntegrityFlagKind,
  integrityFlags,
  type IntegrityMeasures,
  type IntegrityRecord,
  integrityRecord,
  integrityStatus,
  retention,
} from "./rubric/integrity.ts";
export { type HiddenTest, HiddenTestError, loadHiddenTest } from "./hidden_test.ts";
export { type IntakeFinding, type IntakeFindingKind, intakeTests } from "./intake/findings.ts";
export type { FailureKind, SandboxFailure, SandboxLimits } from "./sandbox/mod.ts";
export type { FileRecord, Versions } from "./report/provenance.ts";
export { type LoadedGradeData, loadGradeData, type LoadGradeDataOptions } from "./grade_data.ts";
