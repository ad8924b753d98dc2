/**
 * Where the data and the decoded cache live, and which archives a data folder
 * holds.
 *
 * @module
 */
import { join, resolve } from "node:path";

/** The archives of the notMNIST dataset. */
export type ArchiveName = "small" | "large";

/** Per-user cache folder: `$XDG_CACHE_HOME/notmnist-lab`, else `~/.cache/notmnist-lab`. */
export function userCacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "notmnist-lab");
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (home) return join(home, ".cache", "notmnist-lab");
  const local = Deno.env.get("LOCALAPPDATA");
  if (local) return join(local, "notmnist-lab");
  throw new Error("cannot find a per-user cache folder: set NOTMNIST_DIR or pass --data-dir");
}

/**
 * The data folder: `flag` (from `--data-dir`) if given, else env `NOTMNIST_DIR`,
 * else the per-user cache folder ({@link userCacheDir}).
 */
export function resolveDataDir(flag?: string): string {
  if (flag) return resolve(flag);
  const env = Deno.env.get("NOTMNIST_DIR");
  if (env) return resolve(env);
  return userCacheDir();
}

/**
 * Whether the permission bits of `st` grant nobody write access: such a folder
 * is treated as read-only, even for root (who could write to it anyway).
 */
export function readOnlyByMode(st: Deno.FileInfo): boolean {
  return st.mode !== null && (st.mode & 0o222) === 0;
}

/**
 * Whether `parent/name` can be used for writing. A folder whose permission bits
 * grant nobody write access counts as read-only even for root (who could write
 * anyway), so a shared read-only data folder is never written to.
 */
async function writableChild(parent: string, name: string): Promise<boolean> {
  try {
    const st = await Deno.stat(parent);
    if (!st.isDirectory || readOnlyByMode(st)) return false;
    const dir = join(parent, name);
    await Deno.mkdir(dir, { recursive: true });
    const sub = await Deno.stat(dir);
    if (readOnlyByMode(sub)) return false;
    const probe = join(dir, `.probe.${Deno.pid}.${crypto.randomUUID()}`);
    await Deno.writeFile(probe, new Uint8Array(1));
    await Deno.remove(probe);
    return true;
  } catch {
    return false;
  }
}

/**
 * The folder for decoded caches: `flag` if given, else env `NOTMNIST_CACHE`, else
 * `<dataDir>/.cache` when the data folder is writable (it may be read-only, and
 * one without write permission bits is treated as read-only even for root),
 * else `<per-user cache folder>/cache`.
 */
export async function resolveCacheDir(dataDir: string, flag?: string): Promise<string> {
  if (flag) return resolve(flag);
  const env = Deno.env.get("NOTMNIST_CACHE");
  if (env) return resolve(env);
  if (await writableChild(dataDir, ".cache")) return join(dataDir, ".cache");
  return join(userCacheDir(), "cache");
}

/** File name of an official archive, e.g. `notMNIST_small.tar.gz`. */
export function archiveFileName(name: ArchiveName): string {
  return `notMNIST_${name}.tar.gz`;
}

async function exists(path: string, kind: "file" | "dir"): Promise<boolean> {
  try {
    const st = await Deno.stat(path);
    return kind === "file" ? st.isFile : st.isDirectory;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Finds archive `name` in `dataDir`: `notMNIST_<name>.tar.gz` if present, else an
 * extracted folder `notMNIST_<name>/`; `null` when neither exists.
 */
export async function findArchive(dataDir: string, name: ArchiveName): Promise<string | null> {
  const tgz = join(dataDir, archiveFileName(name));
  if (await exists(tgz, "file")) return tgz;
  const dir = join(dataDir, `notMNIST_${name}`);
  if (await exists(dir, "dir")) return dir;
  return null;
}
