/**
 * A total time budget split across tasks: each task's time limit is the
 * smaller of its own (the rubric's, scaled) and its share of the time left,
 * shared in proportion to the own limits of the tasks not run yet. Gradescope
 * kills a whole run at its limit; with this split every task that starts has
 * time to finish inside it.
 *
 * @module
 */

/** The shortest limit a task is given, seconds (a task always gets a chance to fail cleanly). */
export const MIN_TASK_SECONDS = 1;

/**
 * The time limit of the next task, seconds: `min(own, left * own / ownLeft)`,
 * where `ownLeft` is the sum of the own limits of this task and every task
 * after it. Pure.
 */
export function taskTimeShare(own: number, ownLeft: number, leftSeconds: number): number {
  if (!(ownLeft > 0)) return own;
  const share = Math.max(0, leftSeconds) * own / ownLeft;
  return Math.max(MIN_TASK_SECONDS, Math.min(own, Math.floor(share * 10) / 10));
}
