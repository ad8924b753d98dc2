/**
 * Models for the notMNIST lab: fully-connected networks from a validated spec,
 * seeded dropout, optimizers, learning-rate schedules, the seeded training
 * loop and the recommended recipes, evaluation, pictures of a training run,
 * and save/load as tfjs `model.json` + weights. Backend selection and the
 * numerics modes live in `@notmnist/lab/compute`; their old names here are
 * deprecated re-exports, kept for one version.
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
export * from "./train/train.ts";
export * from "./evaluate.ts";
export * from "./io.ts";
// Deprecated: the compute stack moved to `./compute` (`@notmnist/lab/compute`).
// These names stay here for one version, for the notebook, templates and docs.
export {
  /** @deprecated Import from `@notmnist/lab/compute`. */
  BACKEND_ORDER,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type BackendChoice,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type BackendName,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type BackendStarter,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type BackendStartResult,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type BlasFacts,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type BlasFamily,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type BlasLibrary,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type BlasProbe,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type BlasTiming,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  CROSS_MACHINE_TOLERANCE,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  DEFAULT_NUMERICS,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  describeFingerprint,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type FingerprintOptions,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  NUMERICS_MODES,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type NumericsFingerprint,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  numericsFingerprint,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type NumericsMode,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  parseBackendName,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  parseNumericsMode,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  registerWasmBlasBackend,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  selectBackend,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type SelectBackendOptions,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type TfjsNodeDeps,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type TfjsNodePackage,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  WASM_BLAS,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  wasmBlasLibrary,
  /** @deprecated Import from `@notmnist/lab/compute`. */
  type WasmBlasOptions,
} from "../compute/mod.ts";
export { LAB_RECIPE, SMALL_RECIPE, withEpochs } from "./recipes.ts";
export { confusionMatrixSvg, type CurveSeries, learningCurveSvg } from "./pictures.ts";
export { argmaxRow } from "./argmax.ts";
export type { EpochRecord } from "./epoch_record.ts";
export type { ImageSet } from "../data/types.ts";
export type { Rng } from "../utils/rng.ts";
