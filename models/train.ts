/**
 * The seeded training loop, written out instead of tfjs `fit` (whose epoch
 * shuffle uses `Math.random`). Read it top to bottom:
 *
 * 1. build the network from its spec with seeded initializers;
 * 2. each epoch: set the learning rate from the schedule, shuffle the training
 *    indices with an {@link Rng} seeded from (seed, epoch);
 * 3. each minibatch: build float32 pixels in [0, 1] from the uint8 store,
 *    optionally shift them by a few pixels, advance the dropout layers' step,
 *    compute softmax cross-entropy + the explicit L2 penalty and its gradients,
 *    apply the optimizer, apply max-norm; stop with
 *    {@link TrainingDivergedError} (history kept) on a NaN/Inf loss;
 * 4. end of epoch: evaluate on the validation set, append an
 *    {@link EpochRecord}, print a line (or a progress bar on a terminal).
 *
 * Same seed + same backend + same data gives bit-identical weights and metrics.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { toFloat32 } from "../data.ts";
import { IMAGE_SIZE, type ImageSet, NUM_CLASSES, PIXELS } from "../data/types.ts";
import type { EpochRecord } from "./epoch_record.ts";
import { deriveSeed, Rng } from "../utils/rng.ts";
import { evaluateSet } from "./evaluate.ts";
import {
  applyMaxNorm,
  buildMlp,
  kernels,
  l2Penalty,
  type MlpSpec,
  type Network,
  setDropoutStep,
  validateMlpSpec,
} from "./mlp.ts";
import {
  createOptimizer,
  describeOptimizer,
  disposeOptimizer,
  type OptimizerSpec,
  setLearningRate,
  validateOptimizer,
} from "./optimizers.ts";
import { describeSchedule, learningRateAt, type Schedule, validateSchedule } from "./schedules.ts";

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
  /** One line per epoch (and the run's header) goes here. */
  log?: (line: string) => void;
  /** Show a live progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Batch size for validation passes (default 1000). */
  evalBatchSize?: number;
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

/**
 * Shifts each of the `count` 28x28 images in `pixels` (in place) by a random
 * offset in [-maxShift, maxShift] on each axis, filling uncovered pixels with 0.
 */
export function shiftImages(pixels: Float32Array, count: number, rng: Rng, maxShift: number): void {
  if (maxShift <= 0) return;
  const tmp = new Float32Array(PIXELS);
  for (let n = 0; n < count; n++) {
    const dx = rng.int(2 * maxShift + 1) - maxShift;
    const dy = rng.int(2 * maxShift + 1) - maxShift;
    if (dx === 0 && dy === 0) continue;
    const base = n * PIXELS;
    tmp.fill(0);
    for (let y = 0; y < IMAGE_SIZE; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= IMAGE_SIZE) continue;
      for (let x = 0; x < IMAGE_SIZE; x++) {
        const sx = x - dx;
        if (sx >= 0 && sx < IMAGE_SIZE) {
          tmp[y * IMAGE_SIZE + x] = pixels[base + sy * IMAGE_SIZE + sx];
        }
      }
    }
    pixels.set(tmp, base);
  }
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

/** A one-line progress bar redrawn in place on stderr. */
class ProgressBar {
  #last = 0;
  readonly #enc = new TextEncoder();

  draw(text: string, force = false): void {
    const now = performance.now();
    if (!force && now - this.#last < 150) return;
    this.#last = now;
    Deno.stderr.writeSync(this.#enc.encode(`\r\x1b[2K${text}`));
  }

  clear(): void {
    Deno.stderr.writeSync(this.#enc.encode("\r\x1b[2K"));
  }
}

function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/**
 * Rows `[start, end)` of batch `b` when `count` images are cut into `steps`
 * batches of equal size (sizes differ by at most one). A short last batch
 * (e.g. 4 images after 117 batches of 128) would take a full-size step in the
 * direction of a handful of images - enough to wreck the end-of-epoch weights.
 */
export function batchBounds(count: number, steps: number, b: number): [number, number] {
  return [Math.floor((b * count) / steps), Math.floor(((b + 1) * count) / steps)];
}

/** Formats one epoch record as the line printed when not on a terminal. */
export function formatEpoch(r: EpochRecord, epochs: number): string {
  return `epoch ${String(r.epoch).padStart(String(epochs).length)}/${epochs}` +
    `  lr ${r.learningRate.toPrecision(3)}  loss ${r.loss.toFixed(4)}` +
    `  train acc ${r.trainAccuracy.toFixed(4)}  valid loss ${r.validLoss.toFixed(4)}` +
    `  valid acc ${r.validAccuracy.toFixed(4)}  ${r.seconds.toFixed(1)}s` +
    `  ${Math.round(r.samplesPerSecond)} samples/s`;
}

/** One minibatch: pixels (augmented when asked) and labels as tensors. */
function makeBatch(
  set: ImageSet,
  order: Uint32Array,
  start: number,
  end: number,
  augment: { rng: Rng; shift: number } | undefined,
): { x: tf.Tensor2D; y: tf.Tensor2D; labels: Uint8Array } {
  const count = end - start;
  const pixels = toFloat32(set, order, start, end);
  if (augment) shiftImages(pixels, count, augment.rng, augment.shift);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = set.labels[order[start + i]];
  const x = tf.tensor2d(pixels, [count, PIXELS]);
  const y = tf.tidy(() =>
    tf.cast(tf.oneHot(tf.tensor1d(labels, "int32"), NUM_CLASSES), "float32")
  ) as tf.Tensor2D;
  return { x, y, labels };
}

/**
 * Trains a network on `train`, validating on `valid` after every epoch.
 * Throws {@link TrainingDivergedError} if the loss becomes NaN or infinite.
 */
export async function trainMlp(
  train: ImageSet,
  valid: ImageSet,
  config: TrainConfig,
  options: TrainOptions = {},
): Promise<TrainResult> {
  validateTrainConfig(config);
  if (train.count === 0) throw new Error("training set is empty");
  const log = options.log ?? (() => {});
  const bar = (options.progress ?? stderrIsTerminal()) ? new ProgressBar() : undefined;
  const { spec, epochs, batchSize, seed } = config;
  const smoothing = config.labelSmoothing ?? 0;
  const shift = config.augmentShift ?? 0;
  const averageLast = config.averageLast ?? 1;
  const perStep = (config.scheduleUpdate ?? "epoch") === "step";
  const stepsPerEpoch = Math.ceil(train.count / batchSize);

  log(
    `training: ${train.count} images, ${epochs} epochs of ${stepsPerEpoch} batches of ${batchSize}, ` +
      `${describeOptimizer(config.optimizer)}, lr ${describeSchedule(config.schedule)}` +
      (perStep ? " (per step)" : "") + `, seed ${seed}, backend ${tf.getBackend()}`,
  );

  // 1. The network, its trainable variables, its kernels (for L2 and max-norm).
  const model = buildMlp(spec, seed);
  const variables = model.layers.trainableWeights.map((w) => w.read() as tf.Variable);
  const kernelInfo = kernels(model, spec);
  const optimizer = createOptimizer(config.optimizer, learningRateAt(config.schedule, 0, epochs));
  const history: EpochRecord[] = [];
  const averaged: tf.Tensor[] | undefined = averageLast > 1
    ? variables.map((v) => tf.zerosLike(v))
    : undefined;
  // Best-epoch snapshot (restoreBest): every weight, batch-norm statistics included.
  const allWeights = model.layers.weights.map((w) => w.read() as tf.Variable);
  let best: { epoch: number; accuracy: number; weights: tf.Tensor[] } | undefined;
  const started = performance.now();
  let step = 0;

  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const epochStart = performance.now();
      // 2. Learning rate for this epoch and a seeded shuffle.
      let lr = learningRateAt(config.schedule, epoch, epochs);
      setLearningRate(optimizer, lr);
      let lrSum = 0;
      const order = new Rng(deriveSeed(seed, 2, epoch)).permutation(train.count);
      let lossSum = 0;
      let correctSum = 0;
      let seen = 0;

      // 3. Minibatches.
      for (let b = 0; b < stepsPerEpoch; b++, step++) {
        const [start, end] = batchBounds(train.count, stepsPerEpoch, b);
        if (perStep) {
          lr = learningRateAt(config.schedule, epoch + b / stepsPerEpoch, epochs);
          setLearningRate(optimizer, lr);
        }
        lrSum += lr;
        const augment = shift > 0 ? { rng: new Rng(deriveSeed(seed, 3, step)), shift } : undefined;
        const { x, y } = makeBatch(train, order, start, end, augment);
        setDropoutStep(model, step);
        let correct: tf.Scalar | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const logits = model.layers.apply(x, { training: true }) as tf.Tensor2D;
          correct = tf.keep(
            tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), "float32")),
          );
          const dataLoss = tf.losses.softmaxCrossEntropy(y, logits, undefined, smoothing);
          return tf.add(dataLoss, l2Penalty(kernelInfo)) as tf.Scalar;
        }, variables);
        const loss = value.dataSync()[0];
        const nCorrect = correct!.dataSync()[0];
        tf.dispose([x, y, value, correct!]);
        if (!Number.isFinite(loss)) {
          tf.dispose(grads);
          throw new TrainingDivergedError(
            `training diverged: loss is ${loss} at epoch ${epoch + 1}, batch ${b + 1} ` +
              `(learning rate ${lr}); try a smaller learning rate. ` +
              `History of the ${history.length} completed epoch(s) is kept.`,
            history,
          );
        }
        optimizer.applyGradients(grads);
        tf.dispose(grads);
        applyMaxNorm(kernelInfo);
        const n = end - start;
        lossSum += loss * n;
        correctSum += nCorrect;
        seen += n;
        if (bar) {
          const elapsed = (performance.now() - started) / 1000;
          const done = (epoch * stepsPerEpoch + b + 1) / (epochs * stepsPerEpoch);
          const width = 24;
          const filled = Math.round(((b + 1) / stepsPerEpoch) * width);
          bar.draw(
            `epoch ${epoch + 1}/${epochs} [${"=".repeat(filled)}${" ".repeat(width - filled)}] ` +
              `batch ${b + 1}/${stepsPerEpoch}  loss ${(lossSum / seen).toFixed(4)}  ` +
              `acc ${(correctSum / seen).toFixed(4)}  ETA ${
                formatSeconds(elapsed / done - elapsed)
              }`,
            b + 1 === stepsPerEpoch,
          );
        }
      }
      const trainSeconds = (performance.now() - epochStart) / 1000;

      // Weight averaging over the last epochs.
      if (averaged && epoch >= epochs - averageLast) {
        variables.forEach((v, i) => {
          const next = tf.add(averaged[i], v);
          averaged[i].dispose();
          averaged[i] = next;
        });
      }

      // 4. Validation and the epoch's record.
      const v = valid.count > 0
        ? evaluateSet(model, valid, options.evalBatchSize ?? 1000)
        : { loss: NaN, accuracy: NaN };
      const record: EpochRecord = {
        epoch: epoch + 1,
        loss: lossSum / seen,
        trainAccuracy: correctSum / seen,
        validLoss: v.loss,
        validAccuracy: v.accuracy,
        learningRate: perStep ? lrSum / stepsPerEpoch : lr,
        seconds: (performance.now() - epochStart) / 1000,
        samplesPerSecond: seen / trainSeconds,
      };
      history.push(record);
      if (config.restoreBest && (best === undefined || v.accuracy > best.accuracy)) {
        if (best) tf.dispose(best.weights);
        best = {
          epoch: epoch + 1,
          accuracy: v.accuracy,
          weights: allWeights.map((w) => w.clone()),
        };
      }
      bar?.clear();
      log(formatEpoch(record, epochs));
      // Let timers and I/O run between epochs.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (averaged) {
      variables.forEach((v, i) => {
        const mean = tf.div(averaged[i], averageLast);
        v.assign(mean);
        mean.dispose();
      });
      log(`final weights: average of the last ${averageLast} epochs' weights`);
    }
    if (best) {
      allWeights.forEach((w, i) => w.assign(best!.weights[i]));
      log(`final weights: epoch ${best.epoch}, best valid accuracy ${best.accuracy.toFixed(4)}`);
    }
  } catch (err) {
    bar?.clear();
    model.dispose();
    throw err;
  } finally {
    disposeOptimizer(optimizer);
    if (averaged) tf.dispose(averaged);
    if (best) tf.dispose(best.weights);
  }
  return {
    model,
    history,
    config,
    seconds: (performance.now() - started) / 1000,
    finalEpoch: best?.epoch ?? epochs,
  };
}
