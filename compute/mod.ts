/**
 * The compute stack under the models: backend selection (tfjs-node-gpu,
 * tfjs-node, the native-BLAS `wasm-blas` backend, wasm, cpu) and backend
 * names, the numerics modes (`reproducible`: the same bits on every x86-64
 * AVX2 CPU; `fast`) and their fingerprint, CPU features, and the one list of
 * BLAS environment variables. `compute/blas/` loads the native BLAS (FFI,
 * fixed-order panels, the remote BLAS for sandboxed code); `compute/wasm_blas/`
 * is the tfjs backend; `compute/wasm/assembler.ts` assembles WebAssembly.
 *
 * ```ts
 * import { parseNumericsMode, selectBackend } from "./compute/mod.ts";
 *
 * const choice = await selectBackend({ force: "cpu", numerics: parseNumericsMode("fast") });
 * console.log(choice.name); // cpu
 * ```
 *
 * @module
 */
export {
  BACKEND_ORDER,
  type BackendChoice,
  type BackendName,
  type BackendStarter,
  type BackendStartResult,
  parseBackendName,
  selectBackend,
  type SelectBackendOptions,
} from "./backend.ts";
export type { BackendRequest } from "./backend_request.ts";
export type { TfjsNodeDeps, TfjsNodePackage } from "./tfjs_node.ts";
export {
  type BlasFacts,
  CROSS_MACHINE_TOLERANCE,
  DEFAULT_NUMERICS,
  describeFingerprint,
  type FingerprintOptions,
  NATIVE_INSTALL_HINT,
  NUMERICS_MODES,
  type NumericsFingerprint,
  numericsFingerprint,
  type NumericsMode,
  parseNumericsMode,
  PORTABLE_ENGINE,
} from "./numerics.ts";
export { type Engine, type EngineOptions, type EngineResult, openEngine } from "./engine.ts";
export { coreTypeForFlags, parseCpuFlags, readCpuFlags } from "./cpu_features.ts";
export {
  BLAS_ENV_NAMES,
  BLAS_LIB_ENV,
  BLAS_THREADS_ENV,
  OPENBLAS_CORETYPE_ENV,
  OPENBLAS_NUM_THREADS_ENV,
} from "./blas_env.ts";
export {
  type BlasFamily,
  type BlasLibrary,
  type BlasProbe,
  type BlasTiming,
  registerWasmBlasBackend,
  WASM_BLAS,
  wasmBlasLibrary,
  type WasmBlasOptions,
} from "./wasm_blas/mod.ts";
