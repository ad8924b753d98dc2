/**
 * Test helper (a script): runs a few small portable SGEMMs (every transpose,
 * alpha/beta cases, a block-crossing depth, a few-column product, a NaN
 * input; one and two threads) and prints one line, the SHA-256 of all their
 * outputs with NaNs canonicalised. tests/portable_arm64_test.ts runs it
 * natively and under emulated aarch64 Deno and compares the lines.
 *
 * Usage: `deno run --allow-read tests/portable_hash_main.ts`
 *
 * @module
 */
import { createPortableBlas } from "../compute/portable/mod.ts";
import { mixedFloats } from "./portable_reference.ts";

/** The bytes of `x` with every NaN replaced by the canonical quiet NaN `0x7fc00000`. */
export function canonicalBytes(x: Float32Array): Uint8Array {
  const bits = new Uint32Array(x.length);
  const view = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < x.length; i++) bits[i] = Number.isNaN(x[i]) ? 0x7fc00000 : view[i];
  return new Uint8Array(bits.buffer);
}

/** The SHA-256 (hex) of the canonicalised outputs of the fixed set of products at `threads`. */
export async function portableGemmHash(threads: number): Promise<string> {
  const blas = await createPortableBlas({ threads });
  const outs: Uint8Array[] = [];
  try {
    let seed = 900;
    for (const [m, n, k] of [[23, 31, 300], [64, 9, 40], [40, 72, 96]]) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const [alpha, beta] of [[1, 0], [-0.75, 1.5]]) {
            const a = mixedFloats(m * k, seed++);
            const b = mixedFloats(k * n, seed++);
            const c = mixedFloats(m * n, seed++);
            if (seed % 5 === 0) a[3] = NaN;
            blas.sgemm(
              transA,
              transB,
              m,
              n,
              k,
              alpha,
              a,
              transA ? m : k,
              b,
              transB ? k : n,
              beta,
              c,
              n,
            );
            outs.push(canonicalBytes(c));
          }
        }
      }
    }
  } finally {
    blas.close();
  }
  const all = new Uint8Array(outs.reduce((t, o) => t + o.length, 0));
  let at = 0;
  for (const o of outs) {
    all.set(o, at);
    at += o.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

if (import.meta.main) {
  const one = await portableGemmHash(1);
  const two = await portableGemmHash(2);
  console.log(one === two ? `portable-gemm-sha256 ${one}` : `thread-mismatch ${one} ${two}`);
}
