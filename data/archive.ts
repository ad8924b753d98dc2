/**
 * Reading one notMNIST archive (a `.tar.gz` or an extracted folder) into an
 * {@link ImageSet}, with a decoded cache that is reloaded while the source is
 * unchanged.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, dirname, join, relative, resolve } from "node:path";
import { tarEntries } from "../deps/tar.ts";
import { DecodePool } from "./decode_pool.ts";
import type { DecodedBatch, RawBatch } from "./decode_batch.ts";
import { readCache, writeCache } from "./cache.ts";
import {
  type ArchiveSource,
  type DecodedArchive,
  type ImageSet,
  type Letter,
  LETTERS,
  PIXELS,
  type SkippedFile,
} from "./types.ts";

export type { ArchiveSource, DecodedArchive, SkippedFile };

/** Options of {@link loadArchive}. */
export interface LoadArchiveOptions {
  /** Folder for the decoded cache; `null` disables caching. Default: no cache. */
  cacheDir?: string | null;
  /** Decode workers; 0 decodes on the calling thread. Default: {@link defaultWorkers}. */
  workers?: number;
  /** Ignore an existing cache and decode again. */
  refresh?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** The class of a file: the nearest enclosing folder named A..J, or `null`. */
export function letterOf(path: string): number | null {
  const parts = path.split("/");
  for (let i = parts.length - 2; i >= 0; i--) {
    const idx = (LETTERS as readonly string[]).indexOf(parts[i]);
    if (idx >= 0) return idx;
  }
  return null;
}

/** A fresh per-letter counter, all zeros. */
export function letterCounts(): Record<Letter, number> {
  return Object.fromEntries(LETTERS.map((l) => [l, 0])) as Record<Letter, number>;
}

interface RawFile {
  name: string;
  bytes: Uint8Array;
}

async function statSource(path: string): Promise<ArchiveSource> {
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
      } else if (e.isFile) {
        files++;
      }
    }
  };
  await walk(abs);
  // Folder identity: file count and folder mtimes (adding/removing files changes them);
  // total bytes would need one stat per file, so it is not part of the identity.
  return { path: abs, kind: "folder", bytes, mtimeMs, files, sha256: null };
}

async function* folderFiles(root: string): AsyncGenerator<RawFile> {
  const base = dirname(root);
  const walk = async function* (dir: string): AsyncGenerator<string> {
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(dir)) entries.push(e);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory) yield* walk(p);
      else if (e.isFile) yield p;
    }
  };
  const window: Promise<RawFile>[] = [];
  const read = async (p: string): Promise<RawFile> => ({
    name: relative(base, p).split("\\").join("/"),
    bytes: await Deno.readFile(p),
  });
  for await (const p of walk(root)) {
    window.push(read(p));
    if (window.length >= 64) yield await window.shift()!;
  }
  while (window.length > 0) yield await window.shift()!;
}

async function* tarGzFiles(
  path: string,
  onDigest: (hex: string) => void,
): AsyncGenerator<RawFile> {
  const file = await Deno.open(path);
  const sha = createHash("sha256");
  const hashing = new TransformStream<Uint8Array, Uint8Array<ArrayBuffer>>({
    transform(chunk, ctl) {
      sha.update(chunk);
      ctl.enqueue(chunk as Uint8Array<ArrayBuffer>);
    },
  });
  const tar = file.readable.pipeThrough(hashing).pipeThrough(new DecompressionStream("gzip"));
  try {
    for await (const e of tarEntries(tar)) {
      if (e.type === "file") yield { name: e.name, bytes: e.bytes };
    }
  } catch (err) {
    throw new Error(`${path}: not a readable .tar.gz (${(err as Error).message})`);
  }
  onDigest(sha.digest("hex"));
}

const BATCH_FILES = 1024;

/**
 * Decodes archive `path` (a `notMNIST_*.tar.gz` or an extracted `notMNIST_*`
 * folder with `<letter>/<file>.png` inside), or reloads its cache. Each file's
 * label is the nearest enclosing folder named A..J; files that are empty, not
 * PNG, corrupt, not 28x28 or not 8-bit grayscale are skipped and listed with the
 * reason.
 */
export async function loadArchive(
  path: string,
  opts: LoadArchiveOptions = {},
): Promise<DecodedArchive> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const source = await statSource(path);
  const cacheDir = opts.cacheDir ?? null;
  const cachePath = cacheDir === null ? null : cachePrefix(cacheDir, source.path);
  if (cachePath !== null && !opts.refresh) {
    const cached = await readCache(cachePath, source);
    if (cached) {
      return { ...cached, cachePath, fromCache: true, seconds: (performance.now() - t0) / 1000 };
    }
  }
  const decoded = await decodeSource(source, opts.workers ?? defaultWorkers(), log);
  if (cachePath !== null) {
    try {
      await writeCache(cachePath, decoded);
    } catch (err) {
      log(`warning: could not write the cache ${cachePath}: ${(err as Error).message}`);
    }
  }
  return { ...decoded, cachePath, fromCache: false, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Default number of decode workers: one less than the CPU count (the reading
 * thread also decodes when the workers are busy), at most 4; 0 on one CPU.
 */
export function defaultWorkers(): number {
  return Math.max(0, Math.min(4, (navigator.hardwareConcurrency || 1) - 1));
}

function cachePrefix(cacheDir: string, sourcePath: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < sourcePath.length; i++) {
    h = Math.imul(h ^ sourcePath.charCodeAt(i), 0x01000193);
  }
  return join(
    resolve(cacheDir),
    `${basename(sourcePath)}-${(h >>> 0).toString(16).padStart(8, "0")}`,
  );
}

type Decoded = Omit<DecodedArchive, "cachePath" | "fromCache" | "seconds">;

/** Largest archive the decoder accepts: 5,000,000 images (3.9 GB of pixels). */
const MAX_IMAGES = 5_000_000;

/**
 * Collects decoded batches in order into one growing pixel buffer. The buffer is
 * a resizable `ArrayBuffer` that grows in place, so the full set is never held
 * twice (a grow-and-copy array would need 1.5-2x the final size at its peak).
 */
class Collector {
  #buf = new ArrayBuffer(0, { maxByteLength: MAX_IMAGES * PIXELS });
  #labels: number[] = [];
  #hashes: number[] = [];
  names: string[] = [];
  count = 0;
  perLetter = letterCounts();

  add(r: DecodedBatch, names: string[], labels: number[], skipped: SkippedFile[]): void {
    const ok = r.images.byteLength / PIXELS;
    const need = (this.count + ok) * PIXELS;
    if (need > this.#buf.maxByteLength) {
      throw new Error(`archive holds more than ${MAX_IMAGES} images; not supported`);
    }
    if (need > this.#buf.byteLength) {
      // growing in place costs no copy, so grow in 32 MB steps, not by doubling
      this.#buf.resize(Math.min(this.#buf.maxByteLength, need + (32 << 20)));
    }
    new Uint8Array(this.#buf, this.count * PIXELS, ok * PIXELS).set(r.images);
    for (let i = 0; i < ok * 2; i++) this.#hashes.push(r.hashes[i]);
    for (let i = 0; i < r.reasons.length; i++) {
      const reason = r.reasons[i];
      if (reason !== null) {
        skipped.push({ path: names[i], reason });
        continue;
      }
      this.#labels.push(labels[i]);
      this.names.push(names[i]);
      this.perLetter[LETTERS[labels[i]]]++;
    }
    this.count += ok;
  }

  finish(): { set: ImageSet; hashes: Uint32Array } {
    // Shrink in place and keep the (resizable) buffer: transferToFixedLength()
    // may copy, which would briefly hold the whole set twice.
    this.#buf.resize(this.count * PIXELS);
    const images = new Uint8Array(this.#buf, 0, this.count * PIXELS);
    return {
      set: { images, labels: Uint8Array.from(this.#labels), count: this.count },
      hashes: Uint32Array.from(this.#hashes),
    };
  }
}

async function decodeSource(
  source: ArchiveSource,
  workers: number,
  log: (line: string) => void,
): Promise<Decoded> {
  const pool = new DecodePool(workers);
  // With workers, the reading thread decodes a batch itself when they are all busy.
  const inlineWhenBusy = workers;
  const skipped: SkippedFile[] = [];
  const filesPerLetter = letterCounts();
  const out = new Collector();
  interface Job {
    names: string[];
    labels: number[];
    result: Promise<DecodedBatch>;
    done: DecodedBatch | null;
  }
  const jobs: Job[] = [];
  let names: string[] = [];
  let labels: number[] = [];
  let bytes: Uint8Array[] = [];
  let seq = 0;
  let files = 0;
  let totalBytes = 0;
  const collectReady = () => {
    while (jobs.length > 0 && jobs[0].done) {
      const j = jobs.shift()!;
      out.add(j.done!, j.names, j.labels, skipped);
    }
  };
  const flush = async () => {
    if (names.length === 0) return;
    let size = 0;
    for (const b of bytes) size += b.byteLength;
    const blob = new Uint8Array(size);
    const offsets = new Uint32Array(bytes.length + 1);
    let o = 0;
    for (let i = 0; i < bytes.length; i++) {
      blob.set(bytes[i], o);
      o += bytes[i].byteLength;
      offsets[i + 1] = o;
    }
    const batch: RawBatch = { seq: seq++, blob, offsets };
    const job: Job = { names, labels, result: pool.decode(batch, inlineWhenBusy), done: null };
    job.result.then((r) => (job.done = r), () => {});
    jobs.push(job);
    names = [];
    labels = [];
    bytes = [];
    await pool.waitBelow(Math.max(2, workers * 4));
    collectReady();
  };
  let sha256: string | null = null;
  const iter = source.kind === "tar.gz"
    ? tarGzFiles(source.path, (hex) => (sha256 = hex))
    : folderFiles(source.path);
  try {
    for await (const f of iter) {
      files++;
      totalBytes += f.bytes.byteLength;
      const label = letterOf(f.name);
      if (label === null) {
        skipped.push({ path: f.name, reason: "no class folder (A..J) in its path" });
        continue;
      }
      filesPerLetter[LETTERS[label]]++;
      names.push(f.name);
      labels.push(label);
      bytes.push(f.bytes);
      if (names.length >= BATCH_FILES) await flush();
      if (files % 100_000 === 0) log(`  ${files} files read`);
    }
    await flush();
    for (const j of jobs) j.done = await j.result;
    collectReady();
    const { set, hashes } = out.finish();
    const perLetter = out.perLetter;
    const outNames = out.names;
    skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const src: ArchiveSource = {
      ...source,
      files,
      bytes: source.kind === "folder" ? totalBytes : source.bytes,
      sha256,
    };
    return {
      source: src,
      set,
      hashes,
      names: outNames,
      skipped,
      perLetter,
      filesPerLetter,
    };
  } finally {
    pool.close();
  }
}
