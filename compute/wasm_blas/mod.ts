/**
 * The `wasm-blas` tfjs backend: tfjs-backend-wasm with the heavy kernels
 * (matrix products) on a native BLAS through Deno FFI, zero-copy on the wasm
 * heap. Needs `--allow-ffi`; without it, or without a BLAS library, the
 * registration reports why and the caller keeps using stock `wasm`.
 *
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerWasmBlasBackend, WASM_BLAS } from "./compute/wasm_blas/mod.ts";
 *
 * const probe = await registerWasmBlasBackend();
 * await tf.setBackend(probe.ok ? WASM_BLAS : "wasm");
 * ```
 *
 * @module
 */
export {
  type BlasProbe,
  registerWasmBlasBackend,
  registerWasmBlasBackendWith,
  WASM_BLAS,
  wasmBlasLibrary,
  type WasmBlasOptions,
} from "./register.ts";
export {
  BLAS_LIB_ENV,
  BLAS_THREADS_ENV,
  type BlasFamily,
  type BlasLibrary,
  type BlasTiming,
  defaultBlasCandidates,
} from "../blas/library.ts";
export {
  createBlasChannel,
  isSharedBlas,
  type RemoteBlasInfo,
  remoteBlasLibrary,
  serveBlas,
  type SharedBlasLibrary,
} from "../blas/remote_blas.ts";
