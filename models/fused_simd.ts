/**
 * The optimizer pass of the fused training step ({@link updateParams} of
 * fused_kernels.ts) as WebAssembly SIMD, assembled here with the helpers of
 * wasm_blas/simd_module.ts, on a memory of its own that also holds the fused
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
import { updateRange, type UpdateRule } from "./fused_kernels.ts";
import {
  countedLoop,
  F32,
  funcBody,
  get,
  I32,
  i32c,
  loadVec,
  section,
  set,
  STORE_VEC,
  str,
  V128,
  vec,
} from "./wasm_blas/simd_module.ts";

const F64 = 0x7c;
const END = 0x0b;
const I32_ADD = 0x6a;
const I32_AND = 0x71;
const I32_SHL = 0x74;
const F64_ADD = 0xa0;
const SIMD = 0xfd;
const F32X4_SPLAT = [SIMD, 0x13];
const F32X4_ADD = [SIMD, 0xe4, 0x01];
const F32X4_MUL = [SIMD, 0xe6, 0x01];
const F64X2_ADD = [SIMD, 0xf0, 0x01];
const F64X2_PROMOTE_LOW = [SIMD, 0x5f];
const F64X2_EXTRACT_LANE = (lane: number) => [SIMD, 0x21, lane];
const I8X16_SHUFFLE_HIGH_LOW = [SIMD, 0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const V128_CONST_ZERO = [SIMD, 0x0c, ...new Array(16).fill(0)];

/** The update variants, in export order: [name, l2, momentum, nesterov]. */
const VARIANTS: [string, boolean, boolean, boolean][] = [
  ["sgd", false, false, false],
  ["sgd_l2", true, false, false],
  ["momentum", false, true, false],
  ["momentum_l2", true, true, false],
  ["nesterov", false, true, true],
  ["nesterov_l2", true, true, true],
];

/**
 * update(w, g, v, n, c, m, l) -> f64 over the first `n` floats (n a multiple
 * of 4) at byte offsets w, g, v; c = -lr, m = momentum, l = L2 (float32).
 */
function updateBody(l2: boolean, momentum: boolean, nesterov: boolean): number[] {
  const [w, g, v, n, c, m, l] = [0, 1, 2, 3, 4, 5, 6];
  const [i, end] = [7, 8];
  const [cv, mv, lv, two, wv, gv, vv, sq, acc1, acc2] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  const splat = (src: number[], dst: number) => [...src, ...F32X4_SPLAT, ...set(dst)];
  const body: number[] = [
    ...loadVec(w, i),
    ...set(wv),
    ...loadVec(g, i),
    ...set(gv),
  ];
  if (l2) {
    body.push(
      // sq = w * w; acc1 += promote(sq[0..1]); acc2 += promote(sq[2..3])
      ...get(wv),
      ...get(wv),
      ...F32X4_MUL,
      ...set(sq),
      ...get(acc1),
      ...get(sq),
      ...F64X2_PROMOTE_LOW,
      ...F64X2_ADD,
      ...set(acc1),
      ...get(acc2),
      ...get(sq),
      ...get(sq),
      ...I8X16_SHUFFLE_HIGH_LOW,
      ...F64X2_PROMOTE_LOW,
      ...F64X2_ADD,
      ...set(acc2),
      // g = g + l * (w * 2)
      ...get(gv),
      ...get(lv),
      ...get(wv),
      ...get(two),
      ...F32X4_MUL,
      ...F32X4_MUL,
      ...F32X4_ADD,
      ...set(gv),
    );
  }
  // The step direction pushed on the stack: g, v or g + v * m.
  let direction: number[] = get(gv);
  if (momentum) {
    body.push(
      // v = m * v + g
      ...get(v),
      ...get(i),
      I32_ADD,
      ...get(mv),
      ...loadVec(v, i),
      ...F32X4_MUL,
      ...get(gv),
      ...F32X4_ADD,
      ...set(vv),
      ...get(vv),
      ...STORE_VEC,
    );
    direction = nesterov ? [...get(gv), ...get(vv), ...get(mv), ...F32X4_MUL, ...F32X4_ADD] : get(
      vv,
    );
  }
  // w = c * direction + w
  body.push(
    ...get(w),
    ...get(i),
    I32_ADD,
    ...get(cv),
    ...direction,
    ...F32X4_MUL,
    ...get(wv),
    ...F32X4_ADD,
    ...STORE_VEC,
  );
  const code = [
    ...splat(get(c), cv),
    ...splat(get(m), mv),
    ...splat(get(l), lv),
    ...splat([0x43, 0, 0, 0, 0x40], two), // f32.const 2
    ...V128_CONST_ZERO,
    ...set(acc1),
    ...V128_CONST_ZERO,
    ...set(acc2),
    ...i32c(0),
    ...set(i),
    // end = (n & ~3) << 2
    ...get(n),
    ...i32c(-4),
    I32_AND,
    ...i32c(2),
    I32_SHL,
    ...set(end),
    ...countedLoop(i, end, 16, body),
    // (acc1 + acc2)[0] + (acc1 + acc2)[1]
    ...get(acc1),
    ...get(acc2),
    ...F64X2_ADD,
    ...set(acc1),
    ...get(acc1),
    ...F64X2_EXTRACT_LANE(0),
    ...get(acc1),
    ...F64X2_EXTRACT_LANE(1),
    F64_ADD,
    END,
  ];
  return funcBody([[2, I32], [10, V128]], code);
}

/** The module's bytes: imports `env.memory`, exports the six update variants. */
export function fusedSimdModuleBytes(): Uint8Array<ArrayBuffer> {
  const types = vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [F32], [F32], [F32]]), 1, F64]]);
  const imports = vec([[...str("env"), ...str("memory"), 0x02, 0x00, 0x01]]);
  const funcs = vec(VARIANTS.map(() => [0]));
  const exports = vec(VARIANTS.map(([name], k) => [...str(name), 0x00, k]));
  const code = vec(VARIANTS.map(([, l2, mom, nest]) => updateBody(l2, mom, nest)));
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, code),
  ]);
}

type UpdateFn = (
  w: number,
  g: number,
  v: number,
  n: number,
  c: number,
  m: number,
  l: number,
) => number;

let compiled: WebAssembly.Module | undefined;

const PAGE = 65536;

/**
 * A fixed-size WebAssembly memory handing out float32 buffers (16-float
 * aligned, zero-filled, never moved: the memory does not grow) and running the
 * SIMD optimizer pass on them.
 */
export class SimdArena {
  readonly #memory: WebAssembly.Memory;
  readonly #fns: Record<string, UpdateFn>;
  readonly #capacity: number;
  #used = 0;

  /** Reserves room for `floats` float32 values (rounded up to whole 64 KiB pages). */
  constructor(floats: number) {
    const pages = Math.max(1, Math.ceil((floats * 4) / PAGE));
    this.#memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.#capacity = (pages * PAGE) / 4;
    compiled ??= new WebAssembly.Module(fusedSimdModuleBytes());
    const instance = new WebAssembly.Instance(compiled, { env: { memory: this.#memory } });
    this.#fns = instance.exports as unknown as Record<string, UpdateFn>;
  }

  /** A zero-filled buffer of `n` floats in this arena; throws when the arena is full. */
  alloc(n: number): Float32Array {
    const start = this.#used;
    const next = start + Math.ceil(n / 16) * 16;
    if (next > this.#capacity) {
      throw new Error(`SimdArena: ${n} floats requested, ${this.#capacity - start} left`);
    }
    this.#used = next;
    return new Float32Array(this.#memory.buffer, start * 4, n);
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

  #check(a: Float32Array, n: number): void {
    if (a.buffer !== this.#memory.buffer || a.length < n) {
      throw new Error("SimdArena.update: buffers must come from this arena's alloc");
    }
  }
}
