/**
 * Number formats shared by the task reports and the grader's reports.
 *
 * @module
 */

/** Formats a fraction as a percentage with two decimals, e.g. `93.10%`; `n/a` when not finite. */
export function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : "n/a";
}
