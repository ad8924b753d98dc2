/**
 * The decoded cache of one archive: `<prefix>.bin` holds the images (N x 784
 * uint8), labels (N), content hashes (2N uint32) and the image names; the JSON
 * manifest `<prefix>.json` holds the source identity (path, size, mtime, file
 * count, SHA-256), counts per letter, the skipped files and the layout of the
 * `.bin`. Both are written to temporary names and renamed, the manifest last;
 * the cache is used only while the source's identity is unchanged.
 *
 * @module
 */
import { dirname } from "node:path";
import { atomicWriteJson } from "../utils/atomic_write.ts";
import {
  type ArchiveSource,
  type DecodedArchive,
  type Letter,
  PIXELS,
  type SkippedFile,
} from "./types.ts";

/** Version of the cache layout and decoder; bump to invalidate old caches. */
export const CACHE_VERSION = 2;

/** The JSON manifest beside a cache's `.bin`. */
export interface CacheManifest {
  /** Always `notmnist-lab decoded cache`. */
  format: string;
  /** {@link CACHE_VERSION} at write time. */
  version: number;
  /** The source the cache was decoded from. */
  source: ArchiveSource;
  /** Number of images. */
  count: number;
  /** Readable images per letter. */
  perLetter: Record<Letter, number>;
  /** Files per letter folder. */
  filesPerLetter: Record<Letter, number>;
  /** Skipped files with reasons. */
  skipped: SkippedFile[];
  /** Byte layout of the `.bin`. */
  layout: {
    images: [number, number];
    labels: [number, number];
    hashes: [number, number];
    names: [number, number];
  };
  /** Total size of the `.bin` in bytes. */
  binBytes: number;
  /** How the per-image content hash is made. */
  hash: string;
}

type Cached = Omit<DecodedArchive, "cachePath" | "fromCache" | "seconds">;

function sameSource(a: ArchiveSource, b: ArchiveSource): boolean {
  if (a.path !== b.path || a.kind !== b.kind || a.mtimeMs !== b.mtimeMs) return false;
  return a.kind === "tar.gz" ? a.bytes === b.bytes : a.files === b.files;
}

/** Reads the cache at `prefix` if it exists and matches `source`; `null` otherwise. */
export async function readCache(prefix: string, source: ArchiveSource): Promise<Cached | null> {
  let manifest: CacheManifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${prefix}.json`));
  } catch {
    return null;
  }
  if (manifest.version !== CACHE_VERSION || !sameSource(manifest.source, source)) return null;
  let bin: Uint8Array;
  try {
    const st = await Deno.stat(`${prefix}.bin`);
    if (st.size !== manifest.binBytes) return null;
    bin = await readAll(`${prefix}.bin`, manifest.binBytes);
  } catch {
    return null;
  }
  if (bin.byteLength !== manifest.binBytes) return null;
  const n = manifest.count;
  const L = manifest.layout;
  const view = (r: [number, number]) => bin.subarray(r[0], r[0] + r[1]);
  const namesText = new TextDecoder().decode(view(L.names));
  const names = n === 0 ? [] : namesText.split("\n");
  if (names.length !== n) return null;
  return {
    source: manifest.source,
    set: { images: view(L.images), labels: view(L.labels), count: n },
    hashes: new Uint32Array(bin.buffer, bin.byteOffset + L.hashes[0], 2 * n),
    names,
    skipped: manifest.skipped,
    perLetter: manifest.perLetter,
    filesPerLetter: manifest.filesPerLetter,
  };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off, off + (64 << 20)));
}

async function readAll(path: string, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  const file = await Deno.open(path);
  try {
    let off = 0;
    while (off < size) {
      const n = await file.read(out.subarray(off, Math.min(size, off + (64 << 20))));
      if (n === null) break;
      off += n;
    }
    if (off !== size) throw new Error(`${path}: expected ${size} bytes, read ${off}`);
  } finally {
    file.close();
  }
  return out;
}

/**
 * Writes the cache of `d` at `prefix`: the `.bin` is streamed to a temporary
 * name part by part (no second copy of the images in memory) and renamed, then
 * the manifest is written the same way.
 */
export async function writeCache(prefix: string, d: Cached): Promise<void> {
  const n = d.set.count;
  const namesBytes = new TextEncoder().encode(d.names.join("\n"));
  const imagesAt = 0;
  const labelsAt = n * PIXELS;
  const hashesAt = Math.ceil((labelsAt + n) / 8) * 8;
  const namesAt = hashesAt + 8 * n;
  const total = namesAt + namesBytes.byteLength;
  await Deno.mkdir(dirname(prefix), { recursive: true });
  const tmp = `${prefix}.bin.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    await writeAll(file, d.set.images.subarray(0, n * PIXELS));
    await writeAll(file, d.set.labels.subarray(0, n));
    await writeAll(file, new Uint8Array(hashesAt - labelsAt - n));
    await writeAll(file, new Uint8Array(d.hashes.buffer, d.hashes.byteOffset, 8 * n));
    await writeAll(file, namesBytes);
    file.close();
    await Deno.rename(tmp, `${prefix}.bin`);
  } catch (err) {
    try {
      file.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  const manifest: CacheManifest = {
    format: "notmnist-lab decoded cache",
    version: CACHE_VERSION,
    source: d.source,
    count: n,
    perLetter: d.perLetter,
    filesPerLetter: d.filesPerLetter,
    skipped: d.skipped,
    layout: {
      images: [imagesAt, n * PIXELS],
      labels: [labelsAt, n],
      hashes: [hashesAt, 8 * n],
      names: [namesAt, namesBytes.byteLength],
    },
    binBytes: total,
    hash: "2 x 32-bit lanes over the 784 decoded pixel bytes (data/hash.ts), little-endian uint32",
  };
  await atomicWriteJson(`${prefix}.json`, manifest);
}
