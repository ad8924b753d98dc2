/**
 * Deferred scalar products, so an optimizer update runs as one fused pass.
 *
 * tfjs' SGD computes `add(mul(-lr, grad), value)` and momentum
 * `add(mul(m, acc), grad)`, each a Multiply pass writing a full-size temporary
 * and an Add pass reading it back. Here a float32 `Multiply` of a scalar by a
 * large tensor only allocates its output and records `(c, src)`; an `Add` of
 * that pending tensor and a same-shape tensor then computes `a + c * src` in a
 * single SIMD pass (bit-identical to the two stock kernels), and the pending
 * output is never filled. Any other use of a pending tensor - another kernel,
 * a read, a move to another backend - fills it first ("materializes"), so the
 * deferral is invisible.
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { f32View, sizeOf } from "./heap.ts";
import { instantiateSimd, type SimdOps } from "./simd_module.ts";

/** Tensors smaller than this are multiplied at once (deferral would not pay). */
export const LAZY_MIN_SIZE = 16384;

interface Pending {
  c: number;
  src: TensorInfo;
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

/** Fills a pending tensor (`out = c * src`) and releases its source. */
function materialize(backend: BackendWasm, state: LazyState, dataId: object): void {
  const p = state.pending.get(dataId);
  if (p === undefined) return;
  state.pending.delete(dataId);
  const out = backend.dataIdMap.get(dataId).memoryOffset;
  state.simd.scale(out, offsetOf(backend, p.src), p.c, sizeOf(p.src.shape));
  backend.disposeData(p.src.dataId);
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
      disposeData(p.src.dataId);
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

/** `Multiply`: defers `scalar * big` for large float32 tensors; else `fallback`. */
export function lazyMultiplyKernel(fallback: KernelFunc): KernelFunc {
  const eager = materializingKernel(fallback);
  return (params) => {
    const backend = params.backend as BackendWasm;
    const state = states.get(backend);
    const { a, b } = params.inputs as { a: TensorInfo; b: TensorInfo };
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
    const out = backend.makeOutput([...big.shape], "float32");
    backend.incRef(big.dataId);
    state.pending.set(out.dataId, {
      c,
      src: { dataId: big.dataId, shape: big.shape, dtype: "float32" },
    });
    return out;
  };
}

/** `Add`: `other + c * src` in one pass when one input is pending; else `fallback`. */
export function lazyAddKernel(fallback: KernelFunc): KernelFunc {
  const eager = materializingKernel(fallback);
  return (params) => {
    const backend = params.backend as BackendWasm;
    const state = states.get(backend);
    const { a, b } = params.inputs as { a: TensorInfo; b: TensorInfo };
    if (state === undefined || state.pending.size === 0) return eager(params);
    let p = state.pending.get(a.dataId);
    let other = b;
    if (p === undefined) {
      p = state.pending.get(b.dataId);
      other = a;
    }
    const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    if (p === undefined || !same || other.dtype !== "float32" || a.dataId === b.dataId) {
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
