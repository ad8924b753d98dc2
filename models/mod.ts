/**
 * Models for the notMNIST lab: fully-connected networks from a validated spec,
 * seeded dropout, optimizers, learning-rate schedules, the seeded training
 * loop, evaluation, and save/load as tfjs `model.json` + weights.
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
export type { ImageSet } from "../data/types.ts";
export type { EpochRecord } from "../tasks/types.ts";
export type { Rng } from "../utils/rng.ts";
