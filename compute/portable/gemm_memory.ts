/**
 * The portable engine's memory: one shared WebAssembly memory (a
 * `SharedArrayBuffer`, so Workers run on it in place), a bump allocator for
 * the caller's matrices and a growable scratch region, and the compiled GEMM
 * module instantiated on it.
 *
 * @module
 */
import { type GemmExports, gemmFunctions, regionsEnd, type TileShape } from "./gemm_module.ts";
import { TILES } from "./gemm_plan.ts";
import { wasmModule } from "./wasm_emit.ts";

const PAGE = 65536;
/** Most pages the memory may grow to (2 GiB): a bound on what any call can make it allocate. */
export const MAX_PAGES = 32768;

/** Thrown when a request would take the memory past {@link MAX_PAGES}. */
export class PortableMemoryError extends RangeError {
  /** The error's name. */
  override name = "PortableMemoryError";
}

/**
 * Thread `thread`'s GEMM module bytes with the kernels of `tiles`: its
 * region's addresses are constants in its code, and the memory it imports is
 * declared at least as large as that region, so the region's accesses need no
 * bounds check.
 */
export function gemmModuleBytes(tiles: readonly TileShape[] = TILES, thread = 0): Uint8Array {
  const minPages = Math.ceil(regionsEnd(tiles, thread + 1) / PAGE);
  return wasmModule(gemmFunctions(tiles, thread), minPages, MAX_PAGES);
}

/** Thread `thread`'s compiled GEMM module with the kernels of `tiles`. */
export function gemmModule(tiles: readonly TileShape[] = TILES, thread = 0): WebAssembly.Module {
  return new WebAssembly.Module(gemmModuleBytes(tiles, thread) as BufferSource);
}

/** An instance of a GEMM module on the shared `memory`. */
function instantiateGemm(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): GemmExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as GemmExports;
}

/** The shared memory, its allocator and a GEMM instance on it. */
export class GemmMemory {
  /** The shared memory (post it to Workers: each compiles its own thread's module). */
  readonly memory: WebAssembly.Memory;
  /** This thread's (thread 0's) instance's exports. */
  readonly exports: GemmExports;
  #top: number;
  readonly #buffers = new Set<ArrayBufferLike>();

  /** A memory holding the regions of `threads` threads, and thread 0's instance. */
  constructor(tiles: readonly TileShape[] = TILES, threads = 1) {
    this.#top = regionsEnd(tiles, threads);
    const initial = Math.max(16, Math.ceil(this.#top / PAGE));
    this.memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
    this.exports = instantiateGemm(gemmModule(tiles, 0), this.memory);
    this.#buffers.add(this.memory.buffer);
  }

  /** Reserves `bytes` (16-byte aligned), growing the memory when needed; returns the offset. */
  reserve(bytes: number): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new PortableMemoryError(`portable memory: cannot reserve ${bytes} bytes`);
    }
    const at = this.#top;
    const end = at + Math.ceil(bytes / 16) * 16;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new PortableMemoryError(
          `portable memory: ${end} bytes needed, at most ${MAX_PAGES * PAGE} allowed`,
        );
      }
      this.memory.grow(pages);
      this.#buffers.add(this.memory.buffer);
    }
    this.#top = end;
    return at;
  }

  /** A new zeroed `n`-float array living in this memory (the zero-copy way to call sgemm). */
  alloc(n: number): Float32Array {
    const at = this.reserve(n * 4);
    return new Float32Array(this.memory.buffer, at, n);
  }

  /** The byte offset of `x` when it is a view of this memory, else `undefined`. */
  offsetOf(x: Float32Array): number | undefined {
    return this.#buffers.has(x.buffer) ? x.byteOffset : undefined;
  }

  /** A float view of `n` floats at byte offset `at` (valid across growth: the buffer is shared). */
  view(at: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, n);
  }
}
