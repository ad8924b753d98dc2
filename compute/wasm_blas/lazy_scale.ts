/**
 * Deferred scalar products and steps, so an optimizer update and a relu
 * gradient each run as one fused pass.
 *
 * tfjs' SGD computes `add(mul(-lr, grad), value)` and momentum
 * `add(mul(m, acc), grad)`, each a Multiply pass writing a full-size temporary
 * and an Add pass reading it back. Here a float32 `Multiply` of a scalar by a
 * large tensor only allocates its output and records `(c, src)`; an `Add` of
 * that pending tensor and a same-shape tensor then computes `a + c * src` in a
 * single SIMD pass (bit-identical to the two stock kernels), and the pending
 * output is never filled. Likewise `Step(x)` is deferred and `Multiply(dy,
 * step)` computes `dy * step(x)` in one pass (tfjs' relu gradient is
 * `mul(dy, cast(step(x)))`; same-dtype `Cast`, `Identity` and `Reshape` pass a
 * pending tensor through untouched). Any other use of a pending tensor - another kernel,
 * a read, a move to another backend - fills it first ("materializes"), so the
 * deferral is invisible.
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { f32View, sizeOf } from "./heap.ts";
import { instantiateSimd, type SimdOps } from "../wasm/assembler.ts";

/** Tensors smaller than this are multiplied at once (deferral would not pay). */
export const LAZY_MIN_SIZE = 16384;

/**
 * A deferred value another module computes (a matrix product): filled into an
 * output (`beta = 0`) or added to what the output already holds (`beta = 1`,
 * so `Add(product, bias)` is one GEMM into a bias-filled output).
 */
export interface Producer {
  /** Writes the value into `out` (`beta = 0`) or adds it to `out` (`beta = 1`). */
  fill(backend: BackendWasm, out: TensorInfo, beta: 0 | 1): void;
  /** Releases the inputs it holds. */
  release(backend: BackendWasm): void;
}

/** A deferred `c * src` (Multiply), `step(src)` (Step, alpha 0), or a {@link Producer}. */
type Pending =
  | { kind: "scale"; c: number; src: TensorInfo }
  | { kind: "step"; src: TensorInfo }
  | { kind: "producer"; producer: Producer; shape: number[] };

function release(backend: BackendWasm, p: Pending): void {
  if (p.kind === "producer") p.producer.release(backend);
  else backend.disposeData(p.src.dataId);
}

interface LazyState {
  simd: SimdOps;
  pending: Map<object, Pending>;
}

const states = new WeakMap<BackendWasm, LazyState>();

function memoryOf(backend: BackendWasm): WebAssembly.Memory | undefined {
  const asm = (backend.wasm as unknown as { asm?: { memory?: WebAssembly.Memory } }).asm;
  return asm?.memory instanceof WebAssembly.Memory ? asm.memory : undefined;
}

function offsetOf(backend: BackendWasm, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** Fills a pending tensor (`c * src` or `step(src)`) and releases its source. */
function materialize(backend: BackendWasm, state: LazyState, dataId: object): void {
  const p = state.pending.get(dataId);
  if (p === undefined) return;
  state.pending.delete(dataId);
  if (p.kind === "producer") {
    p.producer.fill(backend, { dataId, shape: p.shape, dtype: "float32" }, 0);
  } else {
    const out = backend.dataIdMap.get(dataId).memoryOffset;
    const n = sizeOf(p.src.shape);
    if (p.kind === "scale") state.simd.scale(out, offsetOf(backend, p.src), p.c, n);
    else state.simd.step(out, offsetOf(backend, p.src), n);
  }
  release(backend, p);
}

/**
 * Defers a float32 output of `shape` computed by `producer`; returns
 * `undefined` when deferral is off for `backend` (the caller computes eagerly).
 */
export function deferProducer(
  backend: BackendWasm,
  shape: number[],
  producer: Producer,
): TensorInfo | undefined {
  const state = states.get(backend);
  if (state === undefined) return undefined;
  const out = backend.makeOutput([...shape], "float32");
  state.pending.set(out.dataId, { kind: "producer", producer, shape: [...shape] });
  return out;
}

/** Records `out` as pending on `src` (kept alive by a reference until filled or disposed). */
function defer(backend: BackendWasm, state: LazyState, src: TensorInfo, p: Pending): TensorInfo {
  const out = backend.makeOutput([...src.shape], "float32");
  backend.incRef(src.dataId);
  state.pending.set(out.dataId, p);
  return out;
}

function sameShape(a: TensorInfo, b: TensorInfo): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * Enables deferral on a freshly created backend: wraps its `readSync` and
 * `disposeData` so pending tensors are filled before being read and release
 * their source when disposed. Returns false (deferral off) when the wasm
 * memory object cannot be reached.
 */
export function enableLazyScale(backend: BackendWasm): boolean {
  const memory = memoryOf(backend);
  if (memory === undefined) return false;
  const state: LazyState = { simd: instantiateSimd(memory), pending: new Map() };
  states.set(backend, state);
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId, start, end) => {
    materialize(backend, state, dataId);
    return readSync(dataId, start, end);
  };
  const disposeData = backend.disposeData.bind(backend);
  backend.disposeData = (dataId, force) => {
    const freed = disposeData(dataId, force);
    const p = freed ? state.pending.get(dataId) : undefined;
    if (p !== undefined) {
      state.pending.delete(dataId);
      release(backend, p);
    }
    return freed;
  };
  return true;
}

/** Number of tensors currently deferred on `backend` (for tests). */
export function pendingCount(backend: BackendWasm): number {
  return states.get(backend)?.pending.size ?? 0;
}

/** Wraps a kernel so its pending inputs are filled before it runs. */
export function materializingKernel(inner: KernelFunc): KernelFunc {
  return (params) => {
    const state = states.get(params.backend as BackendWasm);
    if (state !== undefined && state.pending.size > 0) {
      for (const t of Object.values(params.inputs)) {
        if (t != null) materialize(params.backend as BackendWasm, state, t.dataId);
      }
    }
    return inner(params);
  };
}

function isScalarOf(s: TensorInfo, big: TensorInfo): boolean {
  return s.dtype === "float32" && sizeOf(s.shape) === 1 && s.shape.length <= big.shape.length;
}

/**
 * `Multiply`: `t * step(x)` in one pass when one input is a pending step (the
 * relu gradient `mul(dy, step(x))`); defers `scalar * big` for large float32
 * tensors; else `fallback`.
 */
export function lazyMultiplyKernel(fallback: KernelFunc): KernelFunc {
  const eager = materializingKernel(fallback);
  return (params) => {
    const backend = params.backend as BackendWasm;
    const state = states.get(backend);
    const { a, b } = params.inputs as { a: TensorInfo; b: TensorInfo };
    if (state !== undefined && state.pending.size > 0 && a.dataId !== b.dataId) {
      let p = state.pending.get(b.dataId);
      let other = a;
      if (p?.kind !== "step") {
        p = state.pending.get(a.dataId);
        other = b;
      }
      if (p?.kind === "step" && sameShape(a, b) && other.dtype === "float32") {
        materialize(backend, state, other.dataId);
        const out = backend.makeOutput([...a.shape], "float32");
        const n = sizeOf(a.shape);
        state.simd.stepmul(
          offsetOf(backend, out),
          offsetOf(backend, other),
          offsetOf(backend, p.src),
          n,
        );
        return out;
      }
    }
    let scalar: TensorInfo | undefined;
    let big: TensorInfo | undefined;
    if (isScalarOf(a, b)) [scalar, big] = [a, b];
    else if (isScalarOf(b, a)) [scalar, big] = [b, a];
    if (
      state === undefined || scalar === undefined || big === undefined ||
      big.dtype !== "float32" || sizeOf(big.shape) < LAZY_MIN_SIZE
    ) {
      return eager(params);
    }
    materialize(backend, state, scalar.dataId);
    materialize(backend, state, big.dataId);
    const c = f32View(backend, scalar, 1)[0];
    const src: TensorInfo = { dataId: big.dataId, shape: big.shape, dtype: "float32" };
    return defer(backend, state, src, { kind: "scale", c, src });
  };
}

/**
 * `product + other` when `product` is a pending {@link Producer} and `other` a
 * same-shape tensor or a bias along the last axis: `other` is written into the
 * output and the product added by the producer (one GEMM with `beta = 1`).
 * Returns `undefined` when the pattern does not apply.
 */
function addToProduct(
  backend: BackendWasm,
  state: LazyState,
  product: TensorInfo,
  other: TensorInfo,
): TensorInfo | undefined {
  const p = state.pending.get(product.dataId);
  if (p?.kind !== "producer" || other.dtype !== "float32" || other.dataId === product.dataId) {
    return undefined;
  }
  // The product's shape as the Add sees it (a Reshape may have aliased it).
  const shape = product.shape;
  const n = shape[shape.length - 1];
  const size = sizeOf(other.shape);
  const row = size === n && other.shape.length <= shape.length &&
    other.shape.slice(0, -1).every((d) => d === 1) &&
    (other.shape.length === 0 || other.shape[other.shape.length - 1] === n);
  if (!sameShape(product, other) && !row) return undefined;
  materialize(backend, state, other.dataId);
  const out = backend.makeOutput([...shape], "float32");
  const o = f32View(backend, out);
  const src = f32View(backend, other, size);
  if (size === o.length) o.set(src);
  else for (let off = 0; off < o.length; off += n) o.set(src, off);
  p.producer.fill(backend, out, 1);
  return out;
}

/** `Add`: `other + c * src` in one pass when one input is pending; else `fallback`. */
export function lazyAddKernel(fallback: KernelFunc): KernelFunc {
  const eager = materializingKernel(fallback);
  return (params) => {
    const backend = params.backend as BackendWasm;
    const state = states.get(backend);
    const { a, b } = params.inputs as { a: TensorInfo; b: TensorInfo };
    if (state === undefined || state.pending.size === 0) return eager(params);
    const fused = addToProduct(backend, state, a, b) ?? addToProduct(backend, state, b, a);
    if (fused !== undefined) return fused;
    let p = state.pending.get(a.dataId);
    let other = b;
    if (p?.kind !== "scale") {
      p = state.pending.get(b.dataId);
      other = a;
    }
    if (
      p?.kind !== "scale" || !sameShape(a, b) || other.dtype !== "float32" ||
      a.dataId === b.dataId
    ) {
      return eager(params);
    }
    materialize(backend, state, other.dataId);
    const out = backend.makeOutput([...a.shape], "float32");
    state.simd.axpy(
      offsetOf(backend, out),
      offsetOf(backend, other),
      offsetOf(backend, p.src),
      p.c,
      sizeOf(a.shape),
    );
    return out;
  };
}

/** `Step` with alpha 0 on a large float32 tensor: deferred (see {@link lazyMultiplyKernel}). */
export function lazyStepKernel(fallback: KernelFunc): KernelFunc {
  const eager = materializingKernel(fallback);
  return (params) => {
    const backend = params.backend as BackendWasm;
    const state = states.get(backend);
    const x = params.inputs.x as TensorInfo;
    const alpha = (params.attrs as { alpha?: number } | undefined)?.alpha ?? 0;
    if (
      state === undefined || x.dtype !== "float32" || alpha !== 0 || sizeOf(x.shape) < LAZY_MIN_SIZE
    ) {
      return eager(params);
    }
    materialize(backend, state, x.dataId);
    const src: TensorInfo = { dataId: x.dataId, shape: x.shape, dtype: "float32" };
    return defer(backend, state, src, { kind: "step", src });
  };
}
