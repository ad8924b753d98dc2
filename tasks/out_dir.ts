/**
 * A task run's output folder, whole or not at all: the run writes into a
 * fresh staging folder beside `--out` and, once everything is written,
 * replaces the folder with it. A re-run therefore never mixes its files with
 * a previous run's (an old model, a picture of a role that no longer exists),
 * and a failed or killed run leaves the previous output as it was. `--out`
 * must be new, empty, or a previous task run's folder (it holds
 * `result.json`): a folder of other files is never replaced.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

/** The file that marks a folder as a task run's output. */
export const RESULT_FILE = "result.json";

/** `--out` names something a task run must not replace. */
export class OutDirError extends Error {
  /** The `--out` path. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = "OutDirError";
    this.path = path;
  }
}

async function entries(path: string): Promise<string[] | null> {
  try {
    return (await Array.fromAsync(Deno.readDir(path))).map((e) => e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    if (err instanceof Deno.errors.NotADirectory) {
      throw new OutDirError(path, `--out ${path} is a file, expected a folder`);
    }
    throw err;
  }
}

/** A name beside `outDir` for the staging or the old folder. */
function sibling(outDir: string, what: string): string {
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return join(dirname(outDir), `.${basename(outDir)}.${what}-${Deno.pid}-${rand}`);
}

/**
 * Checks `outDir` (throws {@link OutDirError} when it holds files but no
 * `result.json`), removes killed runs' leftovers ({@link removeLeftovers})
 * and creates the fresh staging folder the run writes into.
 */
export async function stageOutDir(outDir: string): Promise<string> {
  const present = await entries(outDir);
  if (present !== null && present.length > 0 && !present.includes(RESULT_FILE)) {
    throw new OutDirError(
      outDir,
      `--out ${outDir} holds files but no ${RESULT_FILE}, so it is not a task run's output ` +
        `folder: choose a new or empty folder (a task run replaces its folder whole)`,
    );
  }
  await removeLeftovers(outDir);
  const staging = sibling(outDir, "partial");
  await Deno.mkdir(staging, { recursive: true });
  return staging;
}

/** Replaces `outDir` by the finished `staging` folder (the previous output is removed). */
export async function commitOutDir(staging: string, outDir: string): Promise<void> {
  const old = (await entries(outDir)) === null ? null : sibling(outDir, "old");
  if (old) await Deno.rename(outDir, old);
  try {
    await Deno.rename(staging, outDir);
  } catch (err) {
    if (old) await Deno.rename(old, outDir).catch(() => {});
    throw err;
  }
  if (old) await Deno.remove(old, { recursive: true });
}

/** The output folder of task `id` when `--out` is not given. */
export function defaultOutDir(id: number): string {
  return join("out", `task${id}`);
}

/**
 * Removes what killed runs left beside `outDir`: their staging folders (a run
 * killed mid-way, e.g. by Ctrl-C, which stops a training step at once rather
 * than at the next epoch) and an old folder of a run killed while swapping.
 * Two runs into the same `--out` at the same time are not supported (the
 * later one removes the earlier one's staging folder, which then fails).
 */
export async function removeLeftovers(outDir: string): Promise<string[]> {
  const parent = dirname(outDir);
  const prefixes = ["partial", "old"].map((what) => `.${basename(outDir)}.${what}-`);
  const removed: string[] = [];
  for (const name of (await entries(parent)) ?? []) {
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    await Deno.remove(join(parent, name), { recursive: true });
    removed.push(join(parent, name));
  }
  return removed;
}

/** Removes an unfinished staging folder (a failed run leaves nothing half-written). */
export async function discardOutDir(staging: string): Promise<void> {
  await Deno.remove(staging, { recursive: true }).catch(() => {});
}
