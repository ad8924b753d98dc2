/**
 * What intake found in a submission before it ran (an import of another
 * student's folder, type errors), as graded tests shown beside the task's
 * own: a foreign import is a required failure (the module cannot load from
 * its staged copy anyway, and the message says why); type errors are a
 * visible message, and a required failure only when the rubric says so
 * (`Rubric.typeErrorsFail`).
 *
 * @module
 */
import type { TaskNumber } from "../rubric/rubric.ts";
import type { TestResult } from "../rubric/score.ts";

/** What intake checks. */
export type IntakeFindingKind = "foreign-import" | "type-errors";

/** One finding of intake about one task's module. */
export interface IntakeFinding {
  /** The task whose module (or a module it imports) has the problem. */
  task: TaskNumber;
  /** What was found. */
  kind: IntakeFindingKind;
  /** What the student and the teacher read. */
  message: string;
}

const TEST_NAMES: Record<IntakeFindingKind, string> = {
  "foreign-import": "imports only its own folder",
  "type-errors": "type-checks (deno check)",
};

/** The tests of `findings` (one per finding). */
export function intakeTests(
  findings: readonly IntakeFinding[],
  typeErrorsFail = false,
): TestResult[] {
  return findings.map((f) => {
    const required = f.kind === "foreign-import" || typeErrorsFail;
    return {
      task: f.task,
      name: `Task ${f.task}: ${TEST_NAMES[f.kind]}`,
      score: 0,
      maxScore: 0,
      passed: false,
      required,
      output: `${required ? "FAIL" : "WARNING"}: ${f.message}`,
    };
  });
}
