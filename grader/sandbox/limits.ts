/**
 * The parent's fences around a child: its resident memory (watched from
 * `/proc/<pid>/status`), the size of its output folder, and the clean-up of
 * what a stopped run leaves (emptied folder, no links or special files).
 *
 * @module
 */
import { join, relative } from "node:path";
import type { FailureKind } from "./protocol.ts";
import { forEachLine } from "./lines.ts";

/** Bytes in a MiB. */
export const MIB = 1024 * 1024;

/** Parses the `VmRSS` line of `/proc/<pid>/status` (KiB). */
export function parseVmRss(line: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(line);
  return m ? Number(m[1]) : undefined;
}

/**
 * Watches the resident memory of process `pid` every `intervalMs`, calling
 * `onKb` with each reading (KiB). Deno reads `/proc/<pid>` only with
 * `--allow-all`, so a small shell loop (needs run permission) reads it and
 * streams the `VmRSS` lines. Returns a stopper; a missing shell means no
 * readings (`onKb` is never called).
 */
export function watchRss(
  pid: number,
  onKb: (kb: number) => void,
  intervalMs = 100,
): { stop: () => Promise<void> } {
  let proc: Deno.ChildProcess;
  try {
    proc = new Deno.Command("sh", {
      args: [
        "-c",
        'while [ -r "/proc/$1/status" ]; do grep "^VmRSS:" "/proc/$1/status" || exit 0; ' +
        'sleep "$2"; done',
        "rss-watch",
        String(pid),
        String(intervalMs / 1000),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch {
    return { stop: () => Promise.resolve() };
  }
  const reading = forEachLine(proc.stdout, (line) => {
    const kb = parseVmRss(line);
    if (kb !== undefined) onKb(kb);
  }, () => true).catch(() => {});
  return {
    stop: async () => {
      try {
        proc.kill("SIGKILL");
      } catch {
        // already gone
      }
      await proc.status.catch(() => {});
      await reading;
    },
  };
}

/** Size and oddities of a folder tree, without following links. */
export interface FolderUsage {
  /** Bytes of regular files. */
  bytes: number;
  /** Entries seen. */
  entries: number;
  /** Paths of symbolic links and special files (neither file nor folder). */
  odd: string[];
}

/** Walks `dir` with `lstat` (links are never followed); stops counting past `maxEntries`. */
export async function folderUsage(dir: string, maxEntries = 100_000): Promise<FolderUsage> {
  const usage: FolderUsage = { bytes: 0, entries: 0, odd: [] };
  const stack = [dir];
  while (stack.length > 0 && usage.entries <= maxEntries) {
    const d = stack.pop()!;
    let list: Deno.DirEntry[];
    try {
      list = await Array.fromAsync(Deno.readDir(d));
    } catch {
      continue;
    }
    for (const e of list) {
      usage.entries++;
      const p = join(d, e.name);
      if (e.isSymlink) usage.odd.push(p);
      else if (e.isDirectory) stack.push(p);
      else if (e.isFile) {
        try {
          usage.bytes += (await Deno.lstat(p)).size;
        } catch {
          // removed meanwhile
        }
      } else usage.odd.push(p);
    }
  }
  return usage;
}

export async function emptyFolder(dir: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(dir)) {
      await Deno.remove(join(dir, e.name), { recursive: true }).catch(() => {});
    }
  } catch {
    // gone already
  }
}

/** Failure kinds of the parent's caps: such a run's output folder is emptied. */
export const LIMIT_KINDS: readonly FailureKind[] = ["memory", "output", "log"];

/** Removes symbolic links and special files from `dir` (nothing but files and folders stays). */
export async function removeOdd(dir: string, logLines: string[]): Promise<void> {
  const usage = await folderUsage(dir);
  for (const p of usage.odd) {
    await Deno.remove(p).catch(() => {});
    logLines.push(
      `grader: removed ${relative(dir, p)} from the output folder (not a file or folder)`,
    );
  }
}
