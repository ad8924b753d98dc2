/**
 * `BatchMatMul` and `_FusedMatMul` for the `wasm-blas` backend: one native
 * SGEMM per output matrix (or one for the whole batch when `B` is shared),
 * reading and writing the tfjs wasm heap in place.
 *
 * @module
 */
import type { KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { BlasLibrary } from "../blas/library.ts";
import { f32View, sizeOf } from "./heap.ts";
import { type MatMulPlan, planMatMul } from "./matmul_plan.ts";
import { deferProducer, LAZY_MIN_SIZE } from "./lazy_scale.ts";

/** Runs a kernel registered for the backend by name (used for rare fused activations). */
export type KernelRunner = (
  backend: BackendWasm,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
) => TensorInfo;

function requireFloat32(kernel: string, a: TensorInfo, b: TensorInfo): void {
  if (a.dtype !== "float32" || b.dtype !== "float32") {
    throw new Error(`${kernel} for non non-float32 tensors not yet supported.`);
  }
}

/** Runs the GEMMs of `plan` into `out` (already allocated, views taken after allocation). */
function gemmInto(
  blas: BlasLibrary,
  plan: MatMulPlan,
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  transposeA: boolean,
  transposeB: boolean,
  beta: number,
): void {
  const { m, n, k } = plan;
  if (out.length === 0) return;
  if (k === 0) {
    if (beta === 0) out.fill(0);
    return;
  }
  const lda = transposeA ? m : k;
  const ldb = transposeB ? k : n;
  if (plan.foldBatch) {
    const rows = m * plan.aIndex.length;
    blas.sgemm(false, transposeB, rows, n, k, 1, a, lda, b, ldb, beta, out, n);
    return;
  }
  const aSize = m * k;
  const bSize = k * n;
  const oSize = m * n;
  for (let i = 0; i < plan.aIndex.length; i++) {
    const ai = plan.aIndex[i] * aSize;
    const bi = plan.bIndex[i] * bSize;
    blas.sgemm(
      transposeA,
      transposeB,
      m,
      n,
      k,
      1,
      a.subarray(ai, ai + aSize),
      lda,
      b.subarray(bi, bi + bSize),
      ldb,
      beta,
      out.subarray(i * oSize, (i + 1) * oSize),
      n,
    );
  }
}

/**
 * The `BatchMatMul` kernel function over `blas`. Large products are deferred
 * (lazy_scale.ts): an `Add` of the product and a bias then runs as one GEMM
 * into the bias-filled output; any other use computes the product first.
 */
export function batchMatMulKernel(blas: BlasLibrary): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const wasm = backend as BackendWasm;
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    requireFloat32("BatchMatMul", a, b);
    const plan = planMatMul(a.shape, b.shape, transposeA, transposeB);
    const fill = (w: BackendWasm, out: TensorInfo, beta: 0 | 1): void =>
      gemmInto(
        blas,
        plan,
        f32View(w, a),
        f32View(w, b),
        f32View(w, out),
        transposeA,
        transposeB,
        beta,
      );
    if (sizeOf(plan.outShape) >= LAZY_MIN_SIZE) {
      const held = [a.dataId, b.dataId];
      const out = deferProducer(wasm, plan.outShape, {
        fill,
        release: (w) => held.forEach((id) => w.disposeData(id)),
      });
      if (out !== undefined) {
        held.forEach((id) => wasm.incRef(id));
        return out;
      }
    }
    const out = wasm.makeOutput(plan.outShape, "float32");
    fill(wasm, out, 0);
    return out;
  };
}

/** Whether `bias` broadcasts to `[..., n]` as one value per output column (or one scalar). */
function biasKind(bias: TensorInfo, n: number): "row" | "scalar" | "general" {
  const size = sizeOf(bias.shape);
  if (size === 1) return "scalar";
  if (bias.shape.length >= 1 && bias.shape[bias.shape.length - 1] === n && size === n) {
    return "row";
  }
  return "general";
}

function fillBias(out: Float32Array, bias: Float32Array, kind: "row" | "scalar", n: number): void {
  if (kind === "scalar") {
    out.fill(bias[0]);
    return;
  }
  for (let off = 0; off < out.length; off += n) out.set(bias, off);
}

/** Applies an elementwise activation in place; returns false for ones left to the stock kernels. */
function activateInPlace(x: Float32Array, activation: string, alpha: number): boolean {
  const len = x.length;
  switch (activation) {
    case "linear":
      return true;
    case "relu":
      for (let i = 0; i < len; i++) if (x[i] < 0) x[i] = 0;
      return true;
    case "relu6":
      for (let i = 0; i < len; i++) {
        const v = x[i];
        x[i] = v < 0 ? 0 : v > 6 ? 6 : v;
      }
      return true;
    case "leakyrelu":
      for (let i = 0; i < len; i++) if (x[i] < 0) x[i] *= alpha;
      return true;
    default:
      return false;
  }
}

const IN_PLACE_ACTIVATIONS = new Set(["linear", "relu", "relu6", "leakyrelu"]);

const STOCK_ACTIVATION: Record<string, string> = {
  sigmoid: "Sigmoid",
  elu: "Elu",
  prelu: "Prelu",
};

/**
 * The `_FusedMatMul` kernel function over `blas`: the bias is written into the
 * output before an SGEMM with `beta = 1`; linear, relu, relu6 and leakyrelu are
 * applied in place; sigmoid, elu and prelu through the stock kernels (`run`).
 */
export function fusedMatMulKernel(blas: BlasLibrary, run: KernelRunner): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const wasm = backend as BackendWasm;
    const { a, b, bias, preluActivationWeights } = inputs as {
      a: TensorInfo;
      b: TensorInfo;
      bias?: TensorInfo;
      preluActivationWeights?: TensorInfo;
    };
    const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as {
      transposeA: boolean;
      transposeB: boolean;
      activation?: string;
      leakyreluAlpha?: number;
    };
    requireFloat32("_FusedMatMul", a, b);
    const act = activation ?? "linear";
    if (!IN_PLACE_ACTIVATIONS.has(act) && !(act in STOCK_ACTIVATION)) {
      throw new Error(`${act} activation not yet supported for _FusedMatMul in wasm-blas.`);
    }
    const plan = planMatMul(a.shape, b.shape, transposeA, transposeB);
    let out = wasm.makeOutput(plan.outShape, "float32");
    const kind = bias == null ? undefined : biasKind(bias, plan.n);
    const outView = f32View(wasm, out);
    let beta = 0;
    if (bias != null && kind !== "general" && kind !== undefined) {
      fillBias(outView, f32View(wasm, bias), kind, plan.n);
      beta = 1;
    }
    gemmInto(
      blas,
      plan,
      f32View(wasm, a),
      f32View(wasm, b),
      outView,
      transposeA,
      transposeB,
      beta,
    );
    if (bias != null && kind === "general") {
      const summed = run(wasm, "Add", { a: out, b: bias }, {});
      wasm.disposeData(out.dataId);
      out = summed;
    }
    if (!activateInPlace(f32View(wasm, out), act, leakyreluAlpha ?? 0.2)) {
      const stock = STOCK_ACTIVATION[act];
      const activated = act === "prelu"
        ? run(wasm, stock, { x: out, alpha: preluActivationWeights as TensorInfo }, {})
        : run(wasm, stock, { x: out }, {});
      wasm.disposeData(out.dataId);
      out = activated;
    }
    return out;
  };
}
