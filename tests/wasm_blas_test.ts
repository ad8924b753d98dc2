/**
 * The wasm-blas backend against the stock wasm kernels (and a plain JS
 * reference) on random inputs: every transpose combination, odd shapes,
 * batched and broadcast products, fused bias + each activation, gradients,
 * a short training run, and the fallback when no BLAS can be loaded.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
// tfjs-layers registers the gradients of every op (tfjs-core alone registers none).
import * as tfl from "@tensorflow/tfjs-layers";
import { assert, assertEquals } from "../deps/assert.ts";
import { Rng } from "../utils/rng.ts";
import { registerWasmBlasBackend, WASM_BLAS } from "../compute/wasm_blas/mod.ts";
import { loadBlas } from "../compute/blas/library.ts";
import { PORTABLE_ENGINE } from "../compute/numerics.ts";
import { planMatMul } from "../compute/wasm_blas/matmul_plan.ts";
import { coreTypeForFlags, parseCpuFlags } from "../compute/cpu_features.ts";
import { LAZY_MIN_SIZE, pendingCount } from "../compute/wasm_blas/lazy_scale.ts";
import { instantiateSimd } from "../compute/wasm/assembler.ts";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

const probe = await registerWasmBlasBackend();
const skip = probe.ok ? "" : ` (SKIPPED: no BLAS for wasm-blas: ${probe.reason})`;
const blasTest = { ignore: !probe.ok, sanitizeResources: false, sanitizeOps: false };

function randomArray(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.nextUint32() / 2 ** 31 - 1;
  return out;
}

function randomTensor(rng: Rng, shape: number[]): { shape: number[]; values: Float32Array } {
  return { shape, values: randomArray(rng, shape.reduce((p, d) => p * d, 1)) };
}

type Spec = { shape: number[]; values: Float32Array };

/** Runs `f` on fresh tensors built from `specs` under `backend`; returns the outputs' data. */
async function onBackend(
  backend: string,
  specs: Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const xs = specs.map((s) => tf.tensor(s.values, s.shape, "float32"));
  const out = tf.tidy(() => {
    const r = f(...xs);
    return Array.isArray(r) ? r : [r];
  });
  const data = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([...xs, ...out]);
  return data;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** Asserts |x - ref| <= tol * max(1, max|ref|) elementwise. */
function assertClose(x: Float32Array, ref: Float32Array, what: string, tol = 1e-5): void {
  assertEquals(x.length, ref.length, `${what}: length`);
  const scale = Math.max(1, maxAbs(ref));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - ref[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert(
    worst <= tol * scale,
    `${what}: max abs diff ${worst} at ${at} (${x[at]} vs ${ref[at]}) > ${tol} * ${scale}`,
  );
}

/** Plain JS batched matmul with numpy broadcasting of the batch dims (the test oracle). */
function referenceMatMul(a: Spec, b: Spec, ta: boolean, tb: boolean): Float32Array {
  const plan = planMatMul(a.shape, b.shape, ta, tb);
  const { m, n, k } = plan;
  const out = new Float32Array(plan.aIndex.length * m * n);
  for (let bi = 0; bi < plan.aIndex.length; bi++) {
    const ao = plan.aIndex[bi] * m * k;
    const bo = plan.bIndex[bi] * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = a.values[ao + (ta ? p * m + i : i * k + p)];
          const bv = b.values[bo + (tb ? j * k + p : p * n + j)];
          s += av * bv;
        }
        out[bi * m * n + i * n + j] = s;
      }
    }
  }
  return out;
}

function shapeOf(batch: number[], rows: number, cols: number, transposed: boolean): number[] {
  return [...batch, ...(transposed ? [cols, rows] : [rows, cols])];
}

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [7, 13, 5],
  [33, 17, 65],
  [128, 3, 10],
  [64, 100, 257],
];

Deno.test("planMatMul: broadcast batch shapes and folding", () => {
  const p = planMatMul([2, 1, 5, 4], [3, 4, 6], false, false);
  assertEquals(p.outShape, [2, 3, 5, 6]);
  assertEquals([...p.aIndex], [0, 0, 0, 1, 1, 1]);
  assertEquals([...p.bIndex], [0, 1, 2, 0, 1, 2]);
  assertEquals(p.foldBatch, false);
  assertEquals(planMatMul([3, 5, 4], [6, 4], false, true).foldBatch, true);
  assertEquals(planMatMul([3, 4, 5], [4, 6], true, false).foldBatch, false);
  let threw = false;
  try {
    planMatMul([2, 3], [4, 5], false, false);
  } catch (e) {
    threw = /inner shapes \(3\) and \(4\)/.test((e as Error).message);
  }
  assert(threw, "mismatched inner shapes must throw naming them");
});

Deno.test("cpu features: OpenBLAS core type from /proc/cpuinfo flags", () => {
  const flags = parseCpuFlags(
    "processor\t: 0\nflags\t\t: fpu sse avx avx2 fma avx512f avx512bw avx512vl avx512dq\n",
  );
  assert(flags !== undefined);
  assertEquals(coreTypeForFlags(flags), "SkylakeX");
  assertEquals(coreTypeForFlags(new Set(["avx", "avx2", "fma"])), "Haswell");
  assertEquals(coreTypeForFlags(new Set(["avx"])), "Sandybridge");
  assertEquals(coreTypeForFlags(new Set(["sse2"])), undefined);
  assertEquals(parseCpuFlags("no flags here"), undefined);
});

Deno.test({
  name: `wasm-blas matMul: every transpose combination, odd shapes${skip}`,
  ...blasTest,
  fn: async () => {
    const rng = new Rng(11);
    for (const [m, k, n] of SIZES) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = randomTensor(rng, shapeOf([], m, k, ta));
          const b = randomTensor(rng, shapeOf([], k, n, tb));
          const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, ta, tb);
          const [blas] = await onBackend(WASM_BLAS, [a, b], f);
          const [stock] = await onBackend("wasm", [a, b], f);
          const what = `m=${m} k=${k} n=${n} ta=${ta} tb=${tb}`;
          assertClose(blas, stock, `${what} vs stock wasm`);
          assertClose(blas, referenceMatMul(a, b, ta, tb), `${what} vs reference`);
        }
      }
    }
  },
});

Deno.test({
  name: `wasm-blas matMul: batch > 1 and broadcast batch dims${skip}`,
  ...blasTest,
  fn: async () => {
    const rng = new Rng(12);
    const cases: [number[], number[]][] = [
      [[3], [3]],
      [[3], []],
      [[], [4]],
      [[1], [4]],
      [[2, 3], [3]],
      [[2, 1], [1, 3]],
    ];
    for (const [ba, bb] of cases) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = randomTensor(rng, shapeOf(ba, 5, 9, ta));
          const b = randomTensor(rng, shapeOf(bb, 9, 6, tb));
          const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, ta, tb);
          const [blas] = await onBackend(WASM_BLAS, [a, b], f);
          const what = `batch [${ba}] x [${bb}] ta=${ta} tb=${tb}`;
          assertClose(blas, referenceMatMul(a, b, ta, tb), `${what} vs reference`);
          // Stock wasm flattens batch dims and pairs them modulo, which is only
          // right when one side has a single matrix or both have the same count.
          const sa = ba.reduce((p, d) => p * d, 1);
          const sb = bb.reduce((p, d) => p * d, 1);
          if (sa === 1 || sb === 1 || sa === sb) {
            const [stock] = await onBackend("wasm", [a, b], f);
            assertClose(blas, stock, `${what} vs stock wasm`);
          }
        }
      }
    }
  },
});

Deno.test({
  name: `wasm-blas sum: leading-axis reductions (SGEMV) and the rest match stock wasm${skip}`,
  ...blasTest,
  fn: async () => {
    const rng = new Rng(16);
    const cases: [number[], number | number[] | null][] = [
      [[37, 11], 0],
      [[37, 11], [0]],
      [[1, 64, 10], [0, 1]],
      [[3, 5, 7], [0, 1]],
      [[3, 5, 7], 0],
      [[3, 5, 7], [1, 0]],
      [[37, 11], 1],
      [[37, 11], -1],
      [[3, 5, 7], [0, 2]],
      [[3, 5, 7], null],
      [[9], 0],
      [[0, 4], 0],
    ];
    for (const [shape, axis] of cases) {
      for (const keepDims of [false, true]) {
        const x = randomTensor(rng, shape);
        const f = (t: tf.Tensor) => tf.sum(t, axis ?? undefined, keepDims);
        const what = `sum shape [${shape}] axis ${JSON.stringify(axis)} keepDims ${keepDims}`;
        await tf.setBackend(WASM_BLAS);
        const blasShape = tf.tidy(() => f(tf.tensor(x.values, shape)).shape);
        await tf.setBackend("wasm");
        const stockShape = tf.tidy(() => f(tf.tensor(x.values, shape)).shape);
        assertEquals(blasShape, stockShape, `${what}: shape`);
        const [blas] = await onBackend(WASM_BLAS, [x], f);
        const [stock] = await onBackend("wasm", [x], f);
        assertClose(blas, stock, what);
      }
    }
  },
});

/** Clone/cast/assign/dispose sequence; returns the values read and the leaked counts. */
async function aliasingScenario(backend: string): Promise<number[][]> {
  await tf.setBackend(backend);
  const be = tf.backend();
  const before = [tf.memory().numTensors, be.numDataIds()];
  const a = tf.tensor1d([1, 2, 3]);
  const b = tf.clone(a);
  const c = tf.cast(a, "float32");
  const f = tf.tensor1d([1.7, -2.2], "float32");
  const i = tf.cast(f, "int32");
  a.dispose();
  const v = tf.variable(tf.tensor1d([5, 6]));
  const snapshot = tf.clone(v);
  const next = tf.tensor1d([7, 8]);
  v.assign(next);
  next.dispose();
  const out = [
    [...await b.data()],
    [...await c.data()],
    [...await i.data()],
    [...await snapshot.data()],
    [...await v.data()],
  ];
  tf.dispose([b, c, f, i, v, snapshot]);
  const after = [tf.memory().numTensors, be.numDataIds()];
  return [...out, [after[0] - before[0], after[1] - before[1]]];
}

Deno.test({
  name: `wasm-blas identity/cast share memory safely (clone, cast, assign, dispose)${skip}`,
  ...blasTest,
  fn: async () => {
    const blas = await aliasingScenario(WASM_BLAS);
    assertEquals(blas.slice(0, 5), [[1, 2, 3], [1, 2, 3], [1, -2], [5, 6], [7, 8]]);
    assertEquals(blas, await aliasingScenario("wasm"), "same values and leak counts as stock");
  },
});

/** Bitwise equality of two float arrays (NaN-free inputs). */
function assertSameBits(x: Float32Array, y: Float32Array, what: string): void {
  assertEquals(x.length, y.length, `${what}: length`);
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) assert(false, `${what}: element ${i}: ${x[i]} !== ${y[i]}`);
  }
}

Deno.test("simd module: axpy, scale, step, stepmul match float32 JS arithmetic bit for bit", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const simd = instantiateSimd(memory);
  const f = new Float32Array(memory.buffer);
  const rng = new Rng(18);
  for (const n of [0, 1, 3, 4, 5, 16, 37]) {
    const a = randomArray(rng, n);
    const b = randomArray(rng, n);
    f.set(a, 0);
    f.set(b, 1000);
    const c = Math.fround(-0.37);
    simd.axpy(8000, 0, 4000, c, n);
    simd.scale(12000, 4000, c, n);
    const axpy = Array.from(a, (ai, i) => Math.fround(ai + Math.fround(c * b[i])));
    const scale = Array.from(b, (bi) => Math.fround(c * bi));
    assertSameBits(f.slice(2000, 2000 + n), new Float32Array(axpy), `axpy n=${n}`);
    assertSameBits(f.slice(3000, 3000 + n), new Float32Array(scale), `scale n=${n}`);
    assertEquals(f[2000 + n], 0, `axpy n=${n} writes nothing past n`);
    const x = randomArray(rng, n);
    if (n > 3) x.set([NaN, 0, -0], 0);
    f.set(x, 0);
    simd.stepmul(8000, 4000, 0, n);
    simd.step(12000, 0, n);
    const step = (v: number): number => (v > 0 ? 1 : Number.isNaN(v) ? v : 0);
    const sm = Array.from(x, (xi, i) => Math.fround(b[i] * step(xi)));
    const got = f.slice(2000, 2000 + n);
    const gotStep = f.slice(3000, 3000 + n);
    for (let i = 0; i < n; i++) {
      assert(Object.is(got[i], sm[i]), `stepmul n=${n} [${i}]: ${got[i]} vs ${sm[i]}`);
      assert(Object.is(gotStep[i], step(x[i])), `step n=${n} [${i}]: ${gotStep[i]}`);
    }
  }
});

Deno.test({
  name: `wasm-blas deferred scalar products: every use sees stock values${skip}`,
  ...blasTest,
  fn: async () => {
    const rng = new Rng(17);
    const n = LAZY_MIN_SIZE + 3;
    const g = randomTensor(rng, [n]);
    const v = randomTensor(rng, [n]);
    const w = randomTensor(rng, [n]);
    const c = { shape: [], values: new Float32Array([-0.37]) };
    const cases: [string, (c: tf.Tensor, g: tf.Tensor, v: tf.Tensor, w: tf.Tensor) => tf.Tensor][] =
      [
        ["read", (c, g) => tf.mul(c, g)],
        ["add(lazy, v)", (c, g, v) => tf.add(tf.mul(c, g), v)],
        ["add(v, lazy)", (c, g, v) => tf.add(v, tf.mul(g, c))],
        ["add(lazy, lazy)", (c, g, v) => tf.add(tf.mul(c, g), tf.mul(c, v))],
        ["add(x, x)", (c, g) => {
          const x = tf.mul(c, g);
          return tf.add(x, x);
        }],
        ["other kernel", (c, g) => tf.exp(tf.mul(c, g))],
        ["momentum", (c, g, v, w) => tf.add(tf.mul(c, tf.add(tf.mul(c, w), g)), v)],
        [
          "broadcast add",
          (c, g, v) => tf.add(tf.reshape(tf.mul(c, g), [1, n]), tf.reshape(v, [n])),
        ],
      ];
    for (const [what, f] of cases) {
      const [blas] = await onBackend(WASM_BLAS, [c, g, v, w], f);
      const [stock] = await onBackend("wasm", [c, g, v, w], f);
      assertSameBits(blas, stock, what);
    }
  },
});

/** Deferral lifetimes: returns values read, pending counts seen, and leaked data ids. */
async function lifetimeScenario(backendName: string): Promise<number[]> {
  await tf.setBackend(backendName);
  const backend = tf.backend() as BackendWasm;
  const ids = backend.numDataIds();
  const n = LAZY_MIN_SIZE * 2;
  const out: number[] = [];
  const three = tf.scalar(3);
  const g = tf.fill([n], 2);
  const lazy = tf.mul(three, g);
  out.push(pendingCount(backend));
  g.dispose();
  const ones = tf.fill([n], 1);
  const sum = tf.add(lazy, ones);
  out.push((await sum.data())[n - 1]);
  tf.dispose([lazy, sum, ones]);
  out.push(pendingCount(backend));
  const five = tf.fill([n], 5);
  const two = tf.scalar(2);
  const unused = tf.mul(five, two);
  unused.dispose();
  tf.dispose([five, two, three]);
  out.push(pendingCount(backend), backend.numDataIds() - ids);
  const four = tf.scalar(4);
  const half = tf.fill([n], 0.5);
  const moved = tf.mul(four, half);
  tf.dispose([four, half]);
  await tf.setBackend("wasm");
  const onStock = tf.add(moved, 1);
  out.push((await onStock.data())[0]);
  tf.dispose([moved, onStock]);
  return out;
}

Deno.test({
  name: `wasm-blas deferred scalar products: source lifetime, dispose, backend moves${skip}`,
  ...blasTest,
  fn: async () => {
    const blas = await lifetimeScenario(WASM_BLAS);
    // pending after mul, value, pending after dispose, pending after unused, leaked ids, moved value
    assertEquals(blas, [1, 7, 0, 0, 0, 3]);
    const stock = await lifetimeScenario("wasm");
    assertEquals(stock, [0, 7, 0, 0, 0, 3]);
  },
});

Deno.test({
  name:
    `wasm-blas deferred steps: relu-gradient pattern and other uses match stock bit for bit${skip}`,
  ...blasTest,
  fn: async () => {
    const rng = new Rng(19);
    const n = LAZY_MIN_SIZE + 5;
    const x = randomTensor(rng, [n]);
    x.values[0] = NaN;
    x.values[1] = 0;
    x.values[2] = -0;
    const dy = randomTensor(rng, [n]);
    const y = randomTensor(rng, [n]);
    const cases: [string, (x: tf.Tensor, dy: tf.Tensor, y: tf.Tensor) => tf.Tensor][] = [
      ["mul(dy, cast(step(x)))", (x, dy) => tf.mul(dy, tf.cast(tf.step(x), "float32"))],
      ["mul(step(x), dy)", (x, dy) => tf.mul(tf.step(x), dy)],
      ["read step(x)", (x) => tf.step(x)],
      ["step with alpha", (x, dy) => tf.mul(dy, tf.step(x, 0.5))],
      ["other kernel", (x) => tf.exp(tf.step(x))],
      ["mul(step(x), step(y))", (x, _dy, y) => tf.mul(tf.step(x), tf.step(y))],
      ["mul(step(x), step(x))", (x) => {
        const s = tf.step(x);
        return tf.mul(s, s);
      }],
      ["relu grad", (x, dy) => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), dy)))(x)],
    ];
    for (const [what, f] of cases) {
      const [blas] = await onBackend(WASM_BLAS, [x, dy, y], f);
      const [stock] = await onBackend("wasm", [x, dy, y], f);
      assertEquals(Number.isNaN(blas[0]), Number.isNaN(stock[0]), `${what}: NaN`);
      assertSameBits(blas.subarray(1), stock.subarray(1), what);
      assertEquals(Object.is(blas[2], -0), Object.is(stock[2], -0), `${what}: sign of zero`);
    }
  },
});

Deno.test({
  name: `wasm-blas deferred products: add(matMul, bias) and other uses match stock${skip}`,
  ...blasTest,
  fn: async () => {
    const rng = new Rng(20);
    const [m, k, n] = [130, 33, 129]; // m * n >= LAZY_MIN_SIZE
    const a = randomTensor(rng, [m, k]);
    const b = randomTensor(rng, [k, n]);
    const bias = randomTensor(rng, [n]);
    const full = randomTensor(rng, [m, n]);
    const col = randomTensor(rng, [m, 1]);
    type F = (
      a: tf.Tensor,
      b: tf.Tensor,
      bias: tf.Tensor,
      full: tf.Tensor,
      col: tf.Tensor,
    ) => tf.Tensor;
    const cases: [string, F][] = [
      ["add(mm, bias)", (a, b, bias) => tf.add(tf.matMul(a, b), bias)],
      ["add(bias, mm)", (a, b, bias) => tf.add(bias, tf.matMul(a, b))],
      ["add(mm, [1,n] bias)", (a, b, bias) => tf.add(tf.matMul(a, b), tf.reshape(bias, [1, n]))],
      ["add(mm, full)", (a, b, _bias, full) => tf.add(tf.matMul(a, b), full)],
      [
        "add(reshape(mm), full)",
        (a, b, _bias, full) =>
          tf.add(tf.reshape(tf.matMul(tf.reshape(a, [1, m, k]), b), [m, n]), full),
      ],
      ["add(mm, column) (not fused)", (a, b, _bias, _full, col) => tf.add(tf.matMul(a, b), col)],
      ["add(mm, mm)", (a, b) => {
        const p = tf.matMul(a, b);
        return tf.add(p, p);
      }],
      ["read mm", (a, b) => tf.matMul(a, b)],
      ["relu(add(mm, bias))", (a, b, bias) => tf.relu(tf.add(tf.matMul(a, b), bias))],
      ["mm of mm", (a, b) => tf.matMul(tf.matMul(a, b), tf.transpose(tf.matMul(a, b)))],
    ];
    for (const [what, f] of cases) {
      const [blas] = await onBackend(WASM_BLAS, [a, b, bias, full, col], f);
      const [stock] = await onBackend("wasm", [a, b, bias, full, col], f);
      assertClose(blas, stock, what);
    }
  },
});

/** Deferred product lifetimes; returns values, pending counts and leaked data ids. */
async function productScenario(backendName: string): Promise<number[]> {
  await tf.setBackend(backendName);
  const backend = tf.backend() as BackendWasm;
  const ids = backend.numDataIds();
  const out: number[] = [];
  const a = tf.fill([128, 4], 1);
  const b = tf.fill([4, 128], 0.5);
  const p = tf.matMul(a, b);
  out.push(pendingCount(backend));
  a.dispose();
  b.dispose();
  const bias = tf.fill([128], 1);
  const s = tf.add(p, bias);
  out.push((await s.data())[5], pendingCount(backend));
  out.push((await p.data())[7], pendingCount(backend));
  tf.dispose([p, s, bias]);
  const c = tf.fill([128, 4], 1);
  const unused = tf.matMul(c, c, false, true);
  unused.dispose();
  c.dispose();
  out.push(pendingCount(backend), backend.numDataIds() - ids);
  return out;
}

Deno.test({
  name: `wasm-blas deferred products: inputs outlive their tensors, no leaks${skip}`,
  ...blasTest,
  fn: async () => {
    // pending, value of add, pending, value of product, pending, pending, leaked ids
    assertEquals(await productScenario(WASM_BLAS), [1, 3, 1, 2, 0, 0, 0]);
    assertEquals(await productScenario("wasm"), [0, 3, 0, 2, 0, 0, 0]);
  },
});

const ACTIVATIONS = ["linear", "relu", "relu6", "leakyrelu", "sigmoid", "elu", "prelu"] as const;

function unfusedActivation(x: tf.Tensor, activation: string, alpha: tf.Tensor): tf.Tensor {
  switch (activation) {
    case "linear":
      return x;
    case "relu":
      return tf.relu(x);
    case "relu6":
      return tf.relu6(x);
    case "leakyrelu":
      return tf.leakyRelu(x, 0.3);
    case "sigmoid":
      return tf.sigmoid(x);
    case "elu":
      return tf.elu(x);
    case "prelu":
      return tf.prelu(x, alpha);
  }
  throw new Error(`unknown activation ${activation}`);
}

// Stock wasm's own _FusedMatMul adds the bias at wrong positions when an input
// is transposed or batched (tfjs 4.22), so the reference is the unfused
// composition matMul + add + activation on stock wasm; stock fused is compared
// only in the 2-D untransposed case where it is right.
Deno.test({
  name: `wasm-blas fused matMul: bias + every activation, transposes, batch${skip}`,
  ...blasTest,
  fn: async () => {
    const rng = new Rng(13);
    const [m, k, n] = [19, 23, 11];
    for (const activation of ACTIVATIONS) {
      for (const batch of [[], [2]]) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const a = randomTensor(rng, shapeOf(batch, m, k, ta));
            const b = randomTensor(rng, shapeOf(batch, k, n, tb));
            const bias = randomTensor(rng, [n]);
            const alpha = randomTensor(rng, [n]);
            const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor, w: tf.Tensor) =>
              tf.fused.matMul({
                a: x,
                b: y,
                transposeA: ta,
                transposeB: tb,
                bias: z,
                activation,
                preluActivationWeights: activation === "prelu" ? w : undefined,
                leakyreluAlpha: 0.3,
              });
            const what = `${activation} batch=[${batch}] ta=${ta} tb=${tb}`;
            const [blas] = await onBackend(WASM_BLAS, [a, b, bias, alpha], f);
            const [ref] = await onBackend(
              "wasm",
              [a, b, bias, alpha],
              (x, y, z, w) => unfusedActivation(tf.add(tf.matMul(x, y, ta, tb), z), activation, w),
            );
            assertClose(blas, ref, `${what} vs unfused stock wasm`);
            if (batch.length === 0 && !ta && !tb) {
              const [stock] = await onBackend("wasm", [a, b, bias, alpha], f);
              assertClose(blas, stock, `${what} vs fused stock wasm`);
            }
          }
        }
      }
    }
  },
});

Deno.test({
  name: `wasm-blas fused matMul: scalar and 2-D bias, no bias${skip}`,
  ...blasTest,
  fn: async () => {
    const rng = new Rng(14);
    const a = randomTensor(rng, [7, 5]);
    const b = randomTensor(rng, [5, 3]);
    for (const biasShape of [[1], [1, 3], [7, 3], [7, 1]]) {
      const bias = randomTensor(rng, biasShape);
      const [blas] = await onBackend(
        WASM_BLAS,
        [a, b, bias],
        (x, y, z) => tf.fused.matMul({ a: x, b: y, bias: z, activation: "relu" }),
      );
      const [ref] = await onBackend(
        "wasm",
        [a, b, bias],
        (x, y, z) => tf.relu(tf.add(tf.matMul(x, y), z)),
      );
      assertClose(blas, ref, `bias shape [${biasShape}]`);
    }
    const [blas] = await onBackend(WASM_BLAS, [a, b], (x, y) => tf.fused.matMul({ a: x, b: y }));
    assertClose(blas, referenceMatMul(a, b, false, false), "no bias vs reference");
  },
});

Deno.test({
  name: `wasm-blas gradients through tf.grads match stock wasm${skip}`,
  ...blasTest,
  fn: async () => {
    const rng = new Rng(15);
    for (const activation of ["linear", "relu"] as const) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = randomTensor(rng, shapeOf([], 17, 9, ta));
          const b = randomTensor(rng, shapeOf([], 9, 13, tb));
          const bias = randomTensor(rng, [13]);
          const w = randomTensor(rng, [17, 13]);
          const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor, v: tf.Tensor) =>
            tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) =>
              tf.sum(tf.mul(
                tf.fused.matMul({
                  a: p,
                  b: q,
                  bias: r,
                  transposeA: ta,
                  transposeB: tb,
                  activation,
                }),
                v,
              ))
            )([x, y, z]);
          const blas = await onBackend(WASM_BLAS, [a, b, bias, w], f);
          const stock = await onBackend("wasm", [a, b, bias, w], f);
          for (let i = 0; i < 3; i++) {
            assertClose(blas[i], stock[i], `${activation} ta=${ta} tb=${tb} grad ${i}`);
          }
        }
      }
    }
  },
});

/** Trains a 784-64-32-10 relu MLP for `steps` SGD (or momentum) steps; returns the losses. */
async function trainLosses(backend: string, momentum: boolean, steps: number): Promise<number[]> {
  await tf.setBackend(backend);
  const rng = new Rng(21);
  const sizes = [784, 64, 32, 10];
  const vars: tf.Variable[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const scale = Math.sqrt(6 / (sizes[l] + sizes[l + 1]));
    const w = randomArray(rng, sizes[l] * sizes[l + 1]).map((v) => v * scale);
    vars.push(tf.variable(tf.tensor2d(w, [sizes[l], sizes[l + 1]])));
    vars.push(tf.variable(tf.zeros([sizes[l + 1]])));
  }
  const batch = 32;
  const x = tf.tensor2d(randomArray(rng, batch * 784), [batch, 784]);
  const labels = Array.from({ length: batch }, () => rng.nextUint32() % 10);
  const y = tf.oneHot(tf.tensor1d(labels, "int32"), 10);
  const opt = momentum ? tf.train.momentum(0.05, 0.9) : tf.train.sgd(0.1);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = opt.minimize(() => {
      let h: tf.Tensor = x;
      for (let l = 0; l < 3; l++) {
        h = tf.fused.matMul({ a: h, b: vars[2 * l], bias: vars[2 * l + 1] });
        if (l < 2) h = tf.relu(h);
      }
      return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
    }, true) as tf.Scalar;
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  tf.dispose([...vars, x, y]);
  opt.dispose();
  return losses;
}

Deno.test({
  name: `wasm-blas training run: loss curve matches stock wasm (SGD and momentum)${skip}`,
  ...blasTest,
  fn: async () => {
    for (const momentum of [false, true]) {
      const blas = await trainLosses(WASM_BLAS, momentum, 15);
      const stock = await trainLosses("wasm", momentum, 15);
      assert(blas[14] < blas[0] * 0.7, `loss must fall: ${blas[0]} -> ${blas[14]}`);
      assertClose(
        new Float32Array(blas),
        new Float32Array(stock),
        `losses momentum=${momentum}`,
        1e-4,
      );
    }
  },
});

Deno.test("loadBlas: a bogus library path gives ok:false with a clear reason", () => {
  const r = loadBlas({ library: "/nonexistent/libnotablas.so" });
  assertEquals(r.ok, false);
  if (!r.ok) {
    assert(r.reason.includes("/nonexistent/libnotablas.so"), r.reason);
    assert(!r.reason.includes("\n"), "reason is one line");
  }
});

async function runProbe(permissions: string[], env: Record<string, string>): Promise<{
  ok: boolean;
  reason?: string;
  check?: number;
  library?: string;
  nativeMissing?: string;
}> {
  const script = new URL("../compute/wasm_blas/probe_main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, script, "--check"],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, `probe failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text.split("\n").at(-1) ?? "{}");
}

Deno.test("fast registerWasmBlasBackend: bogus NOTMNIST_BLAS_LIB runs the portable core and says why", async () => {
  const r = await runProbe(["--allow-read", "--allow-env", "--allow-ffi"], {
    NOTMNIST_BLAS_LIB: "/nonexistent/libbogus.so",
  });
  assertEquals(r.ok, true);
  assertEquals(r.library, PORTABLE_ENGINE);
  const why = r.nativeMissing;
  assert(why?.includes("NOTMNIST_BLAS_LIB") && why.includes("libbogus"), why);
  assertEquals(r.check, 11);
});

Deno.test("fast registerWasmBlasBackend: without --allow-ffi runs the portable core, naming the flag", async () => {
  const r = await runProbe(["--allow-read", "--allow-env"], {});
  assertEquals(r.ok, true);
  assertEquals(r.library, PORTABLE_ENGINE);
  assert(r.nativeMissing?.includes("--allow-ffi"), r.nativeMissing);
});

Deno.test("NOTMNIST_BLAS_LIB=none means: load no native library", () => {
  const r = loadBlas({ library: "none" });
  assert(!r.ok && r.reason.includes("no native library"), r.ok ? "loaded" : r.reason);
});

Deno.test({
  name: `registerWasmBlasBackend: a fresh process can compute on wasm-blas${skip}`,
  ignore: !probe.ok,
  fn: async () => {
    const r = await runProbe(["--allow-read", "--allow-env", "--allow-ffi"], {});
    assertEquals(r.ok, true);
    assertEquals(r.check, 11);
  },
});

/** Trains a small tfjs-layers MLP with fixed initial weights; returns the per-batch losses. */
async function layersLosses(backend: string, steps: number): Promise<number[]> {
  await tf.setBackend(backend);
  const rng = new Rng(31);
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [50], units: 40, activation: "relu" }),
      tfl.layers.dense({ units: 30, activation: "relu" }),
      tfl.layers.dense({ units: 5, activation: "softmax" }),
    ],
  });
  model.setWeights(
    model.getWeights().map((w) => {
      const values = randomArray(rng, w.size).map((v) => v * 0.3);
      return tf.tensor(values, w.shape);
    }),
  );
  model.compile({ optimizer: tf.train.sgd(0.2), loss: "categoricalCrossentropy" });
  const x = tf.tensor2d(randomArray(rng, 64 * 50), [64, 50]);
  const labels = Array.from({ length: 64 }, () => rng.nextUint32() % 5);
  const y = tf.oneHot(tf.tensor1d(labels, "int32"), 5);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(await model.trainOnBatch(x, y) as number);
  model.dispose();
  tf.dispose([x, y]);
  return losses;
}

Deno.test({
  name: `wasm-blas trains a tfjs-layers model like stock wasm${skip}`,
  ...blasTest,
  fn: async () => {
    const blas = await layersLosses(WASM_BLAS, 12);
    const stock = await layersLosses("wasm", 12);
    assert(blas[11] < blas[0], `loss must fall: ${blas[0]} -> ${blas[11]}`);
    assertClose(new Float32Array(blas), new Float32Array(stock), "layers losses", 1e-4);
  },
});
