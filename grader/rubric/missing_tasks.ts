/**
 * Tasks a grade did not cover: a report's total is always out of the whole
 * rubric, so every rubric task that was not graded is named and earns a
 * failed, required test worth the task's points (0 earned), and no report
 * without every task is a PASS.
 *
 * @module
 */
import { type Rubric, type TaskNumber, taskPoints } from "./rubric.ts";
import type { TestResult } from "./score.ts";

/** The rubric's tasks not among `graded`, in order. */
export function missingTaskNumbers(
  rubric: Rubric,
  graded: readonly { task: TaskNumber }[],
): TaskNumber[] {
  const seen = new Set(graded.map((t) => t.task));
  return rubric.tasks.map((t) => t.task).filter((t) => !seen.has(t));
}

/** One failed test per missing task, worth the task's points. */
export function missingTaskTests(rubric: Rubric, missing: readonly TaskNumber[]): TestResult[] {
  return missing.map((task) => {
    const r = rubric.tasks.find((t) => t.task === task);
    return {
      task,
      name: `Task ${task}: submitted and graded`,
      score: 0,
      maxScore: r ? taskPoints(r) : 0,
      passed: false,
      required: true,
      output: `MISSING: task ${task} was not graded in this run (no task${task}.ts submitted, ` +
        `or not selected): 0 points`,
    };
  });
}
