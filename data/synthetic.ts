/**
 * Generated archives for tests and benchmarks: random or shifted 28x28 images,
 * written as PNGs into a `.tar.gz` or a folder with the project's PNG and tar
 * seams. Nothing here is real data.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { encodeGray8Fast, encodePng } from "../deps/png.ts";
import { gzip } from "../deps/gzip.ts";
import { packTar, tarHeader, type TarHeaderInput, type TarInput } from "../deps/tar_writer.ts";
import { TarGzWriter } from "../deps/tar_gz_writer.ts";
import { Rng } from "../utils/rng.ts";
import { IMAGE_SIZE, type ImageSet, LETTERS, PIXELS } from "./types.ts";

/** A file of a generated archive: path inside the archive and its bytes. */
export interface SyntheticFile {
  /** Path, e.g. `notMNIST_small/A/x.png`. */
  path: string;
  /** Contents. */
  bytes: Uint8Array;
}

/** A random 28x28 gray image (784 bytes) from `rng`. */
export function randomImage(rng: Rng): Uint8Array {
  const img = new Uint8Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) img[i] = rng.int(256);
  return img;
}

/** Encodes a 28x28 gray image (784 bytes) as an 8-bit grayscale PNG. */
export function grayPng(pixels: Uint8Array): Uint8Array {
  return encodePng(pixels, IMAGE_SIZE, IMAGE_SIZE);
}

/** `img` shifted by (dx, dy) pixels, filling uncovered pixels with 0. */
export function shiftImage(img: Uint8Array, dx: number, dy: number): Uint8Array {
  const out = new Uint8Array(PIXELS);
  for (let y = 0; y < IMAGE_SIZE; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= IMAGE_SIZE) continue;
    for (let x = 0; x < IMAGE_SIZE; x++) {
      const sx = x - dx;
      if (sx >= 0 && sx < IMAGE_SIZE) out[y * IMAGE_SIZE + x] = img[sy * IMAGE_SIZE + sx];
    }
  }
  return out;
}

/** Writes `files` as a `.tar.gz` at `path` (in memory; for small fixtures). */
export async function writeTarGz(path: string, files: SyntheticFile[]): Promise<void> {
  const entries: TarInput[] = files.map((f) => ({ name: f.path, bytes: f.bytes }));
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeFile(path, await gzip(await packTar(entries)));
}

/** Writes `files` under folder `root` (paths relative to it). */
export async function writeFolder(root: string, files: SyntheticFile[]): Promise<void> {
  for (const f of files) {
    const p = join(root, f.path);
    await Deno.mkdir(dirname(p), { recursive: true });
    await Deno.writeFile(p, f.bytes);
  }
}

/**
 * Streams a large-size archive `notMNIST_large/<letter>/<i>.png` of `count`
 * images to `path`: copies of the images of `source` shifted by a seeded random
 * offset of -2..2 pixels (about half of the copies end up as new distinct
 * images, as notMNIST_large has its own duplicates). Returns the images written.
 */
export async function writeLargeArchive(
  path: string,
  source: ImageSet,
  count: number,
  seed: number,
  progress?: (written: number) => void,
): Promise<number> {
  const rng = new Rng(seed);
  const w = await TarGzWriter.create(path);
  for (let i = 0; i < count; i++) {
    const j = i % source.count;
    const img = source.images.subarray(j * PIXELS, (j + 1) * PIXELS);
    const shifted = shiftImage(img, rng.int(5) - 2, rng.int(5) - 2);
    const letter = LETTERS[source.labels[j]];
    await w.addFile(
      `notMNIST_large/${letter}/${i}.png`,
      encodeGray8Fast(shifted, IMAGE_SIZE, IMAGE_SIZE),
    );
    if (progress && (i + 1) % 50_000 === 0) progress(i + 1);
  }
  await w.close();
  return count;
}

/**
 * An entry of {@link writeRawTarGz}: any header (absolute names, `..`, links,
 * devices, FIFOs) with a body of `bytes`, or of `zeros` streamed zero bytes.
 */
export interface RawTarEntry extends TarHeaderInput {
  /** Body bytes (the header's size defaults to their length). */
  bytes?: Uint8Array;
  /** A body of this many zero bytes, streamed: never held in memory (a gzip bomb). */
  zeros?: number;
}

/**
 * Streams a `.tar.gz` of raw `entries` to `path`, headers written as given,
 * for archives built to break a reader: a declared size of gigabytes costs a
 * few MB on disk and about 1 MiB of memory here.
 */
export async function writeRawTarGz(path: string, entries: RawTarEntry[]): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const gz = new CompressionStream("gzip");
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const done = gz.readable.pipeTo(file.writable);
  const w = gz.writable.getWriter();
  // small pieces are gathered into 1 MiB writes (one write per header is slow)
  const pending = new Uint8Array(1 << 20);
  let used = 0;
  const flush = async () => {
    if (used > 0) await w.write(pending.slice(0, used));
    used = 0;
  };
  const write = async (b: Uint8Array) => {
    if (used + b.length > pending.length) await flush();
    if (b.length >= pending.length) await w.write(b.slice());
    else {
      pending.set(b, used);
      used += b.length;
    }
  };
  const zeros = new Uint8Array(1 << 20);
  for (const e of entries) {
    const size = e.size ?? e.zeros ?? e.bytes?.byteLength ?? 0;
    await write(tarHeader({ ...e, size }));
    let body = 0;
    if (e.bytes) {
      await write(e.bytes);
      body = e.bytes.byteLength;
    }
    for (let left = e.zeros ?? 0; left > 0; left -= zeros.length) {
      const n = Math.min(left, zeros.length);
      await write(zeros.subarray(0, n));
      body += n;
    }
    if (body % 512 !== 0) await write(new Uint8Array(512 - (body % 512)));
  }
  await write(new Uint8Array(1024));
  await flush();
  await w.close();
  await done;
}
