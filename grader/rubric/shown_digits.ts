/**
 * Accuracies shown beside the levels they are graded against, with enough
 * digits that the shown number explains the points: 0.88995 against a
 * full-credit level of 0.89 shows as "88.995%", not "89.00%" (which would
 * seem to earn full credit while it earns 24.99 of 25).
 *
 * @module
 */

/** Most decimals of a percentage {@link pctExplaining} shows. */
export const MAX_PERCENT_DECIMALS = 6;

/**
 * `x` as a percentage with 2 decimals, or more (up to
 * {@link MAX_PERCENT_DECIMALS}) until it differs from every level in `levels`
 * that `x` is not exactly equal to.
 */
export function pctExplaining(x: number, levels: readonly number[]): string {
  if (!Number.isFinite(x)) return `${x}`;
  for (let d = 2; d < MAX_PERCENT_DECIMALS; d++) {
    const shown = (x * 100).toFixed(d);
    if (levels.every((l) => l === x || (l * 100).toFixed(d) !== shown)) return `${shown}%`;
  }
  return `${(x * 100).toFixed(MAX_PERCENT_DECIMALS)}%`;
}
