/**
 * Zero-copy access to tensors living on the tfjs wasm heap.
 *
 * The wasm heap can grow on any allocation, which detaches every view taken
 * before: take views only after the last allocation of a kernel.
 *
 * @module
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** The part of the emscripten module the views need (its typings are not shipped). */
interface HeapModule {
  HEAPU8: Uint8Array;
}

/** The wasm heap's current buffer (re-read after every allocation: the heap may grow). */
export function heapBuffer(backend: BackendWasm): ArrayBuffer {
  return (backend.wasm as unknown as HeapModule).HEAPU8.buffer as ArrayBuffer;
}

/** A float32 view of `t`'s data on the wasm heap (valid until the next heap allocation). */
export function f32View(backend: BackendWasm, t: TensorInfo, size?: number): Float32Array {
  const { memoryOffset } = backend.dataIdMap.get(t.dataId);
  const n = size ?? t.shape.reduce((p, d) => p * d, 1);
  return new Float32Array(heapBuffer(backend), memoryOffset, n);
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
