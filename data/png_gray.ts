/**
 * Decoding one notMNIST PNG into 784 gray bytes, with the reason when it cannot
 * be used. Non-interlaced 8-bit grayscale PNGs (all readable notMNIST images)
 * take a fast path: chunk walk, native zlib inflate, PNG row unfiltering. A
 * PNG whose header is not 28x28 is refused from the header alone; any other
 * 28x28 PNG is decoded by `fast-png` (deps/png.ts) only to name what is wrong
 * with it (or to accept an interlaced 8-bit gray image), after its image data
 * was checked to inflate to at most {@link MAX_RAW_BYTES}: a small file whose
 * data inflates to gigabytes is refused without being inflated whole.
 *
 * @module
 */
import { decodePng, inflateZlib } from "../deps/png.ts";
import { IMAGE_SIZE, PIXELS } from "./types.ts";

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const COLOR_NAMES: Record<number, string> = {
  0: "grayscale",
  2: "RGB",
  3: "palette",
  4: "grayscale+alpha",
  6: "RGBA",
};

/** True when `bytes` starts with the 8-byte PNG signature. */
export function hasPngSignature(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== SIGNATURE[i]) return false;
  return true;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

function unfilterGray(raw: Uint8Array, out: Uint8Array, offset: number): string | null {
  const w = IMAGE_SIZE;
  const stride = w + 1;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    const f = raw[y * stride];
    const src = y * stride + 1;
    const dst = offset + y * w;
    const up = dst - w;
    switch (f) {
      case 0:
        for (let x = 0; x < w; x++) out[dst + x] = raw[src + x];
        break;
      case 1:
        out[dst] = raw[src];
        for (let x = 1; x < w; x++) out[dst + x] = (raw[src + x] + out[dst + x - 1]) & 255;
        break;
      case 2:
        if (y === 0) { for (let x = 0; x < w; x++) out[dst + x] = raw[src + x]; }
        else for (let x = 0; x < w; x++) out[dst + x] = (raw[src + x] + out[up + x]) & 255;
        break;
      case 3:
        for (let x = 0; x < w; x++) {
          const a = x > 0 ? out[dst + x - 1] : 0;
          const b = y > 0 ? out[up + x] : 0;
          out[dst + x] = (raw[src + x] + ((a + b) >> 1)) & 255;
        }
        break;
      case 4:
        for (let x = 0; x < w; x++) {
          const a = x > 0 ? out[dst + x - 1] : 0;
          const b = y > 0 ? out[up + x] : 0;
          const c = x > 0 && y > 0 ? out[up + x - 1] : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          out[dst + x] = (raw[src + x] + pred) & 255;
        }
        break;
      default:
        return `corrupt PNG: unknown row filter ${f}`;
    }
  }
  return null;
}

/**
 * Largest inflated image data accepted: 64 KiB (a 28x28 image needs at most
 * 6,300 bytes, at 16-bit RGBA).
 */
export const MAX_RAW_BYTES = 1 << 16;

/** The image data (IDAT chunks, concatenated) of a PNG, or why it cannot be found. */
function imageData(bytes: Uint8Array): Uint8Array | string {
  const parts: Uint8Array[] = [];
  let total = 0;
  let p = 33;
  let ended = false;
  while (p + 8 <= bytes.length) {
    const len = u32(bytes, p);
    const type = u32(bytes, p + 4);
    if (p + 12 + len > bytes.length) return "corrupt PNG: truncated chunk";
    if (type === 0x49444154) { // IDAT
      parts.push(bytes.subarray(p + 8, p + 8 + len));
      total += len;
    } else if (type === 0x49454e44) { // IEND
      ended = true;
      break;
    }
    p += 12 + len;
  }
  if (!ended) return "corrupt PNG: truncated (no IEND chunk)";
  if (parts.length === 0) return "corrupt PNG: no image data (IDAT)";
  if (parts.length === 1) return parts[0];
  const z = new Uint8Array(total);
  let o = 0;
  for (const part of parts) {
    z.set(part, o);
    o += part.length;
  }
  return z;
}

/** Inflates image data with the {@link MAX_RAW_BYTES} limit, or says why it cannot. */
function inflateImage(z: Uint8Array): Uint8Array | string {
  try {
    return inflateZlib(z, MAX_RAW_BYTES);
  } catch (err) {
    return `corrupt PNG: image data does not inflate (${(err as Error).message})`;
  }
}

function describe(bytes: Uint8Array, out: Uint8Array, offset: number): string | null {
  const z = imageData(bytes);
  if (typeof z === "string") return z;
  const raw = inflateImage(z);
  if (typeof raw === "string") return raw;
  let img;
  try {
    img = decodePng(bytes);
  } catch (err) {
    return `corrupt PNG: ${(err as Error).message}`;
  }
  if (img.width !== IMAGE_SIZE || img.height !== IMAGE_SIZE) {
    return `wrong size ${img.width}x${img.height} (expected 28x28)`;
  }
  if (img.indexed) return "palette image (expected 8-bit grayscale)";
  if (img.channels !== 1) {
    const name = COLOR_NAMES[img.channels === 2 ? 4 : img.channels === 3 ? 2 : 6];
    return `${name} image with ${img.channels} channels (expected 8-bit grayscale)`;
  }
  if (img.depth !== 8) return `bit depth ${img.depth} (expected 8-bit grayscale)`;
  out.set(img.data as Uint8Array, offset);
  return null;
}

/**
 * Decodes `bytes` into `out[offset .. offset+784)`. Returns `null` on success or
 * a human-readable reason why the file is not a usable 28x28 8-bit gray PNG.
 */
export function decodeGray28(bytes: Uint8Array, out: Uint8Array, offset: number): string | null {
  if (bytes.length === 0) return "empty file (0 bytes)";
  if (!hasPngSignature(bytes)) return "not a PNG file (no PNG signature)";
  if (bytes.length < 33 || u32(bytes, 12) !== 0x49484452) return "corrupt PNG: no IHDR chunk";
  const width = u32(bytes, 16);
  const height = u32(bytes, 20);
  const depth = bytes[24];
  const color = bytes[25];
  const interlace = bytes[28];
  if (width !== IMAGE_SIZE || height !== IMAGE_SIZE) {
    return `wrong size ${width}x${height} (expected 28x28)`;
  }
  if (depth !== 8 || color !== 0 || interlace) return describe(bytes, out, offset);
  const z = imageData(bytes);
  if (typeof z === "string") return z;
  const raw = inflateImage(z);
  if (typeof raw === "string") return raw;
  if (raw.length !== IMAGE_SIZE * (IMAGE_SIZE + 1)) {
    return `corrupt PNG: image data has ${raw.length} bytes, expected ${PIXELS + IMAGE_SIZE}`;
  }
  return unfilterGray(raw, out, offset);
}
