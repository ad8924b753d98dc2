/**
 * The WebAssembly SIMD module of the fused step's optimizer and elementwise
 * passes ({@link fusedSimdModuleBytes}), assembled with
 * `compute/wasm/assembler.ts`; `fused_simd.ts` instantiates it on an arena.
 * Each pass computes what its JavaScript twin in fused_kernels.ts computes,
 * operation by operation in float32 lanes.
 *
 * @module
 */
import {
  countedLoop,
  envMemoryImport,
  F32,
  funcBody,
  get,
  I32,
  i32c,
  loadVec,
  set,
  setByteEnd,
  setVectorEnd,
  stepConsts,
  stepVec,
  STORE_VEC,
  str,
  uleb,
  V128,
  vec,
  wasmModule,
} from "../../compute/wasm/assembler.ts";
import { gatherImageBody } from "./fused_gather_module.ts";

const F64 = 0x7c;
const END = 0x0b;
const I32_ADD = 0x6a;
const I32_AND = 0x71;
const I32_SHL = 0x74;
const I32_SHR_U = 0x76;
const I32_XOR = 0x73;
const I32_ROTL = 0x77;
const I32_LT_U = 0x49;
const I32_SUB = 0x6b;
const I32_STORE = 0x36;
const I32_REINTERPRET_F32 = 0xbc;
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
const F32X4_LT = [SIMD, 0x43];
const V128_ANDNOT = [SIMD, 0x4f];

type PassBody = (p: number[], i: number, v: number[]) => number[];

/** Pushes relu of the v128 in local `a`: `a & ~(a < 0)` (-0 and NaN stay, as wasm-blas' relu). */
const reluOf = (a: number): number[] => [
  ...get(a),
  ...get(a),
  ...V128_CONST_ZERO,
  ...F32X4_LT,
  ...V128_ANDNOT,
];

/**
 * The elementwise passes around the matrix products, each over the first `n`
 * floats (a multiple of 4) at byte offsets: [name, pointer params, body].
 * Locals after the params: i, end (i32), then v128 a, b, x, zero, one.
 */
const ELEMENTWISE: [string, number, PassBody][] = [
  // relu(z): z = relu(z)
  ["relu", 1, ([z], i, [a]) => [
    ...get(z),
    ...get(i),
    I32_ADD,
    ...loadVec(z, i),
    ...set(a),
    ...reluOf(a),
    ...STORE_VEC,
  ]],
  // relu_mask(z, mask, out): z = relu(z); out = z * mask
  ["relu_mask", 3, ([z, mask, out], i, [a]) => [
    ...loadVec(z, i),
    ...set(a),
    ...reluOf(a),
    ...set(a),
    ...get(z),
    ...get(i),
    I32_ADD,
    ...get(a),
    ...STORE_VEC,
    ...get(out),
    ...get(i),
    I32_ADD,
    ...get(a),
    ...loadVec(mask, i),
    ...F32X4_MUL,
    ...STORE_VEC,
  ]],
  // mask_mul(x, mask, out): out = x * mask
  ["mask_mul", 3, ([x, mask, out], i) => [
    ...get(out),
    ...get(i),
    I32_ADD,
    ...loadVec(x, i),
    ...loadVec(mask, i),
    ...F32X4_MUL,
    ...STORE_VEC,
  ]],
  // mul_step(grad, y): grad = grad * step(y)
  ["mul_step", 2, ([grad, y], i, [, , xv, zero, one]) => [
    ...get(grad),
    ...get(i),
    I32_ADD,
    ...loadVec(grad, i),
    ...loadVec(y, i),
    ...set(xv),
    ...stepVec(xv, zero, one),
    ...F32X4_MUL,
    ...STORE_VEC,
  ]],
  // mask_mul_step(grad, mask, y): grad = (grad * mask) * step(y)
  ["mask_mul_step", 3, ([grad, mask, y], i, [, , xv, zero, one]) => [
    ...get(grad),
    ...get(i),
    I32_ADD,
    ...loadVec(grad, i),
    ...loadVec(mask, i),
    ...F32X4_MUL,
    ...loadVec(y, i),
    ...set(xv),
    ...stepVec(xv, zero, one),
    ...F32X4_MUL,
    ...STORE_VEC,
  ]],
];

function elementwiseBody(params: number, body: PassBody): number[] {
  const p = Array.from({ length: params }, (_, k) => k);
  const n = params;
  const [i, end] = [params + 1, params + 2];
  const v = [params + 3, params + 4, params + 5, params + 6, params + 7];
  const code = [
    ...stepConsts(v[3], v[4]),
    ...i32c(0),
    ...set(i),
    ...setVectorEnd(n, end),
    ...countedLoop(i, end, 16, body(p, i, v)),
    END,
  ];
  return funcBody([[2, I32], [5, V128]], code);
}

/**
 * dropout_mask(mask, n, a, b, c, d, thr, keep): `n` floats of an inverted
 * dropout mask at byte offset `mask` from the sfc32 state (a, b, c, d):
 * `mask[i] = t <u thr ? 0 : keep` with `t` the generator's i-th output, the
 * loop of `dropoutMask` (models/dropout.ts) in i32 arithmetic. The choice is
 * made on the bits, `keep & ((t <u thr) - 1)` (+0 or keep), without a branch:
 * a float `select` compiles to one, mispredicted at random.
 */
function dropoutMaskBody(): number[] {
  const [mask, n, a, b, c, d, thr, keep] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [i, end, t, keepBits] = [8, 9, 10, 11];
  /** One draw, stored at mask + i + `offset` bytes. */
  const draw = (offset: number): number[] => [
    // t = a + b + d; d = d + 1; a = b ^ (b >>> 9); b = c + (c << 3); c = rotl(c, 21) + t
    ...get(a),
    ...get(b),
    I32_ADD,
    ...get(d),
    I32_ADD,
    ...set(t),
    ...get(d),
    ...i32c(1),
    I32_ADD,
    ...set(d),
    ...get(b),
    ...get(b),
    ...i32c(9),
    I32_SHR_U,
    I32_XOR,
    ...set(a),
    ...get(c),
    ...get(c),
    ...i32c(3),
    I32_SHL,
    I32_ADD,
    ...set(b),
    ...get(c),
    ...i32c(21),
    I32_ROTL,
    ...get(t),
    I32_ADD,
    ...set(c),
    // mask[i + offset] bits = keepBits & ((t <u thr) - 1)
    ...get(mask),
    ...get(i),
    I32_ADD,
    ...get(keepBits),
    ...get(t),
    ...get(thr),
    I32_LT_U,
    ...i32c(1),
    I32_SUB,
    I32_AND,
    I32_STORE,
    2,
    ...uleb(offset),
  ];
  const code = [
    ...get(keep),
    I32_REINTERPRET_F32,
    ...set(keepBits),
    ...i32c(0),
    ...set(i),
    // Four draws per iteration up to (n & ~3), then one per iteration.
    ...setVectorEnd(n, end),
    ...countedLoop(i, end, 16, [...draw(0), ...draw(4), ...draw(8), ...draw(12)]),
    ...setByteEnd(n, end),
    ...countedLoop(i, end, 4, draw(0)),
    END,
  ];
  return funcBody([[4, I32]], code);
}

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
    ...setVectorEnd(n, end),
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

/**
 * The module's bytes: imports `env.memory`, exports the six update variants
 * the elementwise passes, `dropout_mask` and `gather_image`. With `shared`, the imported memory is declared
 * shared (maximum 4 GiB), for a region of a shared wasm heap.
 */
export function fusedSimdModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  // Types: 0 = update; k = k pointers and a count (k = 1, 2, 3).
  const ptrs = (k: number) => [0x60, ...vec([...Array(k + 1).fill([I32])]), 0];
  const types = vec([
    [0x60, ...vec([[I32], [I32], [I32], [I32], [F32], [F32], [F32]]), 1, F64],
    ptrs(1),
    ptrs(2),
    ptrs(3),
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [I32], [F32]]), 0],
    [0x60, ...vec(Array(9).fill([I32])), 0],
  ]);
  const imports = envMemoryImport(shared);
  const funcs = vec([...VARIANTS.map(() => [0]), ...ELEMENTWISE.map(([, k]) => [k]), [4], [5]]);
  const names = [
    ...VARIANTS.map(([name]) => name),
    ...ELEMENTWISE.map(([name]) => name),
    "dropout_mask",
    "gather_image",
  ];
  const exports = vec(names.map((name, k) => [...str(name), 0x00, k]));
  const code = vec([
    ...VARIANTS.map(([, l2, mom, nest]) => updateBody(l2, mom, nest)),
    ...ELEMENTWISE.map(([, k, body]) => elementwiseBody(k, body)),
    dropoutMaskBody(),
    gatherImageBody(),
  ]);
  return wasmModule(types, imports, funcs, exports, code);
}
