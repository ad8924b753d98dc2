/**
 * Intake of a submission: a student's folder is hostile input, so it is read
 * once, here, copied (regular files only, within limits) into a folder the
 * grader owns, and hashed; only the copy is graded. Used by class grading and
 * the Gradescope autograder.
 *
 * @module
 */
import { join, relative } from "node:path";
import { createHash } from "node:crypto";
import { atomicWrite } from "../../utils/atomic_write.ts";
import { TASK_NUMBERS, type TaskNumber } from "../rubric/rubric.ts";

/** Limits on what is copied from a student's folder. */
export const SUBMISSION_LIMITS = { files: 200, bytes: 20 * 1024 * 1024, depth: 4 } as const;

/** One student's staged submission. */
export interface StagedSubmission {
  /** Folder holding the copy that is graded. */
  dir: string;
  /** Tasks with a `taskN.ts` in the copy. */
  tasks: TaskNumber[];
  /** SHA-256 over the sorted relative paths and contents of the copied files. */
  sha256: string;
  /** Copied files, relative, sorted. */
  files: string[];
  /** What was not copied and why (symlinks, oversized files, too deep). */
  skipped: string[];
}

/**
 * Copies the regular files of `src` into `dest` (no symlinks, at most
 * {@link SUBMISSION_LIMITS}), and hashes the copy. A student's folder is
 * hostile input: it is read once, here, and only the copy is graded and hashed.
 */
export async function stageSubmission(src: string, dest: string): Promise<StagedSubmission> {
  const files: { rel: string; bytes: Uint8Array }[] = [];
  const skipped: string[] = [];
  let total = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = (await Array.fromAsync(Deno.readDir(dir))).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    );
    for (const e of entries) {
      const path = join(dir, e.name);
      const rel = relative(src, path);
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      if (e.isSymlink) {
        skipped.push(`${rel}: symbolic link (not copied)`);
      } else if (e.isDirectory) {
        if (depth >= SUBMISSION_LIMITS.depth) skipped.push(`${rel}: deeper than the limit`);
        else await walk(path, depth + 1);
      } else if (e.isFile) {
        const info = await Deno.lstat(path);
        if (files.length >= SUBMISSION_LIMITS.files) {
          skipped.push(`${rel}: more than ${SUBMISSION_LIMITS.files} files`);
        } else if (total + info.size > SUBMISSION_LIMITS.bytes) {
          skipped.push(`${rel}: over the ${SUBMISSION_LIMITS.bytes}-byte submission limit`);
        } else {
          const bytes = await Deno.readFile(path);
          if (total + bytes.length > SUBMISSION_LIMITS.bytes) {
            // it grew after the size check
            skipped.push(`${rel}: over the ${SUBMISSION_LIMITS.bytes}-byte submission limit`);
          } else {
            total += bytes.length;
            files.push({ rel, bytes });
          }
        }
      }
    }
  };
  await walk(src, 0);
  const hash = createHash("sha256");
  for (const f of files) {
    hash.update(`${f.rel}\0${f.bytes.length}\0`);
    hash.update(f.bytes);
    await atomicWrite(join(dest, f.rel), f.bytes);
  }
  const tasks = TASK_NUMBERS.filter((t) => files.some((f) => f.rel === `task${t}.ts`));
  return {
    dir: dest,
    tasks,
    sha256: hash.digest("hex"),
    files: files.map((f) => f.rel),
    skipped,
  };
}
