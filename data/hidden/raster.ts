/**
 * Glyph rasterisation: outlines flattened to polygons, an affine transform, and
 * anti-aliased coverage with the nonzero winding rule. Coverage is exact along
 * x (each span adds its exact overlap with every pixel) and sampled along y
 * ({@link SUB_ROWS} sub-scanlines per pixel row), so edges come out smooth like
 * notMNIST's and the result depends only on the inputs (no platform code).
 *
 * @module
 */
import type { OutlineCommand } from "../../deps/fonts.ts";

/** A closed polygon as flat `[x0, y0, x1, y1, ...]` coordinates. */
export type Polygon = number[];

/** Sub-scanlines per pixel row. */
export const SUB_ROWS = 16;

/** Line segments per quadratic curve when flattening. */
const QUAD_STEPS = 8;
/** Line segments per cubic curve when flattening. */
const CUBIC_STEPS = 12;

/** The outline as closed polygons (curves split into a fixed number of segments). */
export function flatten(commands: readonly OutlineCommand[]): Polygon[] {
  const out: Polygon[] = [];
  let cur: Polygon = [];
  let x = 0;
  let y = 0;
  const close = () => {
    if (cur.length >= 6) out.push(cur);
    cur = [];
  };
  for (const c of commands) {
    switch (c.type) {
      case "M":
        close();
        cur = [c.x, c.y];
        break;
      case "L":
        cur.push(c.x, c.y);
        break;
      case "Q":
        for (let i = 1; i <= QUAD_STEPS; i++) {
          const t = i / QUAD_STEPS;
          const u = 1 - t;
          cur.push(
            u * u * x + 2 * u * t * c.x1 + t * t * c.x,
            u * u * y + 2 * u * t * c.y1 + t * t * c.y,
          );
        }
        break;
      case "C":
        for (let i = 1; i <= CUBIC_STEPS; i++) {
          const t = i / CUBIC_STEPS;
          const u = 1 - t;
          const a = u * u * u, b = 3 * u * u * t, d = 3 * u * t * t, e = t * t * t;
          cur.push(
            a * x + b * c.x1 + d * c.x2 + e * c.x,
            a * y + b * c.y1 + d * c.y2 + e * c.y,
          );
        }
        break;
      case "Z":
        close();
        continue;
    }
    x = c.x;
    y = c.y;
  }
  close();
  return out;
}

/** A 2-D affine map `(x, y) -> (a x + c y + e, b x + d y + f)`. */
export interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

/** `polys` mapped through `m` (new arrays). */
export function transform(polys: readonly Polygon[], m: Affine): Polygon[] {
  return polys.map((p) => {
    const q = new Array<number>(p.length);
    for (let i = 0; i < p.length; i += 2) {
      q[i] = m.a * p[i] + m.c * p[i + 1] + m.e;
      q[i + 1] = m.b * p[i] + m.d * p[i + 1] + m.f;
    }
    return q;
  });
}

/** Bounding box `[xMin, yMin, xMax, yMax]`, or null for no points. */
export function bounds(polys: readonly Polygon[]): [number, number, number, number] | null {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const p of polys) {
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] < x0) x0 = p[i];
      if (p[i] > x1) x1 = p[i];
      if (p[i + 1] < y0) y0 = p[i + 1];
      if (p[i + 1] > y1) y1 = p[i + 1];
    }
  }
  return x0 <= x1 ? [x0, y0, x1, y1] : null;
}

/** Adds the exact overlap of the span `[xa, xb)` with each pixel of `row` (weighted by `w`). */
function addSpan(row: Float64Array, xa: number, xb: number, w: number): void {
  const width = row.length;
  const a = Math.max(0, xa);
  const b = Math.min(width, xb);
  if (b <= a) return;
  const ia = Math.floor(a);
  const ib = Math.min(width - 1, Math.floor(b));
  if (ia === ib) {
    row[ia] += (b - a) * w;
    return;
  }
  row[ia] += (ia + 1 - a) * w;
  for (let i = ia + 1; i < ib; i++) row[i] += w;
  if (ib < width) row[ib] += (b - ib) * w;
}

/**
 * Coverage in [0, 1] of each pixel of a `width` x `height` grid (row-major) by
 * the polygons, nonzero winding rule, pixel (i, j) covering `[i, i+1) x [j, j+1)`.
 */
export function coverage(polys: readonly Polygon[], width: number, height: number): Float64Array {
  const out = new Float64Array(width * height);
  const xs: number[] = [];
  const dirs: number[] = [];
  const order: number[] = [];
  const w = 1 / SUB_ROWS;
  for (let r = 0; r < height; r++) {
    const row = out.subarray(r * width, (r + 1) * width);
    for (let s = 0; s < SUB_ROWS; s++) {
      const sy = r + (s + 0.5) / SUB_ROWS;
      xs.length = 0;
      dirs.length = 0;
      for (const p of polys) {
        const n = p.length;
        for (let i = 0; i < n; i += 2) {
          const x0 = p[i], y0 = p[i + 1];
          const j = (i + 2) % n;
          const x1 = p[j], y1 = p[j + 1];
          if ((y0 <= sy && y1 > sy) || (y1 <= sy && y0 > sy)) {
            xs.push(x0 + (sy - y0) / (y1 - y0) * (x1 - x0));
            dirs.push(y1 > y0 ? 1 : -1);
          }
        }
      }
      if (xs.length === 0) continue;
      order.length = 0;
      for (let k = 0; k < xs.length; k++) order.push(k);
      order.sort((p, q) => xs[p] - xs[q] || dirs[p] - dirs[q]);
      let wind = 0;
      for (let k = 0; k < order.length; k++) {
        const before = wind;
        wind += dirs[order[k]];
        if (before !== 0 && k > 0) addSpan(row, xs[order[k - 1]], xs[order[k]], w);
      }
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, out[i]);
  return out;
}
