/**
 * Downloading the official notMNIST archives: streamed to `<name>.part`,
 * resumed with an HTTP Range request, checked against Content-Length and the
 * known sizes, then renamed atomically, so a half file never sits under the
 * final name.
 *
 * @module
 */
import { join } from "node:path";
import { archiveFileName, type ArchiveName, resolveDataDir } from "./paths.ts";

/** Where the official archives are served. */
export const OFFICIAL_BASE_URL = "https://commondatastorage.googleapis.com/books1000/";

/** Sizes in bytes of the official archives. */
export const KNOWN_SIZES: Record<ArchiveName, number> = {
  small: 8_458_043,
  large: 247_336_696,
};

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

/**
 * Downloads `notMNIST_<name>.tar.gz` into the data folder and returns its path
 * (at once when it is already there). An existing `.part` is resumed with a
 * Range request; a server that ignores the Range starts it over. Errors name the
 * URL and what went wrong (offline, HTTP status, truncated, wrong size); a
 * truncated download keeps its `.part` for the next call to resume.
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
  const dest = join(dataDir, file);
  if ((await sizeOf(dest)) !== null) return dest;
  await Deno.mkdir(dataDir, { recursive: true });
  const part = `${dest}.part`;
  const showProgress = opts.progress ?? Deno.stderr.isTerminal();
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
  await Deno.rename(part, dest);
  log(`${file}: downloaded ${final} bytes to ${dest}`);
  return dest;
}
