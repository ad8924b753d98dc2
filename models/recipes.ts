/**
 * The recommended training recipes of the accuracy study (issue 6; numbers
 * and commands in docs/accuracy.md).
 *
 * - {@link SMALL_RECIPE}: the configuration selected on validation accuracy
 *   for the `small` protocol (train on ~15k images of notMNIST_small), within
 *   30 minutes of training on 2 CPU cores.
 * - {@link LAB_RECIPE}: the configuration recommended for the `lab` protocol
 *   (train on notMNIST_large, 500k+ images). notMNIST_large is not available
 *   where this project was developed, so this recipe is an extrapolation of
 *   the `small` study, NOT a measured result.
 *
 * ```ts
 * import { SMALL_RECIPE } from "./recipes.ts";
 * import { validateTrainConfig } from "./train/train.ts";
 *
 * validateTrainConfig({ ...SMALL_RECIPE, seed: 7 });
 * console.log(SMALL_RECIPE.epochs);
 * ```
 *
 * @module
 */
import type { TrainConfig } from "./train/train.ts";

export type { TrainConfig };
export {
  type Activation,
  ACTIVATIONS,
  type HiddenLayerSpec,
  type Initializer,
  INITIALIZERS,
  type MlpSpec,
} from "./mlp.ts";
export type { MomentumSpec, OptimizerSpec, SgdSpec } from "./optimizers.ts";
export type {
  ConstantSchedule,
  CosineSchedule,
  ExponentialSchedule,
  Schedule,
  StepSchedule,
} from "./schedules.ts";

/** L2 per kernel of {@link SMALL_RECIPE} (PyTorch weight decay 2e-4), as in task 3. */
const SMALL_L2 = 1e-4;

/**
 * The `small`-protocol recipe: task 4's network and optimizer, trained longer
 * with augmentation and weight averaging. 784-512-256-10 relu, dropout 0.3
 * after each hidden layer, L2 1e-4 on every kernel, random +-2 pixel shifts of
 * every training image, SGD with Nesterov momentum 0.9, cosine decay
 * 0.05 -> 0.0005 updated every step, batch 128, 100 epochs, final weights =
 * mean of the last 25 epochs' weights (the `reference-shift-100` candidate of
 * experiments/configs.ts: the best validation accuracy of the study, tied
 * within noise with wider nets; about 3 minutes of training on 2 cores).
 * Seed 42 (override `seed` for other runs).
 */
export const SMALL_RECIPE: TrainConfig = {
  spec: {
    hidden: [
      { units: 512, activation: "relu", l2: SMALL_L2, dropout: 0.3 },
      { units: 256, activation: "relu", l2: SMALL_L2, dropout: 0.3 },
    ],
    outputL2: SMALL_L2,
  },
  optimizer: { kind: "momentum", momentum: 0.9, nesterov: true },
  schedule: { kind: "cosine", initial: 0.05, minimum: 0.0005 },
  epochs: 100,
  batchSize: 128,
  seed: 42,
  scheduleUpdate: "step",
  augmentShift: 2,
  averageLast: 25,
};

/** L2 per kernel of {@link LAB_RECIPE}: 35x more data needs less weight decay. */
const LAB_L2 = 1e-5;

/**
 * The recommended `lab`-protocol recipe (notMNIST_large, 500k+ training
 * images; UNMEASURED here). The study's tricks (shifts, Nesterov, per-step
 * cosine, weight averaging) on the wider net that tied on `small` and has more
 * capacity for ~35x more data: 784-1024-512-10 relu, lighter regularisation (dropout 0.2,
 * input dropout 0.1, L2 1e-5) since overfitting is much weaker, +-1 pixel
 * shifts, Nesterov 0.9, per-step cosine 0.05 -> 0, batch 256, 12 epochs
 * (about 25k steps, 2x the steps of the small recipe), mean of the last 3
 * epochs' weights. At the 6,000-8,000 samples/s measured for this network
 * on 2 cores (wasm-blas) its 6.3M samples take roughly 15-20 minutes of
 * training; its accuracy is not known until someone with the large set runs it.
 */
export const LAB_RECIPE: TrainConfig = {
  spec: {
    hidden: [
      { units: 1024, activation: "relu", dropout: 0.2, l2: LAB_L2 },
      { units: 512, activation: "relu", dropout: 0.2, l2: LAB_L2 },
    ],
    inputDropout: 0.1,
    outputL2: LAB_L2,
  },
  optimizer: { kind: "momentum", momentum: 0.9, nesterov: true },
  schedule: { kind: "cosine", initial: 0.05, minimum: 0 },
  scheduleUpdate: "step",
  epochs: 12,
  batchSize: 256,
  seed: 42,
  augmentShift: 1,
  averageLast: 3,
};

/**
 * `config` with `epochs` epochs (when given); `averageLast` is scaled by the
 * same factor (at least 1) so that it still covers the same share of the run.
 * Use it to run a recipe with another epoch budget (e.g. the grader's quick
 * profile: {@link SMALL_RECIPE} with 10 epochs averages the last 3).
 */
export function withEpochs(config: TrainConfig, epochs: number | undefined): TrainConfig {
  if (epochs === undefined || epochs === config.epochs) return config;
  const avg = config.averageLast ?? 1;
  const out: TrainConfig = { ...config, epochs };
  if (avg > 1) out.averageLast = Math.max(1, Math.round((avg * epochs) / config.epochs));
  return out;
}
