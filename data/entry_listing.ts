/**
 * How entry names appear in the skipped-file listings: cut to
 * {@link LISTED_NAME_CHARS}, so that an archive of long names (up to 4 KiB
 * each, 100,000 of them) cannot make a listing, a cache manifest or a report
 * grow with what it declares.
 *
 * @module
 */

/** Longest name shown whole in a listing; longer ones keep this many characters. */
export const LISTED_NAME_CHARS = 160;

/** `name`, or its first {@link LISTED_NAME_CHARS} characters and how many more there were. */
export function listedName(name: string): string {
  if (name.length <= LISTED_NAME_CHARS) return name;
  return `${name.slice(0, LISTED_NAME_CHARS)}... (${
    name.length - LISTED_NAME_CHARS
  } more characters)`;
}
