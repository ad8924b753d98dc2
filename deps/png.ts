/**
 * PNG seam. General PNG decoding and encoding go through `fast-png` (npm); the
 * rest of the project imports PNG functions from this file only, so switching
 * libraries is a one-file change.
 *
 * Also exported: the zlib inflate used by the fast 8-bit grayscale path in
 * `data/png_gray.ts` (Node's `zlib.inflateSync`, native in Deno). `fast-png`
 * inflates in JavaScript and decodes about 5,000-8,000 28x28 images/s per core
 * here, below the pipeline's 20,000 images/s goal, so the common notMNIST case
 * (non-interlaced 8-bit gray) is decoded by that fast path and everything else
 * falls back to `fast-png`.
 *
 * @module
 */
import { decode, encode } from "fast-png";
import { crc32, deflateSync, inflateSync } from "node:zlib";

/** A decoded PNG image. */
export interface PngImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Channels per pixel: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (palette images report 1). */
  channels: number;
  /** Bits per sample (1, 2, 4, 8 or 16). */
  depth: number;
  /** Whether the image uses a palette. */
  indexed: boolean;
  /** Samples, row-major, `width * height * channels` of them. */
  data: Uint8Array | Uint8ClampedArray | Uint16Array;
}

/** Decodes any PNG with `fast-png`; throws on corrupt input. */
export function decodePng(bytes: Uint8Array): PngImage {
  const img = decode(bytes);
  return {
    width: img.width,
    height: img.height,
    channels: img.channels,
    depth: img.depth,
    indexed: img.palette !== undefined,
    data: img.data,
  };
}

/** Options of {@link encodePng}. */
export interface EncodePngOptions {
  /** Channels per pixel (default 1, gray). */
  channels?: number;
  /** Bits per sample (default 8). */
  depth?: 8 | 16;
  /** Adam7 interlacing (default: none). */
  interlace?: boolean;
}

/** Encodes `data` (row-major samples) as a PNG with `fast-png`. */
export function encodePng(
  data: Uint8Array | Uint16Array,
  width: number,
  height: number,
  opts: EncodePngOptions = {},
): Uint8Array {
  return encode(
    { width, height, data, channels: opts.channels ?? 1, depth: opts.depth ?? 8 },
    { interlace: opts.interlace ? "Adam7" : "null" },
  );
}

/**
 * Inflates a zlib stream (RFC 1950) natively; throws on corrupt data, a bad
 * checksum, or output over `maxBytes` (default: no limit), so a small stream
 * that inflates to gigabytes stops at the limit.
 */
export function inflateZlib(bytes: Uint8Array, maxBytes?: number): Uint8Array {
  let out;
  try {
    out = inflateSync(bytes, maxBytes === undefined ? {} : { maxOutputLength: maxBytes });
  } catch (err) {
    if (err instanceof RangeError && maxBytes !== undefined) {
      throw new Error(`inflates to more than ${maxBytes} bytes`);
    }
    throw err;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)) >>> 0);
  return out;
}

/**
 * Encodes 8-bit grayscale pixels as a PNG with native zlib (row filter 0 / none).
 * About five times faster than {@link encodePng}; used to build large synthetic
 * archives for the benchmark.
 */
export function encodeGray8Fast(pixels: Uint8Array, width: number, height: number): Uint8Array {
  if (pixels.length !== width * height) {
    throw new Error(`encodeGray8Fast: expected ${width * height} pixels, got ${pixels.length}`);
  }
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8;
  const z = deflateSync(raw);
  return assemblePng(ihdr, new Uint8Array(z.buffer, z.byteOffset, z.byteLength));
}

/**
 * A PNG file from its 13-byte IHDR body and its (zlib) image data: the
 * signature, then the IHDR, IDAT and IEND chunks with their CRCs. Nothing is
 * checked, so tests can also build malformed images with it.
 */
export function assemblePng(ihdr: Uint8Array, idat: Uint8Array): Uint8Array {
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", idat),
    pngChunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
