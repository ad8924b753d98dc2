/**
 * GEMM benchmark: the portable WebAssembly SIMD SGEMM (compute/portable)
 * against tfjs-backend-wasm's XNNPACK matMul (what stock tfjs runs), both on
 * one thread, for the products of the lab's networks (forward `NN`, weight
 * gradient `TN`, input gradient `NT`) at batch 128 and 512. Measurements are
 * interleaved (each round times every shape on both engines); the best round
 * counts. Prints, per shape,
 * `ratio gemm portable_vs_xnnpack shape=MxKxN(op) value=X` (X > 1: portable
 * faster) with both GFLOP/s and the portable kernel's fraction of the 128-bit
 * f32x4 mul+add peak measured in the same run.
 *
 * Usage: `deno run -A bench/gemm_bench.ts [--rounds=5]` (or `deno task bench gemm --rounds=5`)
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import { getThreadsCount, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { createPortableBlas, type PortableBlas } from "../compute/portable/mod.ts";
import { f32x4Peak } from "../compute/portable/peak.ts";
import { SMALL_RECIPE } from "../models/recipes.ts";
import { MODELS } from "./train_bench.ts";

/** One product `C (m x n) = op(A) (m x k) op(B) (k x n)`. */
export interface GemmShape {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

/** `MxKxN(op)`, e.g. `128x784x1024(NN)`. */
export function shapeName(s: GemmShape): string {
  return `${s.m}x${s.k}x${s.n}(${s.transA ? "T" : "N"}${s.transB ? "T" : "N"})`;
}

/** The products of one training step of an MLP with layer `sizes` at `batch`, deduplicated. */
export function stepShapes(sizes: number[], batch: number): GemmShape[] {
  const out: GemmShape[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [i, o] = [sizes[l], sizes[l + 1]];
    out.push({ m: batch, k: i, n: o, transA: false, transB: false });
    out.push({ m: i, k: batch, n: o, transA: true, transB: false });
    if (l > 0) out.push({ m: batch, k: o, n: i, transA: false, transB: true });
  }
  return out;
}

/** The lab's shapes: train_bench's models and the small recipe, batch 128 and 512. */
export function labShapes(): GemmShape[] {
  const nets = [...Object.values(MODELS), [
    784,
    ...SMALL_RECIPE.spec.hidden.map((h) => h.units),
    10,
  ]];
  const seen = new Map<string, GemmShape>();
  for (const batch of [128, 512]) {
    for (const sizes of nets) for (const s of stepShapes(sizes, batch)) seen.set(shapeName(s), s);
  }
  return [...seen.values()];
}

function fill(x: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 31 - 1;
  }
}

interface Case {
  shape: GemmShape;
  flops: number;
  reps: number;
  portable: () => void;
  xnnpack: () => void;
  dispose: () => void;
}

function makeCase(blas: PortableBlas, s: GemmShape): Case {
  const { m, k, n, transA, transB } = s;
  const a = blas.alloc(m * k);
  const b = blas.alloc(k * n);
  const c = blas.alloc(m * n);
  fill(a, 1);
  fill(b, 2);
  const ta = tf.tensor2d(a.slice(), transA ? [k, m] : [m, k]);
  const tb = tf.tensor2d(b.slice(), transB ? [n, k] : [k, n]);
  const flops = 2 * m * n * k;
  return {
    shape: s,
    flops,
    reps: Math.max(1, Math.ceil(4e7 / flops)),
    portable: () =>
      blas.sgemm(transA, transB, m, n, k, 1, a, transA ? m : k, b, transB ? k : n, 0, c, n),
    xnnpack: () => tf.matMul(ta, tb, transA, transB).dispose(),
    dispose: () => tf.dispose([ta, tb]),
  };
}

function timeBest(f: () => void, reps: number, best: number): number {
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) f();
  return Math.min(best, (performance.now() - t0) / reps);
}

async function main(): Promise<void> {
  // `--rounds=N` (what `deno task bench gemm` passes through) or `--rounds N`.
  const eq = Deno.args.find((a) => a.startsWith("--rounds="));
  const at = Deno.args.indexOf("--rounds");
  const raw = eq?.slice("--rounds=".length) ?? (at >= 0 ? Deno.args[at + 1] : "5");
  const rounds = Number(raw);
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`gemm_bench: --rounds expects a positive integer, got "${raw}"`);
  }
  setThreadsCount(1);
  await tf.setBackend("wasm");
  await tf.ready();
  const blas = await createPortableBlas({ threads: 1 });
  const cases = labShapes().map((s) => makeCase(blas, s));
  const simd = f32x4Peak();
  const peak = simd.gflops;
  console.log(
    `gemm: one thread; f32x4 mul+add peak ${peak.toFixed(1)} GFLOP/s ` +
      `(12 chains ${simd.narrow.toFixed(1)}, 24 chains ${simd.wide.toFixed(1)}: ` +
      `${simd.revectorised ? "V8 runs f32x4 pairs as 256-bit operations" : "128-bit only"}); ` +
      `xnnpack = tfjs-backend-wasm matMul (threads ${getThreadsCount()})`,
  );
  const best = cases.map(() => ({ p: Infinity, x: Infinity }));
  // Warm up (both engines' code tiers up), then interleaved rounds.
  for (const c of cases) {
    timeBest(c.portable, c.reps, Infinity);
    timeBest(c.xnnpack, c.reps, Infinity);
  }
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, i) => {
      best[i].p = timeBest(c.portable, c.reps, best[i].p);
      best[i].x = timeBest(c.xnnpack, c.reps, best[i].x);
    });
  }
  let worst = Infinity;
  cases.forEach((c, i) => {
    const gp = c.flops / best[i].p / 1e6;
    const gx = c.flops / best[i].x / 1e6;
    worst = Math.min(worst, gp / gx);
    console.log(
      `ratio gemm portable_vs_xnnpack shape=${shapeName(c.shape)} value=${(gp / gx).toFixed(2)} ` +
        `portable_gflops=${gp.toFixed(1)} xnnpack_gflops=${gx.toFixed(1)} ` +
        `portable_peak_fraction=${(gp / peak).toFixed(2)}`,
    );
  });
  console.log(`ratio gemm portable_vs_xnnpack shape=worst value=${worst.toFixed(2)}`);
  for (const c of cases) c.dispose();
  blas.close();
}

if (import.meta.main) await main();
