/**
 * Fused elementwise passes of one MLP training step on plain `Float32Array`s,
 * each replacing a chain of tfjs ops (and their temporaries) by one loop:
 *
 * - {@link gatherShiftBatch}: uint8 pixels -> float32 in [0, 1], with the
 *   random +-k pixel shift of each image (= `toFloat32` + `shiftImages`);
 * - {@link fillBiasRows}, {@link reluDropoutForward}: the bias before an SGEMM
 *   with `beta = 1`, relu and the dropout mask after it;
 * - {@link softmaxCrossEntropyGrad}: softmax, cross-entropy (label smoothing),
 *   its gradient and the count of correct predictions;
 * - {@link dropoutReluBackward}: the gradient through dropout and relu;
 * - {@link updateParams}: the L2 gradient, the
 *   (Nesterov) momentum and the weight update of a parameter array, plus the
 *   sum of squares the L2 penalty needs.
 *
 * Every pass rounds to float32 after each operation, in the order the tfjs
 * kernels do (`Math.fround`; a float32 `+`/`*` computed in float64 and rounded
 * once is exactly the float32 result), so these passes are bit-identical to
 * the tfjs ops they replace - except the softmax, whose `exp`/`log` are
 * JavaScript's (float64, rounded) and may differ from the wasm kernels' `expf`
 * and `logf` in the last bit.
 *
 * ```ts
 * import { sgdUpdate } from "./fused_kernels.ts";
 *
 * const w = new Float32Array([1, 2]);
 * const g = new Float32Array([0.5, -0.5]);
 * sgdUpdate(w, g, 0.1, 0); // w = w - 0.1 g, no L2
 * console.log(w); // Float32Array [0.95, 2.05]
 * ```
 *
 * @module
 */
import { IMAGE_SIZE, PIXELS } from "../../data/types.ts";
import type { Rng } from "../../utils/rng.ts";

const f = Math.fround;

/** `byte * (1 / 255)` rounded to float32, for every byte (a lookup instead of a product). */
export const PIXEL_VALUES: Float32Array = Float32Array.from(
  { length: 256 },
  (_, b) => b * (1 / 255),
);

/**
 * Writes the images `order[start..end)` of `images` (N x 784 bytes) as float32
 * pixels `byte * (1 / 255)` into `out` (row-major, one image per row), each
 * shifted by a random (dx, dy) in [-maxShift, maxShift]^2 drawn from `rng`
 * (dx first, two draws per image, uncovered pixels 0) when `rng` is given and
 * `maxShift > 0`. Bit-identical to `toFloat32` followed by `shiftImages`.
 */
export function gatherShiftBatch(
  images: Uint8Array,
  order: ArrayLike<number>,
  start: number,
  end: number,
  out: Float32Array,
  rng?: Rng,
  maxShift = 0,
): void {
  const span = 2 * maxShift + 1;
  for (let r = 0; r < end - start; r++) {
    const s = order[start + r] * PIXELS;
    const d = r * PIXELS;
    let dx = 0;
    let dy = 0;
    if (rng !== undefined && maxShift > 0) {
      dx = rng.int(span) - maxShift;
      dy = rng.int(span) - maxShift;
    }
    if (dx === 0 && dy === 0) {
      for (let p = 0; p < PIXELS; p++) out[d + p] = PIXEL_VALUES[images[s + p]];
      continue;
    }
    // Columns x0..x1 of a row come from the source; the others are uncovered (0).
    const x0 = Math.max(0, dx);
    const x1 = Math.min(IMAGE_SIZE, IMAGE_SIZE + dx);
    for (let y = 0; y < IMAGE_SIZE; y++) {
      const sy = y - dy;
      const row = d + y * IMAGE_SIZE;
      if (sy < 0 || sy >= IMAGE_SIZE || x0 >= x1) {
        out.fill(0, row, row + IMAGE_SIZE);
        continue;
      }
      const srow = s + sy * IMAGE_SIZE - dx;
      for (let x = 0; x < x0; x++) out[row + x] = 0;
      for (let x = x0; x < x1; x++) out[row + x] = PIXEL_VALUES[images[srow + x]];
      for (let x = x1; x < IMAGE_SIZE; x++) out[row + x] = 0;
    }
  }
}

/** Writes `bias` (n values) into each of the `rows` rows of `out` (row-major, n columns). */
export function fillBiasRows(out: Float32Array, bias: Float32Array, rows: number): void {
  const n = bias.length;
  for (let off = 0; off < rows * n; off += n) out.set(bias, off);
}

/**
 * The first `size` values of `z`: relu in place when `relu` (`z < 0 -> 0`,
 * as the wasm-blas fused kernel), then `out = z * mask` when a dropout `mask`
 * is given (`out` may be absent without a mask).
 */
export function reluDropoutForward(
  z: Float32Array,
  size: number,
  relu: boolean,
  mask?: Float32Array,
  out?: Float32Array,
): void {
  if (relu && mask !== undefined && out !== undefined) {
    for (let i = 0; i < size; i++) {
      let v = z[i];
      if (v < 0) z[i] = v = 0;
      out[i] = v * mask[i];
    }
    return;
  }
  if (relu) {
    for (let i = 0; i < size; i++) if (z[i] < 0) z[i] = 0;
  }
  if (mask !== undefined && out !== undefined) {
    for (let i = 0; i < size; i++) out[i] = z[i] * mask[i];
  }
}

/** Input dropout: `out = x * mask` over `size` values. */
export function applyMask(
  x: Float32Array,
  mask: Float32Array,
  out: Float32Array,
  size: number,
): void {
  for (let i = 0; i < size; i++) out[i] = x[i] * mask[i];
}

/**
 * The gradient through dropout and relu, in place on `grad` (`size` values):
 * `grad = (grad * mask) * step(y)` with `step(y)` = 1 for `y > 0`, NaN for NaN,
 * else 0 (tfjs' `step`); either factor is skipped when absent (`mask`
 * undefined, `relu` false).
 */
export function dropoutReluBackward(
  grad: Float32Array,
  size: number,
  y: Float32Array,
  relu: boolean,
  mask?: Float32Array,
): void {
  if (mask !== undefined) {
    if (relu) {
      for (let i = 0; i < size; i++) {
        const v = y[i];
        const s = v > 0 ? 1 : v !== v ? v : 0;
        grad[i] = f(grad[i] * mask[i]) * s;
      }
    } else {
      for (let i = 0; i < size; i++) grad[i] = grad[i] * mask[i];
    }
    return;
  }
  if (relu) {
    for (let i = 0; i < size; i++) {
      const v = y[i];
      const s = v > 0 ? 1 : v !== v ? v : 0;
      grad[i] = grad[i] * s;
    }
  }
}

/** What {@link softmaxCrossEntropyGrad} returns for a batch. */
export interface SoftmaxCrossEntropyResult {
  /** Mean cross-entropy over the rows (float32 arithmetic, like tfjs' loss). */
  loss: number;
  /** Rows whose first largest logit is at the label. */
  correct: number;
}

/**
 * Softmax cross-entropy of `rows` x `classes` logits against integer labels
 * (with label smoothing `smoothing`: target `onehot * (1 - s) + s / classes`),
 * averaged over the rows; writes `d loss / d logits` into `grad`. Follows
 * tfjs' `losses.softmaxCrossEntropy` operation by operation (`logSumExp` with
 * the row maximum, `SUM_BY_NONZERO_WEIGHTS` mean), in float32.
 */
export function softmaxCrossEntropyGrad(
  logits: Float32Array,
  labels: Uint8Array,
  rows: number,
  classes: number,
  smoothing: number,
  grad: Float32Array,
): SoftmaxCrossEntropyResult {
  const s = f(smoothing);
  const on = smoothing > 0 ? f(f(1 - s) + f(s / classes)) : 1;
  const off = smoothing > 0 ? f(s / classes) : 0;
  const dy = f(1 / rows);
  let lossSum = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    const label = labels[r];
    let max = logits[o];
    let arg = 0;
    for (let j = 1; j < classes; j++) {
      const v = logits[o + j];
      if (v > max) {
        max = v;
        arg = j;
      }
    }
    if (arg === label) correct++;
    let sum = 0;
    for (let j = 0; j < classes; j++) sum = f(sum + f(Math.exp(f(logits[o + j] - max))));
    const lse = f(max + f(Math.log(sum)));
    let cost = 0;
    for (let j = 0; j < classes; j++) {
      const t = j === label ? on : off;
      const lr = f(logits[o + j] - lse);
      cost = f(cost + -f(lr * t));
      grad[o + j] = f(dy * f(f(Math.exp(lr)) - t));
    }
    lossSum = f(lossSum + cost);
  }
  return { loss: f(lossSum / rows), correct };
}

/** Optimizer settings of {@link updateParams}: plain SGD, momentum, or Nesterov momentum. */
export interface UpdateRule {
  /** Momentum coefficient (ignored for plain SGD). */
  momentum: number;
  /** Whether a velocity is kept (false = plain SGD). */
  useMomentum: boolean;
  /** Nesterov's look-ahead update (with `useMomentum`). */
  nesterov: boolean;
}

/**
 * One optimizer step on elements `[from, to)` of a parameter array, L2
 * included, in one pass: `g' = g + l2 * (2 w)` (when `l2 > 0`), then for
 * momentum `v = m v + g'` and `w = w - lr (g' + m v)` (Nesterov) or
 * `w = w - lr v`, for plain SGD `w = w - lr g'`; each operation in float32 in
 * the order of tfjs' `SGDOptimizer` / `MomentumOptimizer` and of the `Square`
 * gradient (learning rate, momentum and L2 rounded to float32 first, as tfjs'
 * scalars are). `v` is unused for plain SGD.
 *
 * Returns the sum of the float32 squares `w^2` of the weights before the step
 * when `l2 > 0` (for the L2 penalty), else 0: four float64 lane sums (element
 * `i` in lane `(i - from) % 4`) combined as `(s0 + s2) + (s1 + s3)`, the order
 * of the SIMD version in fused_simd.ts.
 */
export function updateRange(
  w: Float32Array,
  g: Float32Array,
  v: Float32Array,
  from: number,
  to: number,
  lr: number,
  rule: UpdateRule,
  l2: number,
): number {
  const c = f(-lr);
  const m = f(rule.momentum);
  const l = f(l2);
  const kind = rule.useMomentum ? (rule.nesterov ? 2 : 1) : 0;
  if (!(l2 > 0)) {
    // One loop per rule, no branch per element.
    if (kind === 2) {
      for (let i = from; i < to; i++) {
        const gi = g[i];
        const vi = f(f(m * v[i]) + gi);
        v[i] = vi;
        w[i] = f(c * f(gi + f(vi * m))) + w[i];
      }
    } else if (kind === 1) {
      for (let i = from; i < to; i++) {
        const vi = f(f(m * v[i]) + g[i]);
        v[i] = vi;
        w[i] = f(c * vi) + w[i];
      }
    } else {
      for (let i = from; i < to; i++) w[i] = f(c * g[i]) + w[i];
    }
    return 0;
  }
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = from; i < to; i++) {
    const wi = w[i];
    const sq = f(wi * wi);
    const lane = (i - from) & 3;
    if (lane === 0) s0 += sq;
    else if (lane === 1) s1 += sq;
    else if (lane === 2) s2 += sq;
    else s3 += sq;
    const gi = f(g[i] + f(l * (wi * 2)));
    if (kind === 0) {
      w[i] = f(c * gi) + wi;
      continue;
    }
    const vi = f(f(m * v[i]) + gi);
    v[i] = vi;
    w[i] = f(c * (kind === 2 ? f(gi + f(vi * m)) : vi)) + wi;
  }
  return (s0 + s2) + (s1 + s3);
}

/**
 * {@link updateRange} over a whole parameter array, in two ranges (the
 * multiple-of-4 part, then the rest) so that the returned sum of squares is
 * the same as the SIMD version's.
 */
export function updateParams(
  w: Float32Array,
  g: Float32Array,
  v: Float32Array,
  lr: number,
  rule: UpdateRule,
  l2: number,
): number {
  const n4 = w.length & ~3;
  return updateRange(w, g, v, 0, n4, lr, rule, l2) +
    updateRange(w, g, v, n4, w.length, lr, rule, l2);
}
