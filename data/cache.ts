/**
 * The decoded cache of one archive: `<prefix>.bin` holds the images (N x 784
 * uint8), labels (N), content hashes (2N uint32) and the image names; the JSON
 * manifest `<prefix>.json` holds the source identity (path, size, mtime, file
 * count, SHA-256), counts per letter, the skipped files, the layout of the
 * `.bin` and the SHA-256 of the `.bin`. Both are written to temporary names and
 * renamed, the manifest last. A cache is used only while the source's identity
 * is unchanged, the manifest is well-formed and the `.bin` matches its
 * checksum; a cache that does not is reported (a note) and decoded again.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { dirname } from "node:path";
import { atomicWriteJson } from "../utils/atomic_write.ts";
import { readOnlyByMode } from "./paths.ts";
import {
  type ArchiveSource,
  type DecodedArchive,
  type Letter,
  LETTERS,
  NUM_CLASSES,
  PIXELS,
  type SkippedFile,
} from "./types.ts";

/** Version of the cache layout and decoder; bump to invalidate old caches. */
export const CACHE_VERSION = 3;

const FORMAT = "notmnist-lab decoded cache";

/** Byte ranges `[offset, length]` of the parts of a `.bin`. */
export interface CacheLayout {
  images: [number, number];
  labels: [number, number];
  hashes: [number, number];
  names: [number, number];
}

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
  layout: CacheLayout;
  /** Total size of the `.bin` in bytes. */
  binBytes: number;
  /** SHA-256 (hex) of the whole `.bin`: pixels, labels, hashes and names. */
  sha256: string;
  /** How the per-image content hash is made. */
  hash: string;
}

type Cached = Omit<
  DecodedArchive,
  "cachePath" | "fromCache" | "seconds" | "cacheState" | "cacheNotes"
>;

/**
 * What {@link readCache} found: the cached archive, or `null` with a note when
 * a cache was there but cannot be trusted (`null` note: no cache, or one of
 * another version or source, which is silently replaced).
 */
export type CacheRead = { cached: Cached; note: null } | { cached: null; note: string | null };

/** The layout of a `.bin` of `n` images whose names take `namesBytes` bytes. */
function layoutOf(n: number, namesBytes: number): CacheLayout {
  const labelsAt = n * PIXELS;
  const hashesAt = Math.ceil((labelsAt + n) / 8) * 8;
  const namesAt = hashesAt + 8 * n;
  return {
    images: [0, n * PIXELS],
    labels: [labelsAt, n],
    hashes: [hashesAt, 8 * n],
    names: [namesAt, namesBytes],
  };
}

function sameSource(a: ArchiveSource, b: ArchiveSource): boolean {
  if (a.path !== b.path || a.kind !== b.kind || a.mtimeMs !== b.mtimeMs) return false;
  return a.kind === "tar.gz" ? a.bytes === b.bytes : a.files === b.files;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function isLetterCounts(v: unknown): v is Record<Letter, number> {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return Object.keys(r).length === NUM_CLASSES && LETTERS.every((l) => isCount(r[l]));
}

/** What is wrong with the shape of a manifest that has this version and source, else null. */
function manifestProblem(m: CacheManifest): string | null {
  const s = m.source as Partial<ArchiveSource>;
  if (!isCount(s.files) || !isCount(s.bytes)) return "source counts";
  if (s.sha256 !== null && !(typeof s.sha256 === "string" && /^[0-9a-f]{64}$/.test(s.sha256))) {
    return "source SHA-256";
  }
  if (!isCount(m.count) || !isCount(m.binBytes)) return "image count or size";
  if (!isLetterCounts(m.perLetter) || !isLetterCounts(m.filesPerLetter)) return "letter counts";
  if (
    !Array.isArray(m.skipped) ||
    !m.skipped.every((x) => typeof x?.path === "string" && typeof x?.reason === "string")
  ) return "skipped list";
  if (typeof m.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(m.sha256)) return "checksum";
  const names = m.layout?.names;
  if (!Array.isArray(names) || !isCount(names[1])) return "layout";
  const want = layoutOf(m.count, names[1]);
  if (JSON.stringify(m.layout) !== JSON.stringify(want)) return "layout";
  if (want.names[0] + want.names[1] !== m.binBytes) return "layout";
  return null;
}

/** The per-letter counts of `labels`, or null when a label is not a class (0..9). */
function countLabels(labels: Uint8Array): Record<Letter, number> | null {
  const c = new Array(NUM_CLASSES).fill(0);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= NUM_CLASSES) return null;
    c[labels[i]]++;
  }
  return Object.fromEntries(LETTERS.map((l, i) => [l, c[i]])) as Record<Letter, number>;
}

/**
 * Reads the cache at `prefix` if it exists, matches `source` and passes its
 * checks (well-formed manifest, `.bin` of the recorded size and SHA-256,
 * labels 0..9 counted as recorded); see {@link CacheRead}.
 */
export async function readCache(prefix: string, source: ArchiveSource): Promise<CacheRead> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${prefix}.json`);
  } catch {
    return { cached: null, note: null };
  }
  const bad = (why: string): CacheRead => ({
    cached: null,
    note:
      `the decoded cache ${prefix}.{bin,json} is not usable (${why}); decoding the archive again`,
  });
  let manifest: CacheManifest;
  try {
    manifest = JSON.parse(text);
  } catch {
    return bad("its manifest is not JSON");
  }
  if (typeof manifest !== "object" || manifest === null || manifest.format !== FORMAT) {
    return bad("its manifest is not one of a decoded cache");
  }
  if (manifest.version !== CACHE_VERSION) return { cached: null, note: null };
  if (typeof manifest.source !== "object" || manifest.source === null) {
    return bad("malformed manifest: source");
  }
  if (!sameSource(manifest.source, source)) return { cached: null, note: null };
  const problem = manifestProblem(manifest);
  if (problem !== null) return bad(`malformed manifest: ${problem}`);
  let bin: Uint8Array;
  try {
    const st = await Deno.stat(`${prefix}.bin`);
    if (st.size !== manifest.binBytes) {
      return bad(`the .bin has ${st.size} bytes, ${manifest.binBytes} recorded`);
    }
    bin = await readAll(`${prefix}.bin`, manifest.binBytes);
  } catch (err) {
    return bad(`the .bin cannot be read: ${(err as Error).message}`);
  }
  const digest = createHash("sha256").update(bin).digest("hex");
  if (digest !== manifest.sha256) {
    return bad(`the .bin has SHA-256 ${digest}, ${manifest.sha256} recorded`);
  }
  const n = manifest.count;
  const L = manifest.layout;
  const view = (r: [number, number]) => bin.subarray(r[0], r[0] + r[1]);
  const labels = view(L.labels);
  const perLetter = countLabels(labels);
  if (perLetter === null) return bad("a label outside 0..9");
  if (JSON.stringify(perLetter) !== JSON.stringify(manifest.perLetter)) {
    return bad("the labels do not give the recorded counts per letter");
  }
  const namesText = new TextDecoder().decode(view(L.names));
  const names = n === 0 ? [] : namesText.split("\n");
  if (names.length !== n) return bad(`${names.length} names for ${n} images`);
  return {
    cached: {
      source: manifest.source,
      set: { images: view(L.images), labels, count: n },
      hashes: new Uint32Array(bin.buffer, bin.byteOffset + L.hashes[0], 2 * n),
      names,
      skipped: manifest.skipped,
      perLetter,
      filesPerLetter: manifest.filesPerLetter,
    },
    note: null,
  };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array, sha: Hash): Promise<void> {
  sha.update(bytes);
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
 * name part by part (no second copy of the images in memory), hashed as it
 * goes, and renamed, then the manifest is written the same way. A cache folder
 * whose permission bits grant nobody write access is not written, even by root
 * (an error saying so).
 */
export async function writeCache(prefix: string, d: Cached): Promise<void> {
  const n = d.set.count;
  const namesBytes = new TextEncoder().encode(d.names.join("\n"));
  const layout = layoutOf(n, namesBytes.byteLength);
  const dir = dirname(prefix);
  await Deno.mkdir(dir, { recursive: true });
  if (readOnlyByMode(await Deno.stat(dir))) {
    throw new Error(`${dir} is read-only (its permission bits grant no write access)`);
  }
  const tmp = `${prefix}.bin.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const sha = createHash("sha256");
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    await writeAll(file, d.set.images.subarray(0, n * PIXELS), sha);
    await writeAll(file, d.set.labels.subarray(0, n), sha);
    await writeAll(file, new Uint8Array(layout.hashes[0] - layout.labels[0] - n), sha);
    await writeAll(file, new Uint8Array(d.hashes.buffer, d.hashes.byteOffset, 8 * n), sha);
    await writeAll(file, namesBytes, sha);
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
    format: FORMAT,
    version: CACHE_VERSION,
    source: d.source,
    count: n,
    perLetter: d.perLetter,
    filesPerLetter: d.filesPerLetter,
    skipped: d.skipped,
    layout,
    binBytes: layout.names[0] + layout.names[1],
    sha256: sha.digest("hex"),
    hash: "2 x 32-bit lanes over the 784 decoded pixel bytes (data/hash.ts), little-endian uint32",
  };
  await atomicWriteJson(`${prefix}.json`, manifest);
}
