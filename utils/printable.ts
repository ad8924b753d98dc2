/**
 * Text from outside (a folder name, a file name) made safe to print on a
 * terminal or in a log: one home for escaping what could move the cursor,
 * recolour the screen or reorder the text.
 *
 * @module
 */

/**
 * `text` with every control or format character (escape sequences, bidi
 * overrides, line separators), every backslash and every lone surrogate
 * written as a `\u{...}` escape; the rest unchanged.
 */
export function printable(text: string): string {
  return text.replace(
    /[\p{Cc}\p{Cf}\u2028\u2029\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
}
