/**
 * Formats shared by the task reports and the grader's reports: percentages,
 * and a multi-line message as one line (for progress lines).
 *
 * @module
 */

/** Formats a fraction as a percentage with two decimals, e.g. `93.10%`; `n/a` when not finite. */
export function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : "n/a";
}

/**
 * `text` on one line: its lines trimmed and joined (after a line ending in `:`
 * with a space, otherwise with `; `), blank lines dropped, and cut to `max`
 * characters with an ellipsis when longer. A message whose first line only
 * announces the reason (`... does not load:`) keeps its reason.
 */
export function oneLine(text: string, max = 400): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  const joined = lines.reduce(
    (acc, line) => acc === "" ? line : `${acc}${acc.endsWith(":") ? " " : "; "}${line}`,
    "",
  );
  return joined.length <= max ? joined : `${joined.slice(0, Math.max(0, max - 1))}…`;
}
