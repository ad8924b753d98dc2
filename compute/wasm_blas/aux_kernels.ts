/**
 * Cheaper versions of stock wasm kernels that a training step calls often:
 * `Identity` and same-dtype `Cast` share the input's memory (reference counted,
 * as tfjs' cpu backend and wasm's own `Reshape` do) instead of copying it, and
 * `Sum` over the leading axes (the bias gradient) is one SGEMV with a vector of
 * ones instead of stock wasm's transpose + reduce.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { BlasLibrary } from "../blas/library.ts";
import { f32View, sizeOf } from "./heap.ts";

function alias(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

/**
 * `Identity` without a copy; strings go to `fallback` (the stock kernel).
 * Aliasing keeps the same data id, so a deferred input stays deferred.
 */
export function identityKernel(fallback: KernelFunc): KernelFunc {
  return (params) => {
    const x = params.inputs.x as TensorInfo;
    if (x.dtype === "string") return fallback(params);
    return alias(params.backend as BackendWasm, x);
  };
}

/** `Cast` to the same dtype without a copy; real conversions go to `fallback`. */
export function castKernel(fallback: KernelFunc): KernelFunc {
  return (params) => {
    const x = params.inputs.x as TensorInfo;
    const { dtype } = params.attrs as { dtype: string };
    if (x.dtype === "string" || x.dtype !== dtype) return fallback(params);
    return alias(params.backend as BackendWasm, x);
  };
}

/**
 * The number of leading axes `axis` reduces when it is exactly `[0 .. p-1]`
 * with `0 < p < rank`, else 0 (reductions left to the stock kernel).
 */
export function leadingAxes(axis: number | number[] | null | undefined, shape: number[]): number {
  if (shape.length < 2) return 0;
  const axes = tf.util.parseAxisParam(axis ?? (null as unknown as number[]), shape).sort((a, b) =>
    a - b
  );
  if (axes.length === 0 || axes.length >= shape.length) return 0;
  for (let i = 0; i < axes.length; i++) if (axes[i] !== i) return 0;
  return axes.length;
}

/**
 * `Sum` over the leading axes of a float32 tensor as `y = A^T * ones` (SGEMV);
 * every other reduction goes to `fallback` (the stock kernel).
 */
export function sumKernel(blas: BlasLibrary, fallback: KernelFunc): KernelFunc {
  let ones = new Float32Array(0);
  return (params) => {
    const x = params.inputs.x as TensorInfo;
    const { axis, keepDims } = params.attrs as {
      axis: number | number[] | null;
      keepDims: boolean;
    };
    const p = x.dtype === "float32" ? leadingAxes(axis, x.shape) : 0;
    const rows = sizeOf(x.shape.slice(0, p));
    const cols = sizeOf(x.shape.slice(p));
    if (p === 0 || rows === 0 || cols === 0) return fallback(params);
    const backend = params.backend as BackendWasm;
    const outShape = keepDims
      ? [...x.shape.slice(0, p).map(() => 1), ...x.shape.slice(p)]
      : x.shape.slice(p);
    const out = backend.makeOutput(outShape, "float32");
    if (ones.length < rows) ones = new Float32Array(rows).fill(1);
    blas.sgemv(true, rows, cols, 1, f32View(backend, x), cols, ones, 0, f32View(backend, out));
    return out;
  };
}
