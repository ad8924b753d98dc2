/**
 * The optimizer pass of the fused training step ({@link updateParams} of
 * fused_kernels.ts) as WebAssembly SIMD, assembled here with the helpers of
 * compute/wasm/assembler.ts (the module itself: fused_simd_module.ts), on a memory of its own that also holds the fused
 * trainer's buffers. JavaScript's `Math.fround` chains cost ~5 ns per element
 * in V8; f32x4 lanes round to float32 natively, so the same arithmetic runs
 * several times faster and gives the same bits (each lane is IEEE float32,
 * operation by operation, in the same order).
 *
 * ```ts
 * import { SimdArena } from "./fused_simd.ts";
 *
 * const arena = new SimdArena(1024);
 * const [w, g, v] = [arena.alloc(8), arena.alloc(8), arena.alloc(8)];
 * w.fill(1);
 * g.fill(0.5);
 * const rule = { momentum: 0.9, useMomentum: true, nesterov: true };
 * arena.update(w, g, v, 0.1, rule, 1e-4);
 * console.log(w[0]);
 * ```
 *
 * @module
 */
import {
  applyMask,
  dropoutReluBackward,
  reluDropoutForward,
  updateRange,
  type UpdateRule,
} from "./fused_kernels.ts";
import { fusedSimdModuleBytes } from "./fused_simd_module.ts";
import { IMAGE_SIZE, PIXELS } from "../../data/types.ts";
import { Rng } from "../../utils/rng.ts";

export { fusedSimdModuleBytes };

type UpdateFn = (
  w: number,
  g: number,
  v: number,
  n: number,
  c: number,
  m: number,
  l: number,
) => number;

const compiled: { plain?: WebAssembly.Module; shared?: WebAssembly.Module } = {};

const PAGE = 65536;

/** A region of an existing shared wasm memory for a {@link SimdArena} (e.g. from the heap's malloc). */
export interface ArenaRegion {
  /** A shared memory (it may grow later: views on a SharedArrayBuffer stay valid). */
  memory: WebAssembly.Memory;
  /** First byte of the region (any alignment: the arena aligns it to 64 bytes). */
  byteOffset: number;
  /** Bytes in the region. */
  byteLength: number;
}

/**
 * Float32 buffers (16-float aligned, zero-filled, never moved) in a
 * WebAssembly memory, with the SIMD optimizer and elementwise passes running
 * on them: the arena's own fixed-size memory, or a region of a shared wasm
 * heap (so a remote BLAS can take its arrays by offset, without copies).
 */
export class SimdArena {
  /** The memory the arena's buffers live in (shared for a region, or {@link SimdArena.shared}). */
  readonly memory: WebAssembly.Memory;
  /** The buffer every view is made on (kept: a shared memory's `buffer` changes object when it grows). */
  readonly #buffer: ArrayBufferLike;
  readonly #fns: Record<string, UpdateFn>;
  readonly #passes: Record<string, (...args: number[]) => void>;
  /** First and one-past-last float index of the arena in its buffer. */
  readonly #start: number;
  readonly #end: number;
  #used: number;

  /**
   * Reserves room for `floats` float32 values: in a memory of its own
   * (rounded up to whole 64 KiB pages), or in `region` of a shared memory.
   */
  constructor(floats: number, region?: ArenaRegion) {
    let memory: WebAssembly.Memory;
    if (region === undefined) {
      const pages = Math.max(1, Math.ceil((floats * 4) / PAGE));
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      this.#start = 0;
      this.#end = (pages * PAGE) / 4;
    } else {
      memory = region.memory;
      if (!(memory.buffer instanceof SharedArrayBuffer)) {
        throw new Error("SimdArena: a region must be in a shared memory");
      }
      this.#start = Math.ceil(region.byteOffset / 64) * 16;
      this.#end = Math.floor((region.byteOffset + region.byteLength) / 4);
      if (this.#end > memory.buffer.byteLength / 4 || this.#end - this.#start < floats) {
        throw new Error(`SimdArena: the region cannot hold ${floats} floats`);
      }
    }
    this.memory = memory;
    this.#buffer = memory.buffer;
    this.#used = this.#start;
    const shared = region !== undefined;
    const module = shared
      ? (compiled.shared ??= new WebAssembly.Module(fusedSimdModuleBytes(true)))
      : (compiled.plain ??= new WebAssembly.Module(fusedSimdModuleBytes()));
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    this.#fns = instance.exports as unknown as Record<string, UpdateFn>;
    this.#passes = instance.exports as unknown as Record<string, (...args: number[]) => void>;
  }

  /**
   * An arena of `floats` values in a fresh shared memory of its own (its
   * buffers can then be handed to another thread, e.g. fused_helper.ts').
   */
  static shared(floats: number): SimdArena {
    const pages = Math.max(1, Math.ceil((floats * 4) / PAGE));
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    return new SimdArena(floats, { memory, byteOffset: 0, byteLength: pages * PAGE });
  }

  /**
   * A view of `n` floats at byte `byteOffset` of this arena's buffer (e.g. a
   * buffer that another thread allocated from an arena on the same memory);
   * throws outside the arena.
   */
  view(byteOffset: number, n: number): Float32Array {
    const start = byteOffset / 4;
    if (!(Number.isInteger(start) && start >= this.#start && n >= 0 && start + n <= this.#end)) {
      throw new Error(`SimdArena.view: ${n} floats at byte ${byteOffset} are outside the arena`);
    }
    return new Float32Array(this.#buffer, byteOffset, n);
  }

  /** A zero-filled buffer of `n` floats in this arena; throws when the arena is full. */
  alloc(n: number): Float32Array {
    const start = this.#used;
    const next = start + Math.ceil(n / 16) * 16;
    if (next > this.#end) {
      throw new Error(`SimdArena: ${n} floats requested, ${this.#end - start} left`);
    }
    this.#used = next;
    return new Float32Array(this.#buffer, start * 4, n).fill(0);
  }

  /**
   * {@link updateParams} of fused_kernels.ts on buffers of this arena: same
   * results, same bits, same returned sum of squares.
   */
  update(
    w: Float32Array,
    g: Float32Array,
    v: Float32Array,
    lr: number,
    rule: UpdateRule,
    l2: number,
  ): number {
    const n = w.length;
    const n4 = n & ~3;
    const name = (rule.useMomentum ? (rule.nesterov ? "nesterov" : "momentum") : "sgd") +
      (l2 > 0 ? "_l2" : "");
    const vOff = rule.useMomentum ? v.byteOffset : 0;
    this.#check(w, n);
    this.#check(g, n);
    if (rule.useMomentum) this.#check(v, n);
    const vec = this.#fns[name](
      w.byteOffset,
      g.byteOffset,
      vOff,
      n4,
      Math.fround(-lr),
      Math.fround(rule.momentum),
      Math.fround(l2),
    );
    return vec + updateRange(w, g, v, n4, n, lr, rule, l2);
  }

  /**
   * {@link reluDropoutForward} of fused_kernels.ts on buffers of this arena
   * (same bits): relu in place when `relu`, then `out = z * mask` with a mask.
   */
  reluDropoutForward(
    z: Float32Array,
    size: number,
    relu: boolean,
    mask?: Float32Array,
    out?: Float32Array,
  ): void {
    const n4 = size & ~3;
    this.#check(z, size);
    if (mask !== undefined && out !== undefined) {
      this.#check(mask, size);
      this.#check(out, size);
      if (relu) this.#passes.relu_mask(z.byteOffset, mask.byteOffset, out.byteOffset, n4);
      else this.#passes.mask_mul(z.byteOffset, mask.byteOffset, out.byteOffset, n4);
      reluDropoutForward(
        z.subarray(n4),
        size - n4,
        relu,
        mask.subarray(n4),
        out.subarray(n4),
      );
      return;
    }
    if (relu) this.#passes.relu(z.byteOffset, n4);
    reluDropoutForward(z.subarray(n4), size - n4, relu);
  }

  /** {@link dropoutReluBackward} of fused_kernels.ts on buffers of this arena (same bits). */
  dropoutReluBackward(
    grad: Float32Array,
    size: number,
    y: Float32Array,
    relu: boolean,
    mask?: Float32Array,
  ): void {
    const n4 = size & ~3;
    this.#check(grad, size);
    this.#check(y, size);
    if (mask !== undefined) {
      this.#check(mask, size);
      if (relu) this.#passes.mask_mul_step(grad.byteOffset, mask.byteOffset, y.byteOffset, n4);
      else this.#passes.mask_mul(grad.byteOffset, mask.byteOffset, grad.byteOffset, n4);
    } else if (relu) {
      this.#passes.mul_step(grad.byteOffset, y.byteOffset, n4);
    }
    dropoutReluBackward(grad.subarray(n4), size - n4, y.subarray(n4), relu, mask?.subarray(n4));
  }

  /**
   * `dropoutMask(size, rate, seed, out)` of models/dropout.ts into a buffer of
   * this arena (same generator, same values), as WebAssembly i32 arithmetic.
   */
  dropoutMask(size: number, rate: number, seed: number, out: Float32Array): Float32Array {
    this.#check(out, size);
    const rng = new Rng(seed);
    const [a, b, c, d] = [rng.nextUint32(), rng.nextUint32(), rng.nextUint32(), rng.nextUint32()];
    const threshold = Math.floor(rate * 4294967296) | 0;
    const keep = Math.fround(1 / (1 - rate));
    this.#passes.dropout_mask(out.byteOffset, size, a | 0, b | 0, c | 0, d | 0, threshold, keep);
    return out;
  }

  /**
   * `gatherShiftBatch` of fused_kernels.ts into `out` (same shifts drawn from
   * `rng`, same values): each image is copied into `stage` (196 floats = 784
   * bytes of this arena) and converted by WebAssembly through `table` (this
   * arena's copy of `PIXEL_VALUES`).
   */
  gatherShiftBatch(
    images: Uint8Array,
    order: ArrayLike<number>,
    start: number,
    end: number,
    out: Float32Array,
    stage: Float32Array,
    table: Float32Array,
    rng?: Rng,
    maxShift = 0,
  ): void {
    const rows = end - start;
    this.#check(out, rows * PIXELS);
    this.#check(stage, PIXELS / 4);
    this.#check(table, 256);
    const bytes = new Uint8Array(this.#buffer, stage.byteOffset, PIXELS);
    const span = 2 * maxShift + 1;
    const side = IMAGE_SIZE;
    for (let r = 0; r < rows; r++) {
      const s = order[start + r] * PIXELS;
      let dx = 0;
      let dy = 0;
      if (rng !== undefined && maxShift > 0) {
        dx = rng.int(span) - maxShift;
        dy = rng.int(span) - maxShift;
      }
      bytes.set(images.subarray(s, s + PIXELS));
      const x0 = Math.max(0, dx);
      const y0 = Math.max(0, dy);
      const x1 = Math.max(x0, Math.min(side, side + dx));
      const y1 = Math.max(y0, Math.min(side, side + dy));
      const dst = out.byteOffset + r * PIXELS * 4;
      this.#passes.gather_image(stage.byteOffset, dst, table.byteOffset, x0, x1, y0, y1, dx, dy);
    }
  }

  /** {@link applyMask} of fused_kernels.ts on buffers of this arena (same bits). */
  applyMask(x: Float32Array, mask: Float32Array, out: Float32Array, size: number): void {
    const n4 = size & ~3;
    this.#check(x, size);
    this.#check(mask, size);
    this.#check(out, size);
    this.#passes.mask_mul(x.byteOffset, mask.byteOffset, out.byteOffset, n4);
    applyMask(x.subarray(n4), mask.subarray(n4), out.subarray(n4), size - n4);
  }

  #check(a: Float32Array, n: number): void {
    if (a.buffer !== this.#buffer || a.length < n) {
      throw new Error("SimdArena.update: buffers must come from this arena's alloc");
    }
  }
}
