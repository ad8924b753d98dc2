/**
 * A picture of the data: a grid of sample images, one row per letter, as an
 * SVG string with the images embedded as one grayscale PNG.
 *
 * ```ts
 * import { loadSplits, sampleGridSvg } from "../data.ts";
 *
 * const { train } = await loadSplits({ protocol: "small" });
 * await Deno.writeTextFile("samples.svg", sampleGridSvg(train, { perLetter: 12, seed: 1 }));
 * ```
 *
 * @module
 */
import { encodePng } from "../deps/png.ts";
import { escapeXml } from "../utils/xml.ts";
import { Rng } from "../utils/rng.ts";
import { IMAGE_SIZE, type ImageSet, LETTERS, NUM_CLASSES, PIXELS } from "./types.ts";

/** Options of {@link sampleGridSvg}. */
export interface SampleGridOptions {
  /** Images shown per letter, one row per letter (default 10, at most 100). */
  perLetter?: number;
  /** Seed of the random choice of images (default 0). */
  seed?: number;
  /** Screen pixels per image pixel (default 2, at most 8). */
  scale?: number;
  /** Title above the grid (default "sample images"). */
  title?: string;
}

/** Standard base64 of `bytes`. */
function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * A grid of sample images: one row per letter A..J, `perLetter` images of that
 * letter chosen at random (seeded) from `set`, as an SVG with the images
 * embedded as one grayscale PNG. A letter with fewer images leaves its row's
 * remaining cells empty (mid gray).
 */
export function sampleGridSvg(set: ImageSet, options: SampleGridOptions = {}): string {
  const perLetter = options.perLetter ?? 10;
  const scale = options.scale ?? 2;
  if (!Number.isInteger(perLetter) || perLetter < 1 || perLetter > 100) {
    throw new Error(`sampleGridSvg: perLetter must be an integer in 1..100, got ${perLetter}`);
  }
  if (!Number.isInteger(scale) || scale < 1 || scale > 8) {
    throw new Error(`sampleGridSvg: scale must be an integer in 1..8, got ${scale}`);
  }
  if (set.images.length < set.count * PIXELS || set.labels.length < set.count) {
    throw new Error(
      `sampleGridSvg: the set claims ${set.count} images but holds ` +
        `${set.images.length} pixel bytes and ${set.labels.length} labels`,
    );
  }
  // Seeded choice: walk a random permutation, keep the first perLetter images of each letter.
  const chosen: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  const order = new Rng(options.seed ?? 0).permutation(set.count);
  for (const i of order) {
    const row = chosen[set.labels[i]];
    if (row !== undefined && row.length < perLetter) row.push(i);
  }
  // One mosaic: a 1-pixel mid-gray gap around every image.
  const cell = IMAGE_SIZE + 1;
  const w = perLetter * cell + 1;
  const h = NUM_CLASSES * cell + 1;
  const mosaic = new Uint8Array(w * h).fill(128);
  chosen.forEach((row, r) =>
    row.forEach((i, c) => {
      for (let y = 0; y < IMAGE_SIZE; y++) {
        const src = i * PIXELS + y * IMAGE_SIZE;
        mosaic.set(
          set.images.subarray(src, src + IMAGE_SIZE),
          (r * cell + 1 + y) * w + c * cell + 1,
        );
      }
    })
  );
  const png = base64(encodePng(mosaic, w, h));
  const left = 24;
  const top = 30;
  const title = options.title ?? "sample images";
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + w * scale + 10}" ` +
    `height="${top + h * scale + 10}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="18" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<image x="${left}" y="${top}" width="${w * scale}" height="${h * scale}" ` +
    `style="image-rendering:pixelated" href="data:image/png;base64,${png}"/>`,
  ];
  LETTERS.forEach((letter, r) => {
    const y = top + (r * cell + 1 + IMAGE_SIZE / 2) * scale + 4;
    parts.push(`<text x="6" y="${y}" font-weight="bold">${letter}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
