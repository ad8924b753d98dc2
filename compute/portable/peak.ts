/**
 * The f32x4 multiply-add peak of this host as WebAssembly sees it:
 * independent chains `acc = acc * x + x` of `f32x4.mul` then `f32x4.add` (the
 * micro kernel's two operations, no FMA), timed. 12 chains hide both
 * latencies at 128 bits; where V8 revectorises (compute/v8_flags.ts) the
 * chains run in 256-bit pairs and 24 are needed, which spill at 128 bits: the
 * peak is the better of the two. The GEMM benchmark reports its fraction.
 *
 * @module
 */
import { forLoop, I32, op, V128, wasmModule } from "./wasm_emit.ts";

/** Chain counts measured. */
const CHAINS = [12, 24];

function peakBytes(chains: number): Uint8Array {
  // params: iters 0, out 1; locals: i 2, x 3, acc 4..
  const [iters, out, i, x] = [0, 1, 2, 3];
  const body: number[] = [];
  for (let c = 0; c < chains; c++) {
    body.push(...op.get(4 + c), ...op.get(x), ...op.f32x4Mul, ...op.get(x), ...op.f32x4Add);
    body.push(...op.set(4 + c));
  }
  const code = [
    ...op.get(out),
    ...op.load32Splat(),
    ...op.set(x),
    ...forLoop(i, iters, 1, body),
  ];
  // Constant addresses (no bounds check between adjacent stores) let V8 pair the chains.
  for (let c = 0; c < chains; c++) {
    code.push(...op.i32(0), ...op.get(4 + c), ...op.v128Store(16 + 16 * c));
  }
  return wasmModule(
    [{
      name: "peak",
      params: [I32, I32],
      locals: [I32, V128, ...new Array(chains).fill(V128)],
      code,
    }],
    1,
    1,
  );
}

/** The peak and what it says about the host. */
export interface SimdPeak {
  /** GFLOP/s: the better of the two chain counts. */
  gflops: number;
  /** GFLOP/s with 12 chains (what 128-bit code reaches). */
  narrow: number;
  /** GFLOP/s with 24 chains. */
  wide: number;
  /** Whether V8 ran the chains in 256-bit pairs (24 chains clearly faster than 12). */
  revectorised: boolean;
}

/** Best-of-`rounds` f32x4 mul+add peak on one thread (8 flops per pair), 12 and 24 chains. */
export function f32x4Peak(rounds = 5, iters = 2_000_000): SimdPeak {
  const [narrow, wide] = CHAINS.map((chains) => chainGflops(chains, rounds, iters));
  return { gflops: Math.max(narrow, wide), narrow, wide, revectorised: wide > 1.3 * narrow };
}

/** {@link f32x4Peak}'s GFLOP/s. */
export function f32x4PeakGflops(rounds = 5, iters = 2_000_000): number {
  return f32x4Peak(rounds, iters).gflops;
}

function chainGflops(chains: number, rounds: number, iters: number): number {
  {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const inst = new WebAssembly.Instance(
      new WebAssembly.Module(peakBytes(chains) as BufferSource),
      { env: { memory } },
    );
    const run = inst.exports.peak as (iters: number, out: number) => void;
    new Float32Array(memory.buffer)[0] = 1;
    run(iters / 10, 0);
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      run(iters, 0);
      best = Math.min(best, performance.now() - t0);
    }
    return (iters * chains * 8) / best / 1e6;
  }
}
