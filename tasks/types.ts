/**
 * The interface between a task module (the lab's or a student's) and whoever
 * runs it (the task CLI or the grader). A task sees train and valid data only;
 * evaluation on the test split is done by the caller, so a task never sees test
 * labels.
 *
 * @module
 */
import type { ImageSet, Protocol } from "../data/types.ts";
import type { EpochRecord } from "../models/epoch_record.ts";
import type { TrainConfig } from "../models/train/train.ts";

export type { EpochRecord };

/**
 * A trained classifier: maps N images (N x 784 uint8, as in {@link ImageSet})
 * to N x 10 class probabilities, row-major.
 */
export type Predictor = (images: Uint8Array, count: number) => Promise<Float32Array>;

/** Everything a task receives. */
export interface TaskInput {
  /** Training images. */
  train: ImageSet;
  /** Validation images (for model selection and curves). */
  valid: ImageSet;
  /** Seed from which every random choice of the task derives. */
  seed: number;
  /** Epoch budget override; the task's own default when absent. */
  epochs?: number;
  /** Minibatch size override. */
  batchSize?: number;
  /**
   * Data protocol of the splits (`lab`: notMNIST_large, `small`: notMNIST_small
   * only), so a task can pick defaults that suit the amount of data; absent
   * when the caller does not say (treat as `small`).
   */
  protocol?: Protocol;
  /** Folder the task may write its artefacts to (model, pictures). */
  outDir: string;
  /** Progress sink: one line of text at a time. */
  log: (line: string) => void;
}

/** One trained model a task hands back. */
export interface TrainedModel {
  /** Short human name, e.g. "logistic regression" or "784-1024-10 relu". */
  name: string;
  /** The model's predictions. */
  predict: Predictor;
  /** Per-epoch history of its training. */
  history: EpochRecord[];
  /** The configuration that produced it (JSON-serialisable). */
  config: Record<string, unknown>;
  /** Seconds spent training it, when the task measured them. */
  trainSeconds?: number;
  /** The training configuration, when it was trained by the lab's training loop (`trainMlp`). */
  trainConfig?: TrainConfig;
}

/**
 * What a task returns: its models by role. `main` is the model the task is
 * graded on; task 2 adds `logreg` and `mlp`, task 3 `baseline` (without
 * regularization) so the caller can compare them on the test split.
 */
export interface TaskOutput {
  /** Models by role; `main` is required. */
  models: { main: TrainedModel } & Record<string, TrainedModel>;
}

/** A task module: `train` is the whole contract. */
export interface TaskModule {
  /** Trains the task's model(s) on `input.train` / `input.valid`. */
  train(input: TaskInput): Promise<TaskOutput>;
}
