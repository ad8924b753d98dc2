/**
 * What determines a training run ({@link TrainConfig}, checked by
 * {@link validateTrainConfig}), the options that do not change its result, the
 * reporter interface the loop reports its progress to, and its result.
 *
 * @module
 */
import type { EpochRecord } from "../epoch_record.ts";
import { type MlpSpec, type Network, validateMlpSpec } from "../mlp.ts";
import { type OptimizerSpec, validateOptimizer } from "../optimizers.ts";
import { type Schedule, validateSchedule } from "../schedules.ts";
import type { BlasLibrary } from "../../compute/blas/library.ts";

/** Everything that determines a training run (JSON-serialisable). */
export interface TrainConfig {
  /** The network. */
  spec: MlpSpec;
  /** The optimizer. */
  optimizer: OptimizerSpec;
  /** The learning-rate schedule. */
  schedule: Schedule;
  /** Update the rate once per epoch (default) or at every step (fractional epochs). */
  scheduleUpdate?: "epoch" | "step";
  /** Number of passes over the training set. */
  epochs: number;
  /** Minibatch size. */
  batchSize: number;
  /** Seed of every random choice (initial weights, shuffles, dropout masks, shifts). */
  seed: number;
  /** Label smoothing in [0, 1) for the cross-entropy (default 0). */
  labelSmoothing?: number;
  /** Augmentation: shift each training image by up to this many pixels in x and y (default 0). */
  augmentShift?: number;
  /** Final weights = average of the end-of-epoch weights of the last N epochs (default 1 = last). */
  averageLast?: number;
  /**
   * Final weights = those of the epoch with the best validation accuracy
   * (first one on ties) instead of the last epoch's (default false; not with `averageLast`).
   */
  restoreBest?: boolean;
}

/** Options that do not change the result. */
export interface TrainOptions {
  /** One line per epoch (and the run's header) goes here (default reporter only). */
  log?: (line: string) => void;
  /** Show a live progress bar on stderr (default reporter only; default: when stderr is a terminal). */
  progress?: boolean;
  /** Where progress goes (default: {@link logReporter} of `log` and `progress`). */
  reporter?: TrainReporter;
  /** Batch size for validation passes (default 1000). */
  evalBatchSize?: number;
  /**
   * Train with the fused step of models/train/fused_step.ts when a BLAS is available
   * (default true; the `wasm-blas` backend's BLAS, or `blas`). Its results are
   * close to the tfjs path's, not bit-identical (softmax `exp`/`log`); each
   * path alone is deterministic.
   */
  fusedStep?: boolean;
  /** The BLAS for the fused step (default: the `wasm-blas` backend's when active). */
  blas?: BlasLibrary;
  /**
   * Let the fused step use a helper worker on the second core (the next
   * step's dropout masks and part of the optimizer update; same bits,
   * models/train/fused_helper.ts). Default true; false where starting a
   * worker costs more than it saves.
   */
  fusedHelper?: boolean;
}

/** The run as it starts, for {@link TrainReporter.onStart}. */
export interface TrainStart {
  /** Training images. */
  count: number;
  /** Epochs to run. */
  epochs: number;
  /** Minibatches per epoch. */
  stepsPerEpoch: number;
  /** The configuration. */
  config: TrainConfig;
  /** The tfjs backend in use. */
  backend: string;
  /** Whether the fused training step (models/train/fused_step.ts) trains, rather than tfjs ops. */
  fusedStep?: boolean;
}

/** Progress within an epoch, for {@link TrainReporter.onBatch}. */
export interface BatchProgress {
  /** 0-based epoch. */
  epoch: number;
  /** Epochs to run. */
  epochs: number;
  /** 0-based minibatch within the epoch. */
  batch: number;
  /** Minibatches per epoch. */
  stepsPerEpoch: number;
  /** Mean training loss of the epoch so far. */
  loss: number;
  /** Training accuracy of the epoch so far. */
  accuracy: number;
  /** Seconds since training started. */
  elapsedSeconds: number;
}

/** Which weights the model ends with, when not the last epoch's. */
export type FinalWeights =
  | { kind: "average"; epochs: number }
  | { kind: "best"; epoch: number; validAccuracy: number };

/**
 * Callbacks of the training loop (as tfjs `fit` callbacks); all optional.
 * They observe the run and never change its result.
 */
export interface TrainReporter {
  /** Before the first minibatch. */
  onStart?(start: TrainStart): void;
  /** After each minibatch. */
  onBatch?(progress: BatchProgress): void;
  /** After each epoch's validation, with its record. */
  onEpoch?(record: EpochRecord, epochs: number): void;
  /** After the last epoch, when the final weights are an average or the best epoch's. */
  onFinalWeights?(final: FinalWeights): void;
  /** When training stops with an error (before it is thrown). */
  onError?(err: unknown): void;
}

/** A trained network and how it got there. */
export interface TrainResult {
  /** The trained network. Dispose it when done. */
  model: Network;
  /** One record per epoch. */
  history: EpochRecord[];
  /** The configuration used. */
  config: TrainConfig;
  /** Total wall-clock seconds. */
  seconds: number;
  /** The 1-based epoch whose weights the model holds (the last one unless `restoreBest`). */
  finalEpoch: number;
}

/** Thrown when the loss becomes NaN or infinite; carries the history of the completed epochs. */
export class TrainingDivergedError extends Error {
  /** Records of the epochs completed before the loss diverged. */
  readonly history: EpochRecord[];

  /** Creates the error with the history so far. */
  constructor(message: string, history: EpochRecord[]) {
    super(message);
    this.name = "TrainingDivergedError";
    this.history = history;
  }
}

/** Throws an error naming the field when `config` is invalid. */
export function validateTrainConfig(config: TrainConfig): void {
  validateMlpSpec(config.spec);
  validateOptimizer(config.optimizer);
  validateSchedule(config.schedule);
  const intIn = (v: unknown, field: string, min: number, max: number) => {
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
      throw new Error(`${field} must be an integer in ${min}..${max}, got ${v}`);
    }
  };
  intIn(config.epochs, "epochs", 1, 10000);
  intIn(config.batchSize, "batchSize", 1, 65536);
  if (!Number.isInteger(config.seed)) {
    throw new Error(`seed must be an integer, got ${config.seed}`);
  }
  const ls = config.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls < 1)) throw new Error(`labelSmoothing must be in [0, 1), got ${ls}`);
  intIn(config.augmentShift ?? 0, "augmentShift", 0, 8);
  intIn(config.averageLast ?? 1, "averageLast", 1, config.epochs);
  if (config.restoreBest !== undefined && typeof config.restoreBest !== "boolean") {
    throw new Error(`restoreBest must be a boolean, got ${config.restoreBest}`);
  }
  if (config.restoreBest && (config.averageLast ?? 1) > 1) {
    throw new Error("restoreBest and averageLast > 1 cannot be combined");
  }
  const su = config.scheduleUpdate ?? "epoch";
  if (su !== "epoch" && su !== "step") {
    throw new Error(`scheduleUpdate must be "epoch" or "step", got ${JSON.stringify(su)}`);
  }
}
