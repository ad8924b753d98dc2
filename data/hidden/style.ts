/**
 * notMNIST's look for one rendered letter: white glyph on black, the glyph's
 * bounding box stretched to fill the 28x28 square (notMNIST does not keep the
 * aspect ratio: an "I" becomes a block), anti-aliased, 8-bit gray. The seeded
 * style adds what varies between fonts and sizes: a slight rotation and
 * shear, a margin of up to about a pixel on each side, and a thinner or
 * bolder stroke.
 *
 * @module
 */
import type { Rng } from "../../utils/rng.ts";
import { IMAGE_SIZE, PIXELS } from "../types.ts";
import { type Affine, bounds, coverage, type Polygon, transform } from "./raster.ts";

/** Ranges of the seeded style choices. */
export const STYLE_LIMITS = {
  /** Largest rotation either way, in degrees. */
  rotationDeg: 4,
  /** Largest horizontal shear either way (x += shear * y). */
  shear: 0.12,
  /** Largest empty margin on each side, in pixels. */
  marginPx: 0.5,
  /** Stroke change, in pixels: thinner (negative) to bolder (positive). */
  strokePx: [-0.35, 0.6] as const,
} as const;

/** The random choices of one image. */
export interface Style {
  /** Rotation in radians. */
  rotation: number;
  /** Horizontal shear. */
  shear: number;
  /** Margins left, top, right, bottom in pixels. */
  margins: [number, number, number, number];
  /** Stroke change in pixels (negative: thinner). */
  stroke: number;
}

/** Draws one {@link Style} from `rng` (always the same number of draws, in the same order). */
export function drawStyle(rng: Rng): Style {
  const sym = (r: number) => (2 * rng.next() - 1) * r;
  const rotation = sym(STYLE_LIMITS.rotationDeg) * Math.PI / 180;
  const shear = sym(STYLE_LIMITS.shear);
  const m = () => rng.next() * STYLE_LIMITS.marginPx;
  const margins: [number, number, number, number] = [m(), m(), m(), m()];
  const [lo, hi] = STYLE_LIMITS.strokePx;
  const stroke = lo + rng.next() * (hi - lo);
  return { rotation, shear, margins, stroke };
}

/** The outline rotated and sheared, then stretched onto the square inside the margins. */
export function placeGlyph(glyph: readonly Polygon[], style: Style): Polygon[] | null {
  const cos = Math.cos(style.rotation), sin = Math.sin(style.rotation);
  // shear after rotation: x' = (cos x - sin y) + shear (sin x + cos y)
  const warp: Affine = {
    a: cos + style.shear * sin,
    b: sin,
    c: -sin + style.shear * cos,
    d: cos,
    e: 0,
    f: 0,
  };
  const warped = transform(glyph, warp);
  const b = bounds(warped);
  if (b === null || b[2] - b[0] <= 0 || b[3] - b[1] <= 0) return null;
  const [ml, mt, mr, mb] = style.margins;
  const sx = (IMAGE_SIZE - ml - mr) / (b[2] - b[0]);
  const sy = (IMAGE_SIZE - mt - mb) / (b[3] - b[1]);
  return transform(warped, { a: sx, b: 0, c: 0, d: sy, e: ml - b[0] * sx, f: mt - b[1] * sy });
}

/**
 * The letter as 784 gray bytes (0 background, 255 ink), or null for a
 * degenerate outline. A stroke change takes the maximum (bolder) or minimum
 * (thinner) of the coverage shifted by half the change in four directions.
 */
export function renderGlyph(glyph: readonly Polygon[], style: Style): Uint8Array | null {
  const placed = placeGlyph(glyph, style);
  if (placed === null) return null;
  let cov = coverage(placed, IMAGE_SIZE, IMAGE_SIZE);
  const s = style.stroke / 2;
  if (Math.abs(s) > 0.02) {
    const bolder = s > 0;
    const acc = cov;
    for (const [dx, dy] of [[s, 0], [-s, 0], [0, s], [0, -s]]) {
      const shifted = coverage(
        transform(placed, { a: 1, b: 0, c: 0, d: 1, e: dx, f: dy }),
        IMAGE_SIZE,
        IMAGE_SIZE,
      );
      for (let i = 0; i < PIXELS; i++) {
        acc[i] = bolder ? Math.max(acc[i], shifted[i]) : Math.min(acc[i], shifted[i]);
      }
    }
    cov = acc;
  }
  const out = new Uint8Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) out[i] = Math.round(255 * cov[i]);
  return out;
}
