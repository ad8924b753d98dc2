/**
 * ZIP archives (the Gradescope autograder bundle). This seam wraps the npm
 * package `fflate`; switching to another zip library is a change to this file
 * alone.
 *
 * ```ts
 * import { unzipFiles, zipFiles } from "./zip.ts";
 *
 * const zip = zipFiles([{ path: "run.sh", bytes: new TextEncoder().encode("echo hi\n"), mode: 0o755 }]);
 * console.log(Object.keys(unzipFiles(zip))); // ["run.sh"]
 * ```
 *
 * @module
 */
import { unzipSync, type Zippable, zipSync } from "fflate";

/** One file to put into an archive. */
export interface ZipEntry {
  /** Path inside the archive, `/`-separated, relative. */
  path: string;
  /** Contents. */
  bytes: Uint8Array;
  /** Unix permission bits (default 0o644). */
  mode?: number;
}

/** The fixed time stamp of every entry, so equal inputs give equal archives. */
export const ZIP_MTIME: Date = new Date(2020, 0, 1, 0, 0, 0);

/**
 * Builds a deflated ZIP of `entries` (Unix permissions kept, fixed time
 * stamps). Throws naming the entry on an absolute path, `..` or a duplicate.
 */
export function zipFiles(entries: ZipEntry[]): Uint8Array {
  const tree: Zippable = {};
  for (const e of entries) {
    if (e.path.startsWith("/") || e.path.split("/").includes("..") || e.path === "") {
      throw new Error(`zip entry "${e.path}": expected a relative path without ".."`);
    }
    if (e.path in tree) throw new Error(`zip entry "${e.path}" given twice`);
    tree[e.path] = [e.bytes, {
      level: 6,
      mtime: ZIP_MTIME,
      os: 3,
      attrs: ((e.mode ?? 0o644) | 0o100000) << 16,
    }];
  }
  return zipSync(tree);
}

/** Reads every file of a ZIP archive (path to contents). */
export function unzipFiles(zip: Uint8Array): Record<string, Uint8Array> {
  return unzipSync(zip);
}

/**
 * The Unix permission bits of every entry, read from the archive's central
 * directory (what `unzip` applies on extraction).
 */
export function zipModes(zip: Uint8Array): Record<string, number> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  // The end-of-central-directory record: the last 0x06054b50 within 22 + 65535 bytes of the end.
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error("not a ZIP archive: no end-of-central-directory record");
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const modes: Record<string, number> = {};
  const decoder = new TextDecoder();
  for (let k = 0; k < count; k++) {
    if (view.getUint32(at, true) !== 0x02014b50) {
      throw new Error(`corrupt ZIP central directory at byte ${at}`);
    }
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const name = decoder.decode(zip.subarray(at + 46, at + 46 + nameLength));
    modes[name] = (view.getUint32(at + 38, true) >>> 16) & 0o7777;
    at += 46 + nameLength + extraLength + commentLength;
  }
  return modes;
}
