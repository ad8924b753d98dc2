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
 * 4. end of epoch: fold the weights into the running average
 *    ({@link weightAverager}, `averageLast`), evaluate on the validation set,
 *    append an {@link EpochRecord}, keep the best epoch's weights
 *    ({@link bestEpochKeeper}, `restoreBest`);
 * 5. the final weights: the average, or the best epoch's, or the last.
 *
 * Progress (the run's header, a progress bar, one line per epoch) goes to a
 * {@link TrainReporter}; the default, {@link logReporter}, prints lines to
 * `options.log` and draws a bar on a terminal.
 *
 * Same seed + same backend + same data gives bit-identical weights and metrics.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { toFloat32 } from "../../data.ts";
import { IMAGE_SIZE, type ImageSet, NUM_CLASSES, PIXELS } from "../../data/types.ts";
import type { EpochRecord } from "../epoch_record.ts";
import { deriveSeed, Rng } from "../../utils/rng.ts";
import { evaluateSet } from "../evaluate.ts";
import { createFusedTrainer, fusedBlasForBackend, fusedUnsupportedReason } from "./fused_step.ts";
import {
  applyMaxNorm,
  buildMlp,
  kernels,
  l2Penalty,
  type MlpSpec,
  type Network,
  setDropoutStep,
  validateMlpSpec,
} from "../mlp.ts";
import {
  createOptimizer,
  describeOptimizer,
  disposeOptimizer,
  type OptimizerSpec,
  setLearningRate,
  validateOptimizer,
} from "../optimizers.ts";
import { describeSchedule, learningRateAt, type Schedule, validateSchedule } from "../schedules.ts";
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

/** The run's header line, e.g. `training: 2000 images, 2 epochs of 16 batches of 128, ...`. */
export function formatStart(s: TrainStart): string {
  const c = s.config;
  return `training: ${s.count} images, ${s.epochs} epochs of ${s.stepsPerEpoch} batches of ` +
    `${c.batchSize}, ${describeOptimizer(c.optimizer)}, lr ${describeSchedule(c.schedule)}` +
    ((c.scheduleUpdate ?? "epoch") === "step" ? " (per step)" : "") +
    `, seed ${c.seed}, backend ${s.backend}${s.fusedStep ? " (fused step)" : ""}`;
}

/** The progress bar's text for one minibatch. */
export function formatBatch(p: BatchProgress): string {
  const done = (p.epoch * p.stepsPerEpoch + p.batch + 1) / (p.epochs * p.stepsPerEpoch);
  const width = 24;
  const filled = Math.round(((p.batch + 1) / p.stepsPerEpoch) * width);
  return `epoch ${p.epoch + 1}/${p.epochs} [${"=".repeat(filled)}${" ".repeat(width - filled)}] ` +
    `batch ${p.batch + 1}/${p.stepsPerEpoch}  loss ${p.loss.toFixed(4)}  ` +
    `acc ${p.accuracy.toFixed(4)}  ETA ${
      formatSeconds(p.elapsedSeconds / done - p.elapsedSeconds)
    }`;
}

/** The line saying which weights the model ends with. */
export function formatFinalWeights(f: FinalWeights): string {
  return f.kind === "average"
    ? `final weights: average of the last ${f.epochs} epochs' weights`
    : `final weights: epoch ${f.epoch}, best valid accuracy ${f.validAccuracy.toFixed(4)}`;
}

/**
 * The default reporter: the header, one line per epoch and the final-weights
 * line go to `log`; with `progress` (default: when stderr is a terminal) a
 * progress bar with the ETA is redrawn on stderr during each epoch.
 */
export function logReporter(
  log: (line: string) => void = () => {},
  progress: boolean = stderrIsTerminal(),
): TrainReporter {
  const bar = progress ? new ProgressBar() : undefined;
  return {
    onStart: (s) => log(formatStart(s)),
    onBatch: bar ? (p) => bar.draw(formatBatch(p), p.batch + 1 === p.stepsPerEpoch) : undefined,
    onEpoch: (record, epochs) => {
      bar?.clear();
      log(formatEpoch(record, epochs));
    },
    onFinalWeights: (f) => log(formatFinalWeights(f)),
    onError: () => bar?.clear(),
  };
}

/**
 * Running sum of the end-of-epoch weights of the last `last` epochs
 * (`averageLast`): `add()` after each of those epochs, `assignMean()` once at
 * the end, `dispose()` always.
 */
function weightAverager(
  variables: tf.Variable[],
  last: number,
): { add(): void; assignMean(): void; dispose(): void } {
  const sums: tf.Tensor[] = variables.map((v) => tf.zerosLike(v));
  return {
    add() {
      variables.forEach((v, i) => {
        const next = tf.add(sums[i], v);
        sums[i].dispose();
        sums[i] = next;
      });
    },
    assignMean() {
      variables.forEach((v, i) => {
        const mean = tf.div(sums[i], last);
        v.assign(mean);
        mean.dispose();
      });
    },
    dispose: () => tf.dispose(sums),
  };
}

/**
 * Keeps a copy of every weight (batch-norm statistics included) of the epoch
 * with the best validation accuracy (`restoreBest`; first one on ties):
 * `offer()` after each epoch's validation, `restore()` once at the end (returns
 * the epoch restored), `dispose()` always.
 */
function bestEpochKeeper(weights: tf.Variable[]): {
  offer(epoch: number, accuracy: number): void;
  restore(): { epoch: number; accuracy: number } | undefined;
  dispose(): void;
} {
  let best: { epoch: number; accuracy: number; weights: tf.Tensor[] } | undefined;
  return {
    offer(epoch, accuracy) {
      if (best !== undefined && !(accuracy > best.accuracy)) return;
      if (best) tf.dispose(best.weights);
      best = { epoch, accuracy, weights: weights.map((w) => w.clone()) };
    },
    restore() {
      if (!best) return undefined;
      const kept = best;
      weights.forEach((w, i) => w.assign(kept.weights[i]));
      return { epoch: kept.epoch, accuracy: kept.accuracy };
    },
    dispose() {
      if (best) tf.dispose(best.weights);
    },
  };
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

function divergedMessage(
  loss: number,
  epoch: number,
  b: number,
  lr: number,
  history: EpochRecord[],
): string {
  return `training diverged: loss is ${loss} at epoch ${epoch + 1}, batch ${b + 1} ` +
    `(learning rate ${lr}); try a smaller learning rate. ` +
    `History of the ${history.length} completed epoch(s) is kept.`;
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
  const reporter = options.reporter ?? logReporter(options.log, options.progress);
  const { spec, epochs, batchSize, seed } = config;
  const smoothing = config.labelSmoothing ?? 0;
  const shift = config.augmentShift ?? 0;
  const averageLast = config.averageLast ?? 1;
  const perStep = (config.scheduleUpdate ?? "epoch") === "step";
  const stepsPerEpoch = Math.ceil(train.count / batchSize);
  const fusedBlas = options.fusedStep === false
    ? undefined
    : options.blas ?? fusedBlasForBackend(tf.getBackend());
  const useFused = fusedBlas !== undefined && fusedUnsupportedReason(config) === undefined;

  reporter.onStart?.({
    count: train.count,
    epochs,
    stepsPerEpoch,
    config,
    backend: tf.getBackend(),
    fusedStep: useFused,
  });

  // 1. The network, its trainable variables, its kernels (for L2 and max-norm).
  const model = buildMlp(spec, seed);
  const variables = model.layers.trainableWeights.map((w) => w.read() as tf.Variable);
  const kernelInfo = kernels(model, spec);
  const fused = useFused ? createFusedTrainer(model, config, fusedBlas) : undefined;
  const optimizer = createOptimizer(config.optimizer, learningRateAt(config.schedule, 0, epochs));
  const history: EpochRecord[] = [];
  const average = averageLast > 1 ? weightAverager(variables, averageLast) : undefined;
  const best = config.restoreBest
    ? bestEpochKeeper(model.layers.weights.map((w) => w.read() as tf.Variable))
    : undefined;
  let finalEpoch = epochs;
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
        let loss: number;
        let nCorrect: number;
        if (fused) {
          ({ loss, correct: nCorrect } = fused.step(train, order, start, end, step, lr));
          if (!Number.isFinite(loss)) {
            throw new TrainingDivergedError(divergedMessage(loss, epoch, b, lr, history), history);
          }
        } else {
          const augment = shift > 0
            ? { rng: new Rng(deriveSeed(seed, 3, step)), shift }
            : undefined;
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
          loss = value.dataSync()[0];
          nCorrect = correct!.dataSync()[0];
          tf.dispose([x, y, value, correct!]);
          if (!Number.isFinite(loss)) {
            tf.dispose(grads);
            throw new TrainingDivergedError(divergedMessage(loss, epoch, b, lr, history), history);
          }
          optimizer.applyGradients(grads);
          tf.dispose(grads);
          applyMaxNorm(kernelInfo);
        }
        const n = end - start;
        lossSum += loss * n;
        correctSum += nCorrect;
        seen += n;
        reporter.onBatch?.({
          epoch,
          epochs,
          batch: b,
          stepsPerEpoch,
          loss: lossSum / seen,
          accuracy: correctSum / seen,
          elapsedSeconds: (performance.now() - started) / 1000,
        });
      }
      const trainSeconds = (performance.now() - epochStart) / 1000;

      // The fused step trains on its own buffers: the tfjs model gets the weights here.
      fused?.writeBack();
      // Weight averaging over the last epochs.
      if (average && epoch >= epochs - averageLast) average.add();

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
      best?.offer(epoch + 1, v.accuracy);
      reporter.onEpoch?.(record, epochs);
      // Let timers and I/O run between epochs.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    // 5. The final weights.
    if (average) {
      average.assignMean();
      reporter.onFinalWeights?.({ kind: "average", epochs: averageLast });
    }
    const restored = best?.restore();
    if (restored) {
      finalEpoch = restored.epoch;
      reporter.onFinalWeights?.({
        kind: "best",
        epoch: restored.epoch,
        validAccuracy: restored.accuracy,
      });
    }
  } catch (err) {
    reporter.onError?.(err);
    model.dispose();
    throw err;
  } finally {
    fused?.release();
    disposeOptimizer(optimizer);
    average?.dispose();
    best?.dispose();
  }
  return {
    model,
    history,
    config,
    seconds: (performance.now() - started) / 1000,
    finalEpoch,
  };
}
