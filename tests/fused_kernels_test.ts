// Each fused pass of models/train/fused_kernels.ts and models/train/fused_simd.ts against
// the tfjs ops it replaces (cpu backend: float32 JS kernels), bit for bit where
// the maths allows (every pass but the softmax, whose exp/log may differ in the
// last bit from a backend's and is checked for closeness).
import * as tf from "@tensorflow/tfjs-core";
import "../compute/cpu_backend.ts";
import { assert, assertEquals, assertThrows } from "../deps/assert.ts";
import { toFloat32 } from "../data.ts";
import { dropoutMask } from "../models/dropout.ts";
import {
  applyMask,
  dropoutReluBackward,
  fillBiasRows,
  gatherShiftBatch,
  PIXEL_VALUES,
  reluDropoutForward,
  softmaxCrossEntropyGrad,
  updateParams,
  type UpdateRule,
} from "../models/train/fused_kernels.ts";
import { fusedSimdModuleBytes, SimdArena } from "../models/train/fused_simd.ts";
import { shiftImages } from "../models/train/train.ts";
import { Rng } from "../utils/rng.ts";
import { toySet } from "./toy_data.ts";

await tf.setBackend("cpu");

/** Same bits (NaN payloads aside): compares the float32 words, -0 vs 0 included. */
function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i] && !(actual[i] !== actual[i] && expected[i] !== expected[i])) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.next() * 2 - 1) * scale;
  return a;
}

Deno.test("gatherShiftBatch = toFloat32 + shiftImages, bit for bit, for shifts 0..8", () => {
  const set = toySet(40, 5);
  const order = new Rng(9).permutation(set.count);
  for (const shift of [0, 1, 2, 3, 8]) {
    for (const [start, end] of [[0, 40], [7, 19], [39, 40]]) {
      const expected = toFloat32(set, order, start, end);
      shiftImages(expected, end - start, new Rng(shift * 100 + start), shift);
      const actual = new Float32Array((end - start) * 784).fill(NaN);
      gatherShiftBatch(set.images, order, start, end, actual, new Rng(shift * 100 + start), shift);
      assertSameBits(actual, expected, `shift ${shift}, rows ${start}..${end}`);
    }
  }
});

Deno.test("dropoutMask into a reused buffer = a fresh mask", () => {
  const out = new Float32Array(1000).fill(7);
  for (const [size, rate, seed] of [[1000, 0.3, 1], [333, 0.5, 2], [1, 0.1, 3]]) {
    dropoutMask(size, rate, seed, out);
    assertSameBits(out.subarray(0, size), dropoutMask(size, rate, seed), `size ${size}`);
  }
});

Deno.test("dropoutMask: the signed-compare loop keeps the masks of the unsigned one", () => {
  for (const rate of [0, 0.1, 0.3, 0.5, 0.9, 0.999999]) {
    const seed = 1234;
    const rng = new Rng(seed);
    const s = [rng.nextUint32(), rng.nextUint32(), rng.nextUint32(), rng.nextUint32()];
    let [a, b, c, d] = s.map((x) => x | 0);
    const threshold = Math.floor(rate * 4294967296);
    const expected = new Float32Array(5000);
    for (let i = 0; i < expected.length; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      expected[i] = (t >>> 0) < threshold ? 0 : 1 / (1 - rate);
    }
    assertSameBits(dropoutMask(expected.length, rate, seed), expected, `rate ${rate}`);
  }
});

Deno.test("fillBiasRows + reluDropoutForward = relu(z + b) * mask of tfjs, bit for bit", () => {
  const rng = new Rng(4);
  const [rows, n] = [13, 37];
  const bias = randomArray(rng, n);
  const z = new Float32Array(rows * n);
  fillBiasRows(z, bias, rows);
  const prod = randomArray(rng, rows * n);
  for (let i = 0; i < z.length; i++) z[i] += prod[i];
  const mask = dropoutMask(rows * n, 0.3, 5);
  const expected = tf.tidy(() => {
    const pre = tf.add(tf.tensor2d(prod, [rows, n]), tf.tensor1d(bias));
    return [tf.relu(pre).dataSync(), tf.mul(tf.relu(pre), tf.tensor2d(mask, [rows, n])).dataSync()];
  }) as Float32Array[];
  const out = new Float32Array(rows * n);
  const z2 = z.slice();
  reluDropoutForward(z, rows * n, true, mask, out);
  assertSameBits(z, expected[0], "relu");
  assertSameBits(out, expected[1], "relu * mask");
  reluDropoutForward(z2, rows * n, true);
  assertSameBits(z2, expected[0], "relu without dropout");
});

Deno.test("dropoutReluBackward = (dy * mask) * step(y) of tfjs, bit for bit (negative dy: -0)", () => {
  const rng = new Rng(6);
  const size = 501;
  const dy = randomArray(rng, size);
  const y = randomArray(rng, size).map((v) => (v < 0 ? 0 : v));
  y[3] = NaN;
  const mask = dropoutMask(size, 0.4, 7);
  const expected = tf.tidy(() =>
    tf.mul(tf.mul(tf.tensor1d(dy), tf.tensor1d(mask)), tf.step(tf.tensor1d(y))).dataSync()
  ) as Float32Array;
  const grad = dy.slice();
  dropoutReluBackward(grad, size, y, true, mask);
  assertSameBits(grad, expected, "dropout + relu gradient");
  const noMask = tf.tidy(() => tf.mul(tf.tensor1d(dy), tf.step(tf.tensor1d(y))).dataSync());
  const grad2 = dy.slice();
  dropoutReluBackward(grad2, size, y, true);
  assertSameBits(grad2, noMask as Float32Array, "relu gradient");
});

Deno.test("softmaxCrossEntropyGrad matches tfjs' loss, gradient and argmax (label smoothing too)", () => {
  const rng = new Rng(8);
  const [rows, classes] = [57, 10];
  const logits = randomArray(rng, rows * classes, 6);
  const labels = new Uint8Array(rows).map(() => rng.int(classes));
  for (const smoothing of [0, 0.1]) {
    const grad = new Float32Array(rows * classes);
    const r = softmaxCrossEntropyGrad(logits, labels, rows, classes, smoothing, grad);
    const x = tf.tensor2d(logits, [rows, classes]);
    const y = tf.cast(tf.oneHot(tf.tensor1d(labels, "int32"), classes), "float32");
    const f = (l: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, l, undefined, smoothing);
    const { value, grads } = tf.valueAndGrads(f)([x]);
    const expectedLoss = value.dataSync()[0];
    const expectedGrad = grads[0].dataSync();
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(x, 1), tf.argMax(y, 1)), "int32"));
    assertEquals(r.correct, correct.dataSync()[0]);
    assert(Math.abs(r.loss - expectedLoss) <= 1e-6 * Math.max(1, expectedLoss), `loss ${r.loss}`);
    let worst = 0;
    for (let i = 0; i < grad.length; i++) {
      worst = Math.max(worst, Math.abs(grad[i] - expectedGrad[i]));
    }
    assert(worst <= 1e-8, `largest gradient difference ${worst}`);
    tf.dispose([x, y, value, ...grads, correct]);
  }
});

const RULES: [string, UpdateRule][] = [
  ["sgd", { momentum: 0, useMomentum: false, nesterov: false }],
  ["momentum", { momentum: 0.9, useMomentum: true, nesterov: false }],
  ["nesterov", { momentum: 0.9, useMomentum: true, nesterov: true }],
];

/** The tfjs path: L2 gradient through the tape, the tfjs optimizer, `steps` steps. */
function tfjsUpdate(
  w0: Float32Array,
  grads: Float32Array[],
  lrs: number[],
  rule: UpdateRule,
  l2: number,
): Float32Array {
  const w = tf.variable(tf.tensor1d(w0));
  const opt = rule.useMomentum
    ? tf.train.momentum(lrs[0], rule.momentum, rule.nesterov)
    : tf.train.sgd(lrs[0]);
  grads.forEach((g, k) => {
    opt.setLearningRate(lrs[k]);
    const { grads: gs } = tf.variableGrads(() => {
      const data = tf.sum(tf.mul(w, tf.tensor1d(g)));
      return (l2 > 0 ? tf.add(data, tf.mul(l2, tf.sum(tf.square(w)))) : data) as tf.Scalar;
    }, [w]);
    opt.applyGradients(gs);
    tf.dispose(gs);
  });
  const out = w.dataSync() as Float32Array;
  w.dispose();
  opt.dispose();
  return Float32Array.from(out);
}

Deno.test("updateParams = tfjs' SGD / momentum / Nesterov with the L2 gradient, bit for bit", () => {
  const rng = new Rng(10);
  const n = 1003;
  const w0 = randomArray(rng, n);
  const grads = [randomArray(rng, n, 0.1), randomArray(rng, n, 0.1), randomArray(rng, n, 0.1)];
  const lrs = [0.05, 0.0371, 0.011];
  for (const [name, rule] of RULES) {
    for (const l2 of [0, 1e-4]) {
      const expected = tfjsUpdate(w0, grads, lrs, rule, l2);
      const w = w0.slice();
      const v = new Float32Array(n);
      grads.forEach((g, k) => updateParams(w, g, v, lrs[k], rule, l2));
      assertSameBits(w, expected, `${name}, l2 ${l2}`);
    }
  }
});

Deno.test("the SIMD optimizer pass gives the bits and sum of squares of updateParams", () => {
  const rng = new Rng(11);
  for (const n of [1, 3, 4, 5, 16, 37, 1026]) {
    for (const [name, rule] of RULES) {
      for (const l2 of [0, 1e-4]) {
        const arena = new SimdArena(4 * n + 64);
        const [w, g, v] = [arena.alloc(n), arena.alloc(n), arena.alloc(n)];
        w.set(randomArray(rng, n));
        v.set(randomArray(rng, n, 0.01));
        const [w2, v2] = [w.slice(), v.slice()];
        for (let k = 0; k < 3; k++) {
          g.set(randomArray(rng, n, 0.1));
          const a = arena.update(w, g, v, 0.05 / (k + 1), rule, l2);
          const b = updateParams(w2, g, v2, 0.05 / (k + 1), rule, l2);
          assertEquals(a, b, `${name} n=${n} l2=${l2}: sum of squares`);
        }
        assertSameBits(w, w2, `${name} n=${n} l2=${l2}: weights`);
        if (rule.useMomentum) assertSameBits(v, v2, `${name} n=${n} l2=${l2}: velocity`);
      }
    }
  }
});

Deno.test("the SIMD relu/dropout passes give the bits of the JS passes (NaN, -0, odd sizes)", () => {
  const rng = new Rng(12);
  for (const size of [1, 3, 4, 7, 64, 1027]) {
    const arena = new SimdArena(12 * size + 256);
    const buf = () => arena.alloc(size);
    const [z, mask, out, grad, y] = [buf(), buf(), buf(), buf(), buf()];
    z.set(randomArray(rng, size));
    if (size > 3) [z[0], z[1], z[2]] = [NaN, -0, 0];
    mask.set(dropoutMask(size, 0.3, size));
    for (const relu of [true, false]) {
      for (const withMask of [true, false]) {
        const [zJ, outJ] = [z.slice(), new Float32Array(size)];
        const [zS, outS] = [buf(), buf()];
        zS.set(z);
        const m = withMask ? mask : undefined;
        reluDropoutForward(zJ, size, relu, m, withMask ? outJ : undefined);
        arena.reluDropoutForward(zS, size, relu, m, withMask ? outS : undefined);
        assertSameBits(zS, zJ, `forward z, size ${size} relu ${relu} mask ${withMask}`);
        assertSameBits(outS, outJ, `forward out, size ${size} relu ${relu} mask ${withMask}`);
        grad.set(randomArray(rng, size));
        y.set(zJ);
        const gJ = grad.slice();
        dropoutReluBackward(gJ, size, y, relu, m);
        arena.dropoutReluBackward(grad, size, y, relu, m);
        assertSameBits(grad, gJ, `backward, size ${size} relu ${relu} mask ${withMask}`);
      }
    }
    const expected = new Float32Array(size);
    applyMask(z, mask, expected, size);
    arena.applyMask(z, mask, out, size);
    assertSameBits(out, expected, `applyMask, size ${size}`);
  }
});

Deno.test("SimdArena refuses foreign buffers and overflow; its module validates", () => {
  assert(WebAssembly.validate(fusedSimdModuleBytes()));
  const arena = new SimdArena(64);
  const w = arena.alloc(8);
  let threw = false;
  try {
    arena.update(w, new Float32Array(8), new Float32Array(8), 0.1, RULES[1][1], 0);
  } catch {
    threw = true;
  }
  assert(threw, "a gradient outside the arena must be refused");
  threw = false;
  try {
    arena.alloc(1e9);
  } catch {
    threw = true;
  }
  assert(threw, "an allocation past the arena's size must be refused");
});

Deno.test("a SimdArena in a region of a shared memory: same bits, views valid after the memory grows", () => {
  assert(WebAssembly.validate(fusedSimdModuleBytes(true)));
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 8, shared: true });
  // A region starting off a 64-byte boundary, as a heap's malloc may return.
  const region = { memory, byteOffset: 1000, byteLength: 40_000 };
  const n = 1027;
  const arena = new SimdArena(3 * n + 64, region);
  const [w, g, v] = [arena.alloc(n), arena.alloc(n), arena.alloc(n)];
  assert(w.byteOffset >= 1000 && w.byteOffset % 64 === 0, "aligned inside the region");
  assert(v.byteOffset + 4 * n <= 41_000, "inside the region");
  const rng = new Rng(13);
  w.set(randomArray(rng, n));
  const [w2, v2] = [w.slice(), v.slice()];
  const rule = RULES[2][1];
  memory.grow(1); // the memory's buffer is a new object now; the arena's views stay valid
  for (let k = 0; k < 3; k++) {
    g.set(randomArray(rng, n, 0.1));
    const a = arena.update(w, g, v, 0.05, rule, 1e-4);
    const b = updateParams(w2, g, v2, 0.05, rule, 1e-4);
    assertEquals(a, b, "sum of squares");
  }
  assertSameBits(w, w2, "weights");
  assertSameBits(v, v2, "velocity");
  assertThrows(() => new SimdArena(20_000, region), /cannot hold/);
  const plain = new WebAssembly.Memory({ initial: 1 });
  assertThrows(
    () => new SimdArena(16, { memory: plain, byteOffset: 0, byteLength: 1024 }),
    /shared memory/,
  );
});

Deno.test("SimdArena.dropoutMask gives the masks of dropoutMask (rates 0..0.999, odd sizes)", () => {
  const arena = new SimdArena(20000);
  const out = arena.alloc(10007);
  for (const rate of [0, 1e-9, 0.1, 0.3, 0.5, 0.999]) {
    for (const [seed, size] of [[0, 1], [7, 5], [123456789, 4099], [0xffffffff, 10007]]) {
      out.fill(-1);
      const got = arena.dropoutMask(size, rate, seed, out);
      assertEquals(Array.from(got.subarray(0, size)), Array.from(dropoutMask(size, rate, seed)));
      if (size < out.length) assertEquals(out[size], -1);
    }
  }
});

Deno.test("SimdArena.gatherShiftBatch = gatherShiftBatch, bit for bit, for shifts 0..30", () => {
  const set = toySet(40, 5);
  const order = new Rng(9).permutation(set.count);
  const arena = new SimdArena(40 * 784 + 1024);
  const out = arena.alloc(40 * 784);
  const stage = arena.alloc(196);
  const table = arena.alloc(256);
  table.set(PIXEL_VALUES);
  for (const shift of [0, 1, 2, 3, 8, 30]) {
    for (const [start, end] of [[0, 40], [7, 19], [39, 40]]) {
      const expected = new Float32Array((end - start) * 784);
      gatherShiftBatch(set.images, order, start, end, expected, new Rng(shift + start), shift);
      out.fill(NaN);
      arena.gatherShiftBatch(
        set.images,
        order,
        start,
        end,
        out,
        stage,
        table,
        new Rng(shift + start),
        shift,
      );
      assertSameBits(
        out.subarray(0, expected.length),
        expected,
        `shift ${shift}, rows ${start}..${end}`,
      );
    }
  }
});
