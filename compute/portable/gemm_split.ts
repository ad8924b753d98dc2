/**
 * How the output of one GEMM is split over threads: row ranges or column
 * ranges of whole register tiles (the longer side), never the inner
 * dimension, so the split changes who computes an element, not how.
 *
 * @module
 */
import type { TileShape } from "./gemm_module.ts";
import type { GemmRange } from "./gemm_plan.ts";

/** Below this many multiply-adds a call runs on one thread (thread hand-off costs more). */
export const MIN_PARALLEL_MACS = 1 << 20;

/** The ranges of an `m x n` output (depth `k`) for up to `threads` threads (non-empty ones only). */
export function splitOutput(
  m: number,
  n: number,
  k: number,
  threads: number,
  tile: TileShape,
): GemmRange[] {
  const t = m * n * k < MIN_PARALLEL_MACS ? 1 : threads;
  const byCols = n >= m;
  const len = byCols ? n : m;
  const q = byCols ? tile.nr : tile.mr;
  const units = Math.ceil(len / q);
  const per = Math.ceil(units / Math.max(1, Math.min(t, units)));
  const out: GemmRange[] = [];
  for (let u = 0; u < units; u += per) {
    const lo = u * q;
    const hi = Math.min(len, (u + per) * q);
    out.push(byCols ? { r0: 0, r1: m, c0: lo, c1: hi } : { r0: lo, r1: hi, c0: 0, c1: n });
  }
  return out;
}
