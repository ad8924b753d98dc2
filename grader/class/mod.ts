/**
 * Grading a whole class: one folder per student (any of `task1.ts` ..
 * `task4.ts` plus local helpers), each staged, hashed and graded in the
 * sandbox, into a report folder per student, a gradebook (CSV and Markdown)
 * rebuilt atomically after every student, and a rerun that skips students
 * whose submission, rubric, settings and data are unchanged.
 * `deno task grade-class DIR` is the command line of the same code.
 *
 * ```ts ignore
 * import { loadGradeData } from "@notmnist/lab/grader";
 * import { gradeClass, gradebookCsv } from "@notmnist/lab/grader/class";
 *
 * const g = await loadGradeData({ protocol: "small" });
 * const result = await gradeClass({
 *   classDir: "class",
 *   outDir: "out/class",
 *   data: g.data,
 *   dataSha256: g.dataSha256,
 *   profile: "quick",
 *   projectRoot: ".",
 *   jobs: 2,
 * });
 * console.log(gradebookCsv(result.rows));
 * ```
 *
 * @module
 */
export {
  type ClassGradeOptions,
  type ClassProgress,
  type ClassResult,
  gradeClass,
  listStudents,
  sha256Json,
  STUDENT_NAME,
} from "./grade_class.ts";
export {
  classMarkdown,
  GRADEBOOK_COLUMNS,
  gradebookCsv,
  gradebookNumerics,
  type GradebookRow,
  numericsId,
  rowOf,
  type TaskStatus,
} from "./gradebook.ts";
export { type StagedSubmission, stageSubmission, SUBMISSION_LIMITS } from "../intake/stage.ts";
export {
  safeStudentName,
  type StudentFolder,
  studentFolders,
  StudentNameClashError,
} from "./student_names.ts";
export {
  type FileFingerprint,
  normalizeSource,
  type SimilarityGroup,
  similarityGroups,
} from "./similarity.ts";
export { nondeterministicTasks } from "./repeat_flags.ts";
