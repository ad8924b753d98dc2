/**
 * Where the fused step's arrays and BLAS come from: the BLAS chosen for the
 * current tfjs backend (or set by a sandbox), one contiguous aligned
 * allocation carved into the trainer's arrays, and an arena on the shared wasm
 * heap that a remote BLAS takes by offset.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { SimdArena } from "./fused_simd.ts";
import type { BlasLibrary } from "../../compute/blas/library.ts";
import type { SharedBlasLibrary } from "../../compute/blas/remote_blas.ts";
import { WASM_BLAS, wasmBlasLibrary } from "../../compute/wasm_blas/register.ts";

let provided: BlasLibrary | undefined;

/**
 * Sets the BLAS the fused step uses on every backend (e.g. a sandbox's remote
 * `BlasLibrary`, whose shared buffer then holds the trainer's arrays); `undefined`
 * restores the default ({@link fusedBlasForBackend}).
 */
export function setFusedStepBlas(blas: BlasLibrary | undefined): void {
  provided = blas;
}

/**
 * The BLAS for the fused step on the current tfjs backend: the one set with
 * {@link setFusedStepBlas}, else the `wasm-blas` backend's library when that
 * backend is active, else `undefined` (stock wasm, cpu and tfjs-node keep the
 * tfjs path).
 */
export function fusedBlasForBackend(backend: string = tf.getBackend()): BlasLibrary | undefined {
  return provided ?? (backend === WASM_BLAS ? wasmBlasLibrary() : undefined);
}

/** Float32 offsets are rounded up to this many floats (64 bytes) for the BLAS. */
const ALIGN = 16;

/** Floats of one contiguous buffer holding `sizes`, each rounded up to {@link ALIGN}. */
export function carvedSize(sizes: number[]): number {
  return sizes.reduce((t, s) => t + Math.ceil(s / ALIGN) * ALIGN, 0);
}

/** Hands out aligned sub-arrays of one contiguous buffer. */
export function carve(sizes: number[], alloc: (n: number) => Float32Array): Float32Array[] {
  const offsets: number[] = [];
  let total = 0;
  for (const s of sizes) {
    offsets.push(total);
    total += Math.ceil(s / ALIGN) * ALIGN;
  }
  const buf = alloc(total);
  if (!(buf instanceof Float32Array) || buf.length < total) {
    throw new Error(`fused step: the allocator must return ${total} floats`);
  }
  buf.fill(0, 0, total);
  return sizes.map((s, i) => buf.subarray(offsets[i], offsets[i] + s));
}

/** A BLAS that lends regions of its own shared memory (the portable core, compute/portable/). */
interface RegionLender {
  region(bytes: number): { memory: WebAssembly.Memory; byteOffset: number; byteLength: number };
}

function lendsRegions(blas: BlasLibrary): blas is BlasLibrary & RegionLender {
  return typeof (blas as Partial<RegionLender>).region === "function";
}

/**
 * A {@link SimdArena} of `floats` values in the engine's own memory when
 * `blas` lends regions (the portable core: its products then copy nothing),
 * else `undefined`.
 */
export function engineArena(blas: BlasLibrary, floats: number): SimdArena | undefined {
  if (!lendsRegions(blas)) return undefined;
  try {
    return new SimdArena(floats, blas.region(floats * 4 + 64));
  } catch {
    return undefined;
  }
}

/** The wasm heap's allocator of the active tfjs wasm backend (emscripten's). */
interface HeapAllocator {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
}

/**
 * A {@link SimdArena} of `floats` values in the shared wasm heap that
 * `blas` takes by offset (the active tfjs wasm backend's heap, allocated with
 * its own malloc, so tfjs never hands the same bytes out), or `undefined`
 * when there is no such heap. `free` gives the bytes back.
 */
export function heapArena(
  blas: SharedBlasLibrary,
  floats: number,
): { arena: SimdArena; free: () => void } | undefined {
  const memory = blas.sharedHeap();
  const wasm = (tf.backend() as unknown as { wasm?: Partial<HeapAllocator> }).wasm;
  if (memory === undefined || typeof wasm?._malloc !== "function") return undefined;
  const alloc = wasm as HeapAllocator;
  const bytes = floats * 4 + 64;
  const ptr = alloc._malloc(bytes);
  if (!ptr) return undefined;
  const free = () => alloc._free(ptr);
  // The allocator must own this very memory: a byte written through it shows in the heap.
  const probe = new Uint8Array(memory.buffer, ptr, 1);
  alloc.HEAPU8[ptr] = 0xa5;
  const same = probe[0] === 0xa5;
  alloc.HEAPU8[ptr] = 0x5a;
  if (!same || probe[0] !== 0x5a) {
    free();
    return undefined;
  }
  try {
    return { arena: new SimdArena(floats, { memory, byteOffset: ptr, byteLength: bytes }), free };
  } catch {
    free();
    return undefined;
  }
}
