/**
 * {@link clearUpperState}: a way, from JavaScript, to run `vzeroupper` on x86-64.
 *
 * WebAssembly code that V8 compiles to 256-bit AVX instructions (the portable
 * engine's revectorised kernels, `--experimental-wasm-revectorize`) returns to
 * JavaScript with the upper halves of the YMM registers dirty, and nothing on
 * the main thread clears them. Until something does, every legacy-SSE
 * instruction of C++ code pays the SSE/AVX transition penalty: V8's
 * `Math.exp` (glibc's) takes ~130 ns a call instead of ~9 ns on the lab's
 * machines, which made the fused step's softmax ~8x slower on the portable
 * engine. `TextDecoder.decode` runs simdutf's AVX2 validation, which ends with
 * `vzeroupper`; decoding 64 zero bytes costs ~0.2 us. Values are never
 * affected: only the speed of what follows.
 *
 * ```ts
 * import { clearUpperState } from "./fused_upper.ts";
 *
 * clearUpperState();
 * console.log(Math.exp(-1));
 * ```
 *
 * @module
 */

const decoder = new TextDecoder();
const zeros = new Uint8Array(64);

/** Clears the upper AVX register state where the runtime's UTF-8 decoder uses AVX (else a no-op). */
export function clearUpperState(): void {
  decoder.decode(zeros);
}
