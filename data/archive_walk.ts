/**
 * Walking one notMNIST source, a `.tar.gz` or an extracted folder: its
 * identity (size, mtime, file count) and its files in order, each with its
 * bytes or why they were not read (links, devices, FIFOs, entries over
 * {@link MAX_ENTRY_BYTES}, unusable tar headers).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { gunzipFile } from "../deps/gzip.ts";
import { tarEntries, type TarFileEntry } from "../deps/tar_reader.ts";
import { listedName } from "./entry_listing.ts";
import type { ArchiveSource } from "./types.ts";

/**
 * Largest entry read from an archive: 1 MiB (a notMNIST image is under 2 KiB).
 * Larger entries are skipped with their declared size, drained unread.
 */
export const MAX_ENTRY_BYTES = 1 << 20;

/** One non-directory entry: its bytes, or why they were not read. */
export interface RawFile {
  name: string;
  bytes: Uint8Array;
  /** Why the entry is skipped before decoding (a link, a device, too large), else null. */
  skip: string | null;
  /** Why its tar headers cannot be used (e.g. a name over 4 KiB): skipped before its path is read. */
  header?: string | null;
}

function mib(n: number): string {
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

function oversizedReason(size: number): string {
  return `declared size ${size} bytes (${mib(size)}), over the ${mib(MAX_ENTRY_BYTES)} ` +
    `allowed for one image; drained unread`;
}

/** Why a tar entry that is not a readable regular file is skipped, else null. */
function tarSkipReason(e: TarFileEntry): string | null {
  switch (e.type) {
    case "file":
      return e.oversized ? oversizedReason(e.size) : null;
    case "symlink":
      return `symbolic link to ${listedName(e.linkName)} (links are not followed)`;
    case "link":
      return `hard link to ${listedName(e.linkName)} (links are not followed)`;
    case "character-device":
      return "character device (not a regular file)";
    case "block-device":
      return "block device (not a regular file)";
    case "fifo":
      return "FIFO (not a regular file)";
    default:
      return `tar entry of type '${e.typeFlag}' (not a regular file)`;
  }
}

/**
 * The identity of the archive `path`: size and mtime of a `.tar.gz`, or the
 * file count and newest folder mtime of an extracted folder.
 */
export async function statSource(path: string): Promise<ArchiveSource> {
  const abs = resolve(path);
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(abs);
  } catch (err) {
    throw new Error(`notMNIST archive ${abs} cannot be read: ${(err as Error).message}`);
  }
  if (st.isFile) {
    if (!abs.endsWith(".tar.gz") && !abs.endsWith(".tgz")) {
      throw new Error(`notMNIST archive ${abs}: expected a .tar.gz file or an extracted folder`);
    }
    return {
      path: abs,
      kind: "tar.gz",
      bytes: st.size,
      mtimeMs: st.mtime?.getTime() ?? 0,
      files: 0,
      sha256: null,
    };
  }
  let files = 0;
  const bytes = 0;
  let mtimeMs = st.mtime?.getTime() ?? 0;
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) {
        const ds = await Deno.stat(p);
        mtimeMs = Math.max(mtimeMs, ds.mtime?.getTime() ?? 0);
        await walk(p);
      } else {
        files++; // regular files, links, devices, FIFOs: as counted when decoding
      }
    }
  };
  await walk(abs);
  // Folder identity: file count and folder mtimes (adding/removing files changes them);
  // total bytes would need one stat per file, so it is not part of the identity.
  return { path: abs, kind: "folder", bytes, mtimeMs, files, sha256: null };
}

/** Reads a regular file of at most {@link MAX_ENTRY_BYTES}; larger ones are not read. */
async function readLimited(p: string): Promise<{ bytes: Uint8Array; skip: string | null }> {
  using f = await Deno.open(p);
  const size = (await f.stat()).size;
  if (size > MAX_ENTRY_BYTES) return { bytes: new Uint8Array(0), skip: oversizedReason(size) };
  const buf = new Uint8Array(size);
  let o = 0;
  while (o < size) {
    const n = await f.read(buf.subarray(o));
    if (n === null) break;
    o += n;
  }
  return { bytes: buf.subarray(0, o), skip: null };
}

/** Why a folder entry that is not a regular file is skipped (links are not followed). */
async function folderSkipReason(p: string): Promise<string> {
  const st = await Deno.lstat(p);
  if (st.isSymlink) {
    const target = await Deno.readLink(p).catch(() => "?");
    return `symbolic link to ${listedName(target)} (links are not followed)`;
  }
  if (st.isCharDevice) return "character device (not a regular file)";
  if (st.isBlockDevice) return "block device (not a regular file)";
  if (st.isFifo) return "FIFO (not a regular file)";
  if (st.isSocket) return "socket (not a regular file)";
  return "not a regular file";
}

/** The files under the extracted folder `root`, in name order, read a window of 64 ahead. */
export async function* folderFiles(root: string): AsyncGenerator<RawFile> {
  const base = dirname(root);
  const walk = async function* (dir: string): AsyncGenerator<Deno.DirEntry & { path: string }> {
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(dir)) entries.push(e);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory) yield* walk(p);
      else yield { ...e, path: p };
    }
  };
  const window: Promise<RawFile>[] = [];
  const read = async (e: Deno.DirEntry & { path: string }): Promise<RawFile> => {
    const name = relative(base, e.path).split("\\").join("/");
    try {
      if (!e.isFile) {
        return { name, bytes: new Uint8Array(0), skip: await folderSkipReason(e.path) };
      }
      return { name, ...(await readLimited(e.path)) };
    } catch (err) {
      // e.g. a name that is not UTF-8: Deno lists it with U+FFFD and cannot open it by that name
      const why = name.includes("\ufffd") ? "; its name is not valid UTF-8" : "";
      return {
        name,
        bytes: new Uint8Array(0),
        skip: `cannot be opened${why} (${(err as Error).name})`,
      };
    }
  };
  for await (const e of walk(root)) {
    window.push(read(e));
    if (window.length >= 64) yield await window.shift()!;
  }
  while (window.length > 0) yield await window.shift()!;
}

/**
 * The non-directory entries of the `.tar.gz` at `path`, bodies over
 * {@link MAX_ENTRY_BYTES} drained unread; `onDigest` gets the SHA-256 of the
 * compressed file once it has been read to the end.
 */
export async function* tarGzFiles(
  path: string,
  onDigest: (hex: string) => void,
): AsyncGenerator<RawFile> {
  const file = await Deno.open(path);
  const sha = createHash("sha256");
  const tar = gunzipFile(file, (chunk) => sha.update(chunk));
  try {
    for await (const e of tarEntries(tar, { maxBodyBytes: MAX_ENTRY_BYTES })) {
      if (e.problem !== null) yield { name: e.name, bytes: e.bytes, skip: null, header: e.problem };
      else if (e.type !== "directory") {
        yield { name: e.name, bytes: e.bytes, skip: tarSkipReason(e) };
      }
    }
  } catch (err) {
    throw new Error(`${path}: not a readable .tar.gz (${(err as Error).message})`);
  }
  onDigest(sha.digest("hex"));
}
