/**
 * Escaping text for Markdown reports (summary.md, class.md): one home for
 * every string that comes from a submission (printed output, error messages,
 * model and backend names, file names) on its way into Markdown.
 *
 * @module
 */

// Control and format characters (terminal escapes, bidi overrides), line and paragraph separators.
const INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/**
 * `text` as inline Markdown that renders as exactly that text on one line:
 * newlines become spaces, control characters are dropped, Markdown syntax is
 * backslash-escaped and `&`, `<`, `>` become entities (no HTML, links,
 * images, headings, emphasis or table cells can come out of it).
 */
export function mdText(text: string): string {
  return text
    .replace(/\r\n|[\r\n\u2028\u2029]/g, " ")
    .replace(INVISIBLE, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[\\`*_[\]|!#~{}]/g, "\\$&");
}

/**
 * A fenced code block holding `text` verbatim: the fence is longer than any
 * run of backticks in it, so nothing in `text` can close it; control
 * characters but tab and newline are dropped.
 */
export function mdCodeBlock(text: string): string[] {
  const clean = text.replace(/\r\n?/g, "\n").replace(/[\u2028\u2029]/g, "\n")
    .replace(INVISIBLE, (c) => (c === "\n" || c === "\t" ? c : ""));
  const longest = Math.max(0, ...[...clean.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return [fence, clean, fence];
}

/**
 * `text` as an inline code span on one line: the backtick run around it is
 * longer than any inside it; newlines become spaces, control characters are
 * dropped.
 */
export function mdCodeSpan(text: string): string {
  const clean = text.replace(/\r\n|[\r\n\u2028\u2029]/g, " ").replace(INVISIBLE, "");
  const longest = Math.max(0, ...[...clean.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return longest > 0 ? `${ticks} ${clean} ${ticks}` : `${ticks}${clean}${ticks}`;
}

/** A relative path as a Markdown link target: each segment percent-encoded (no scheme can form). */
export function mdPath(path: string): string {
  return path.split("/").map((s) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)
  ).join("/");
}
