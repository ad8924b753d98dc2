/**
 * Which archive entries get a label: the root folder an archive's entries
 * must sit in, the letter folder of a path, and why a path is refused
 * (absolute, `..`, outside the root, nested, name over `NAME_MAX`).
 *
 * @module
 */
import { basename, resolve } from "node:path";
import { LETTERS } from "./types.ts";

/** Longest file name (last path part) of an image, in UTF-8 bytes: 255 (`NAME_MAX`). */
export const MAX_FILE_NAME_BYTES = 255;

/**
 * The class of an entry named `<root>/<letter>/<file>`: the index of the letter
 * folder (A..J), or `null` when the path does not have that shape (see
 * {@link entryPathProblem} for the reason).
 */
export function letterOf(path: string): number | null {
  const parts = path.replace(/^(\.\/)+/, "").split("/");
  if (parts.length !== 3) return null;
  const idx = (LETTERS as readonly string[]).indexOf(parts[1]);
  return idx >= 0 ? idx : null;
}

/**
 * Why the entry `path` of an archive whose root folder is `root` cannot be
 * labelled, or `null` when it sits directly in a letter folder:
 * `<root>/<A-J>/<file>` (a leading `./` is ignored). Absolute paths, paths
 * with `..`, paths outside `root`, paths with no letter folder and files
 * nested deeper are refused, so no entry gets a label from a path an
 * extractor would write elsewhere.
 */
export function entryPathProblem(path: string, root: string): string | null {
  const expected = `expected ${root}/<A-J>/<file>`;
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) return `control character in the path (${expected})`;
  if (/^([/\\]|[A-Za-z]:)/.test(path)) return `absolute path (${expected})`;
  const parts = path.replace(/^(\.\/)+/, "").split("/");
  if (parts.includes("..")) return `path contains ".." (${expected})`;
  if (parts[0] !== root) return `outside the archive's root folder ${root}/ (${expected})`;
  if (parts.length > 3) return `not directly in a letter folder (${expected})`;
  if (parts.length < 3 || letterOf(path) === null) {
    return `no class folder (A..J) in its path (${expected})`;
  }
  if (parts[2] === "" || parts[2] === ".") return `no file name (${expected})`;
  const bytes = new TextEncoder().encode(parts[2]).length;
  if (bytes > MAX_FILE_NAME_BYTES) {
    return `file name of ${bytes} bytes, over the ${MAX_FILE_NAME_BYTES} allowed (NAME_MAX)`;
  }
  return null;
}

/**
 * The root folder an archive's entries must sit in: the archive's name
 * without `.tar.gz` / `.tgz` (`notMNIST_small.tar.gz` -> `notMNIST_small`), or
 * the folder's own name.
 */
export function archiveRoot(path: string): string {
  return basename(resolve(path)).replace(/\.(tar\.gz|tgz)$/, "");
}
