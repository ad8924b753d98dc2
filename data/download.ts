/**
 * Downloading the official notMNIST archives: streamed to `<name>.part`,
 * resumed with an HTTP Range request, checked against Content-Length, the
 * known sizes and the official SHA-256 (hashed while the bytes are written, the
 * kept part of a resumed download first), then renamed atomically, so a half
 * or wrong file never sits under the final name.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";
import { archiveFileName, type ArchiveName, resolveDataDir } from "./paths.ts";

/** Where the official archives are served. */
export const OFFICIAL_BASE_URL = "https://commondatastorage.googleapis.com/books1000/";

/** Sizes in bytes of the official archives. */
export const KNOWN_SIZES: Record<ArchiveName, number> = {
  small: 8_458_043,
  large: 247_336_696,
};

/** SHA-256 digests (hex) of the official archives. */
export const OFFICIAL_SHA256: Record<ArchiveName, string> = {
  small: "76b2ef7ccc56452964780569db37b279c9cbe1bf442c3b38be784752683b3cec",
  large: "1e8261b75484b520dc76027f5c22af50fe608e3bb16277caec086eb928f9b61c",
};

/**
 * A note for an archive found under an official name whose SHA-256 is not the
 * official one (e.g. a faithful rebuild): such an archive is used as it is,
 * never rejected. `null` when it matches or is a folder (`sha256` null).
 */
export function digestNote(name: ArchiveName, sha256: string | null): string | null {
  if (sha256 === null || sha256 === OFFICIAL_SHA256[name]) return null;
  return `note: ${archiveFileName(name)} has SHA-256 ${sha256}, not the official ` +
    `${OFFICIAL_SHA256[name]}; it is used as it is (a rebuilt or modified copy)`;
}

/** Options of {@link downloadArchive}. */
export interface DownloadOptions {
  /** `small` or `large`. */
  name: ArchiveName;
  /** Destination folder (default {@link resolveDataDir}). */
  dataDir?: string;
  /** Base URL, ending in "/" (default {@link OFFICIAL_BASE_URL}); tests point it at a local server. */
  baseUrl?: string;
  /**
   * Expected size in bytes; `null` checks only Content-Length. Default: the
   * {@link KNOWN_SIZES} entry with the official URL, `null` with any other.
   */
  expectedSize?: number | null;
  /**
   * Expected SHA-256 (hex); `null` skips the check. Default: the
   * {@link OFFICIAL_SHA256} entry with the official URL, `null` with any other.
   */
  expectedSha256?: string | null;
  /** Show a progress line on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Log lines. */
  log?: (line: string) => void;
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await Deno.stat(path)).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}

/** Feeds the first `bytes` bytes of file `path` into `sha` (the kept part of a resumed download). */
async function hashFile(path: string, sha: Hash, bytes: number): Promise<void> {
  using f = await Deno.open(path);
  let left = bytes;
  const buf = new Uint8Array(1 << 20);
  while (left > 0) {
    const n = await f.read(buf.subarray(0, Math.min(buf.length, left)));
    if (n === null) break;
    sha.update(buf.subarray(0, n));
    left -= n;
  }
}

/**
 * Downloads `notMNIST_<name>.tar.gz` into the data folder and returns its path
 * (at once when it is already there: an existing archive is never rejected;
 * {@link digestNote} says when it is not the official one). An existing
 * `.part` is resumed with a Range request; a server that ignores the Range
 * starts it over. The SHA-256 is computed while the file is written (the kept
 * `.part` bytes of a resumed download are hashed first) and checked before the
 * rename. Errors name the URL and what went wrong (offline, HTTP status,
 * truncated, wrong size, wrong digest); a truncated download keeps its `.part`
 * for the next call to resume, and one with the wrong digest keeps its `.part`
 * (not renamed) for inspection.
 */
export async function downloadArchive(opts: DownloadOptions): Promise<string> {
  const log = opts.log ?? (() => {});
  const dataDir = resolveDataDir(opts.dataDir);
  const file = archiveFileName(opts.name);
  const base = opts.baseUrl ?? OFFICIAL_BASE_URL;
  const url = new URL(file, base.endsWith("/") ? base : base + "/").href;
  const expected = opts.expectedSize !== undefined
    ? opts.expectedSize
    : base === OFFICIAL_BASE_URL
    ? KNOWN_SIZES[opts.name]
    : null;
  const expectedSha = opts.expectedSha256 !== undefined
    ? opts.expectedSha256
    : base === OFFICIAL_BASE_URL
    ? OFFICIAL_SHA256[opts.name]
    : null;
  const dest = join(dataDir, file);
  if ((await sizeOf(dest)) !== null) return dest;
  await Deno.mkdir(dataDir, { recursive: true });
  const part = `${dest}.part`;
  const showProgress = opts.progress ?? Deno.stderr.isTerminal();
  // SHA-256 of the .part as written; null when the .part was complete before this call
  let sha: Hash | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    let have = (await sizeOf(part)) ?? 0;
    if (expected !== null && have > expected) {
      await Deno.remove(part);
      have = 0;
    }
    if (expected !== null && have === expected) break;
    const headers: HeadersInit = have > 0 ? { Range: `bytes=${have}-` } : {};
    let res: Response;
    try {
      res = await fetch(url, { headers });
    } catch (err) {
      throw new Error(
        `cannot download ${url}: ${(err as Error).message} (offline? you can also put ` +
          `${file} into ${dataDir} yourself)`,
      );
    }
    if (res.status === 416 && have > 0) {
      await res.body?.cancel();
      await Deno.remove(part);
      log(`${file}: server rejected the resume range; starting over`);
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new Error(`cannot download ${url}: HTTP ${res.status} ${res.statusText}`);
    }
    let start = 0;
    let total: number | null = null;
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
      if (!m || Number(m[1]) !== have) {
        await res.body?.cancel();
        await Deno.remove(part).catch(() => {});
        log(`${file}: unexpected Content-Range; starting over`);
        continue;
      }
      start = have;
      total = m[3] === "*" ? null : Number(m[3]);
      log(`${file}: resuming at byte ${have}`);
    } else {
      const len = res.headers.get("content-length");
      total = len === null ? null : Number(len);
    }
    if (expected !== null && total !== null && total !== expected) {
      await res.body?.cancel();
      await Deno.remove(part).catch(() => {});
      throw new Error(
        `${url}: wrong size: the server announces ${total} bytes, expected ${expected}`,
      );
    }
    sha = createHash("sha256");
    if (start > 0) await hashFile(part, sha, start);
    const out = await Deno.open(part, {
      write: true,
      create: true,
      append: start > 0,
      truncate: start === 0,
    });
    let got = start;
    let lastShown = 0;
    try {
      if (!res.body) throw new Error("empty response body");
      for await (const chunk of res.body) {
        let off = 0;
        while (off < chunk.byteLength) off += await out.write(chunk.subarray(off));
        sha.update(chunk);
        got += chunk.byteLength;
        if (showProgress && performance.now() - lastShown > 200) {
          lastShown = performance.now();
          const pct = total ? ` (${((100 * got) / total).toFixed(1)}%)` : "";
          Deno.stderr.writeSync(
            new TextEncoder().encode(`\r${file}: ${mb(got)} / ${total ? mb(total) : "?"} MB${pct}`),
          );
        }
      }
    } catch (err) {
      throw new Error(
        `download of ${url} interrupted after ${got}${total ? ` of ${total}` : ""} bytes ` +
          `(${(err as Error).message}); ${part} is kept: run again to resume`,
      );
    } finally {
      out.close();
      if (showProgress) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
    }
    if (total !== null && got !== total) {
      throw new Error(
        `download of ${url} truncated: got ${got} of ${total} bytes; ${part} is kept: run ` +
          `again to resume`,
      );
    }
    break;
  }
  const final = (await sizeOf(part)) ?? 0;
  if (expected !== null && final !== expected) {
    await Deno.remove(part).catch(() => {});
    throw new Error(`${url}: wrong size: downloaded ${final} bytes, expected ${expected}`);
  }
  if (expectedSha !== null) {
    if (sha === null) {
      sha = createHash("sha256");
      await hashFile(part, sha, final);
    }
    const digest = sha.digest("hex");
    if (digest !== expectedSha) {
      throw new Error(
        `${url}: SHA-256 mismatch: the ${final} bytes downloaded hash to ${digest}, expected ` +
          `${expectedSha}; ${part} is kept for inspection and not renamed (delete it to ` +
          `download again)`,
      );
    }
  }
  await Deno.rename(part, dest);
  log(
    `${file}: downloaded ${final} bytes to ${dest}` +
      (expectedSha !== null ? " (SHA-256 verified)" : ""),
  );
  return dest;
}
