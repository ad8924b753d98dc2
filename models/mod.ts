/**
 * Models for the notMNIST lab: fully-connected networks from a validated spec,
 * seeded dropout, optimizers, learning-rate schedules, the seeded training
 * loop and the recommended recipes, evaluation, pictures of a training run,
 * save/load as tfjs `model.json` + weights, backend selection (with the
 * native-BLAS `wasm-blas` backend's registration), and the numerics modes
 * (`reproducible`: the same bits on every x86-64 AVX2 CPU; `fast`).
 *
 * ```ts ignore
 * import { trainMlp } from "@notmnist/lab/models";
 *
 * const { model, history } = await trainMlp(train, valid, {
 *   spec: { hidden: [{ units: 1024, activation: "relu" }] },
 *   optimizer: { kind: "sgd" },
 *   schedule: { kind: "constant", initial: 0.1 },
 *   epochs: 10,
 *   batchSize: 128,
 *   seed: 42,
 * });
 * ```
 *
 * @module
 */
export * from "./mlp.ts";
export * from "./dropout.ts";
export * from "./optimizers.ts";
export * from "./schedules.ts";
export * from "./train.ts";
export * from "./evaluate.ts";
export * from "./io.ts";
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
export type { TfjsNodeDeps, TfjsNodePackage } from "./tfjs_node.ts";
export {
  type BlasFamily,
  type BlasLibrary,
  type BlasProbe,
  type BlasTiming,
  registerWasmBlasBackend,
  WASM_BLAS,
  wasmBlasLibrary,
  type WasmBlasOptions,
} from "./wasm_blas.ts";
export {
  type BlasFacts,
  CROSS_MACHINE_TOLERANCE,
  DEFAULT_NUMERICS,
  describeFingerprint,
  type FingerprintOptions,
  NUMERICS_MODES,
  type NumericsFingerprint,
  numericsFingerprint,
  type NumericsMode,
  parseNumericsMode,
  REPRODUCIBLE_CORE_TYPE,
} from "./numerics.ts";
export { LAB_RECIPE, SMALL_RECIPE, withEpochs } from "./recipes.ts";
export { confusionMatrixSvg, type CurveSeries, learningCurveSvg } from "./pictures.ts";
export { argmaxRow } from "./argmax.ts";
export type { EpochRecord } from "./epoch_record.ts";
export type { ImageSet } from "../data/types.ts";
export type { Rng } from "../utils/rng.ts";
