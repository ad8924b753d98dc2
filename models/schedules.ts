/**
 * Learning-rate schedules. A schedule maps a 0-based epoch (or a fractional
 * epoch, for per-step updates) to the learning rate used then; the training
 * loop sets the optimizer's rate from it and records the rate in each
 * {@link EpochRecord}, so a "dynamic" learning rate really changes during
 * training (the common notebook passes a fixed rate and calls it dynamic).
 *
 * ```ts
 * import { learningRateAt } from "./schedules.ts";
 *
 * const s = { kind: "step", initial: 0.1, factor: 0.5, every: 10 } as const;
 * console.log(learningRateAt(s, 0, 30), learningRateAt(s, 10, 30)); // 0.1 0.05
 * ```
 *
 * @module
 */

/** A constant rate. */
export interface ConstantSchedule {
  /** Schedule kind. */
  kind: "constant";
  /** The rate. */
  initial: number;
}

/**
 * `initial * rate ** (epoch / every)`: smooth exponential decay for `rate` < 1
 * (or growth for `rate` > 1, as in a learning-rate range test).
 */
export interface ExponentialSchedule {
  /** Schedule kind. */
  kind: "exponential";
  /** Rate at epoch 0. */
  initial: number;
  /** Multiplier per `every` epochs, in (0, 1] to decay (up to 1e4 to grow). */
  rate: number;
  /** Epochs per multiplication by `rate` (default 1). */
  every?: number;
}

/** `initial * factor ** floor(epoch / every)`: staircase decay. */
export interface StepSchedule {
  /** Schedule kind. */
  kind: "step";
  /** Rate for the first `every` epochs. */
  initial: number;
  /** Multiplier applied every `every` epochs, in (0, 1]. */
  factor: number;
  /** Epochs between drops. */
  every: number;
}

/**
 * Cosine decay from `initial` to `minimum` over the run (or over each cycle of
 * `restartEvery` epochs, SGDR-style warm restarts, each cycle `cycleMult`
 * times longer than the last).
 */
export interface CosineSchedule {
  /** Schedule kind. */
  kind: "cosine";
  /** Rate at the start (of each cycle). */
  initial: number;
  /** Rate at the end of the run (or cycle); default 0. */
  minimum?: number;
  /** Epochs in the first warm-restart cycle; absent = one cycle over the whole run. */
  restartEvery?: number;
  /** Growth factor of the cycle length after each restart (default 1). */
  cycleMult?: number;
  /** Epochs of linear warm-up from `initial / 10` at the start of the run (default 0). */
  warmup?: number;
}

/** Any learning-rate schedule. */
export type Schedule = ConstantSchedule | ExponentialSchedule | StepSchedule | CosineSchedule;

/** The schedule kinds, for flag parsing and messages. */
export const SCHEDULE_KINDS = ["constant", "exponential", "step", "cosine"] as const;

function checkPositive(value: unknown, field: string, max = Infinity): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new Error(`${field} must be a number in (0, ${max}], got ${value}`);
  }
}

/** Throws an error naming the field (e.g. `schedule.factor`) when `s` is not a valid schedule. */
export function validateSchedule(s: Schedule, where = "schedule"): void {
  if (s === null || typeof s !== "object") throw new Error(`${where} must be an object`);
  checkPositive(s.initial, `${where}.initial`, 10);
  switch (s.kind) {
    case "constant":
      return;
    case "exponential":
      checkPositive(s.rate, `${where}.rate`, 1e4);
      if (s.every !== undefined) checkPositive(s.every, `${where}.every`);
      return;
    case "step":
      checkPositive(s.factor, `${where}.factor`, 1);
      checkPositive(s.every, `${where}.every`);
      return;
    case "cosine":
      if (s.minimum !== undefined) {
        if (!Number.isFinite(s.minimum) || s.minimum < 0 || s.minimum > s.initial) {
          throw new Error(
            `${where}.minimum must be in [0, initial=${s.initial}], got ${s.minimum}`,
          );
        }
      }
      if (s.restartEvery !== undefined) checkPositive(s.restartEvery, `${where}.restartEvery`);
      if (s.cycleMult !== undefined) checkPositive(s.cycleMult, `${where}.cycleMult`, 10);
      if (s.warmup !== undefined && (!Number.isFinite(s.warmup) || s.warmup < 0)) {
        throw new Error(`${where}.warmup must be a number >= 0, got ${s.warmup}`);
      }
      return;
    default:
      throw new Error(
        `${where}.kind must be one of ${SCHEDULE_KINDS.join(", ")}, got ${
          JSON.stringify((s as { kind: unknown }).kind)
        }`,
      );
  }
}

function cosineAt(s: CosineSchedule, epoch: number, totalEpochs: number): number {
  const min = s.minimum ?? 0;
  const warmup = s.warmup ?? 0;
  if (epoch < warmup) {
    const start = s.initial / 10;
    return start + (s.initial - start) * (epoch / warmup);
  }
  let t = epoch - warmup;
  let cycle = s.restartEvery ?? Math.max(totalEpochs - warmup, 1);
  const mult = s.cycleMult ?? 1;
  while (s.restartEvery !== undefined && t >= cycle) {
    t -= cycle;
    cycle *= mult;
  }
  const progress = Math.min(t / cycle, 1);
  return min + 0.5 * (s.initial - min) * (1 + Math.cos(Math.PI * progress));
}

/**
 * The learning rate at `epoch` (0-based; may be fractional when the rate is
 * updated every step) of a run of `totalEpochs` epochs.
 */
export function learningRateAt(s: Schedule, epoch: number, totalEpochs: number): number {
  switch (s.kind) {
    case "constant":
      return s.initial;
    case "exponential":
      return s.initial * Math.pow(s.rate, epoch / (s.every ?? 1));
    case "step":
      return s.initial * Math.pow(s.factor, Math.floor(epoch / s.every));
    case "cosine":
      return cosineAt(s, epoch, totalEpochs);
  }
}

/** One-line human description, e.g. `step 0.1 x0.5 every 10 epochs`. */
export function describeSchedule(s: Schedule): string {
  switch (s.kind) {
    case "constant":
      return `constant ${s.initial}`;
    case "exponential":
      return `exponential ${s.initial} x${s.rate} per ${s.every ?? 1} epoch(s)`;
    case "step":
      return `step ${s.initial} x${s.factor} every ${s.every} epochs`;
    case "cosine":
      return `cosine ${s.initial} -> ${s.minimum ?? 0}` +
        (s.restartEvery ? `, warm restarts every ${s.restartEvery} (x${s.cycleMult ?? 1})` : "") +
        (s.warmup ? `, ${s.warmup} warm-up epochs` : "");
  }
}
