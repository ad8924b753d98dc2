/**
 * Student folder names and the names the grader uses for them. A folder
 * whose name is not a safe one (`Mary Smith`, `josé`, a name with escape
 * sequences) is still graded: under a safe name derived from it (ASCII, no
 * spaces, a short hash of the raw name so two folders never share one), with
 * the raw name kept, escaped, beside it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { printable } from "../../utils/printable.ts";

/** Names a student folder may have as they are (they become folder names and CSV cells). */
export const STUDENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/;

/** A student folder of the class and the name the grader uses for it. */
export interface StudentFolder {
  /** The folder's name as found (raw). */
  folder: string;
  /** The safe name: rows, output folders, reports (matches {@link STUDENT_NAME}). */
  name: string;
}

/**
 * The safe name of a folder: the name itself when it matches
 * {@link STUDENT_NAME}; else its letters without accents, every other
 * character `_`, then `-` and 8 hex digits of the raw name's SHA-256.
 */
export function safeStudentName(folder: string): string {
  if (STUDENT_NAME.test(folder)) return folder;
  const base = folder.normalize("NFD").replace(/\p{M}/gu, "").replace(/[^A-Za-z0-9._@+-]+/g, "_")
    .replace(/^[^A-Za-z0-9]+/, "").slice(0, 60);
  const hash = createHash("sha256").update(folder).digest("hex").slice(0, 8);
  return `${base || "student"}-${hash}`;
}

/** Thrown when two folders of a class get the same safe name. */
export class StudentNameClashError extends Error {
  /** The folders (raw names) that clash. */
  readonly folders: string[];
  /** `folders` (raw names) would all be graded as `name`. */
  constructor(folders: string[], name: string) {
    super(
      `student folders ${
        folders.map((f) => `"${printable(f)}"`).join(" and ")
      } would both be graded as "${name}"; rename one`,
    );
    this.name = "StudentNameClashError";
    this.folders = folders;
  }
}

/** Safe names for the folders, sorted by safe name; throws {@link StudentNameClashError} on a clash. */
export function studentFolders(folders: string[]): StudentFolder[] {
  const byName = new Map<string, string>();
  for (const folder of folders) {
    const name = safeStudentName(folder);
    const other = byName.get(name);
    if (other !== undefined) throw new StudentNameClashError([other, folder], name);
    byName.set(name, folder);
  }
  return [...byName.entries()].map(([name, folder]) => ({ folder, name }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}
