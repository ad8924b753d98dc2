/**
 * The 128-bit f32x4 peak of this host as WebAssembly sees it: 12 independent
 * chains `acc = acc * x + x` of `f32x4.mul` then `f32x4.add` (the micro
 * kernel's two operations, no FMA; 12 chains hide both latencies), timed. The GEMM benchmark reports its fraction.
 *
 * @module
 */
import { forLoop, I32, op, V128, wasmModule } from "./wasm_emit.ts";

const CHAINS = 12;

function peakBytes(): Uint8Array {
  // params: iters 0, out 1; locals: i 2, x 3, acc 4..
  const [iters, out, i, x] = [0, 1, 2, 3];
  const body: number[] = [];
  for (let c = 0; c < CHAINS; c++) {
    body.push(...op.get(4 + c), ...op.get(x), ...op.f32x4Mul, ...op.get(x), ...op.f32x4Add);
    body.push(...op.set(4 + c));
  }
  const code = [
    ...op.get(out),
    ...op.load32Splat(),
    ...op.set(x),
    ...forLoop(i, iters, 1, body),
  ];
  for (let c = 0; c < CHAINS; c++) {
    code.push(...op.get(out), ...op.get(4 + c), ...op.v128Store(16 + 16 * c));
  }
  return wasmModule(
    [{
      name: "peak",
      params: [I32, I32],
      locals: [I32, V128, ...new Array(CHAINS).fill(V128)],
      code,
    }],
    1,
    1,
  );
}

/** Best-of-`rounds` GFLOP/s of f32x4 mul+add on one thread (8 flops per pair). */
export function f32x4PeakGflops(rounds = 5, iters = 2_000_000): number {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(peakBytes() as BufferSource), {
    env: { memory },
  });
  const peak = inst.exports.peak as (iters: number, out: number) => void;
  new Float32Array(memory.buffer)[0] = 1;
  peak(iters / 10, 0);
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    peak(iters, 0);
    best = Math.min(best, performance.now() - t0);
  }
  return (iters * CHAINS * 8) / best / 1e6;
}
