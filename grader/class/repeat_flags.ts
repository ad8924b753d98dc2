/**
 * Nondeterministic students: with `grade-class --repeat N`, every task runs N
 * times; a task whose predictions (their digests) or success differ between
 * the runs is flagged - a student seeding from the clock gets a different
 * grade on every run.
 *
 * @module
 */
import type { GradeReport } from "../report/types.ts";
import type { TaskNumber } from "../rubric/rubric.ts";

/** The tasks of `report` whose repeated runs disagree (none when each ran once). */
export function nondeterministicTasks(report: GradeReport): TaskNumber[] {
  const out: TaskNumber[] = [];
  for (const t of report.tasks) {
    const [first, ...rest] = t.runs;
    if (!first) continue;
    const key = (r: typeof first) => JSON.stringify([Boolean(r.error), r.digests]);
    if (rest.some((r) => key(r) !== key(first))) out.push(t.task as TaskNumber);
  }
  return out;
}
