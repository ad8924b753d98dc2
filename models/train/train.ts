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
import type { ImageSet } from "../../data/types.ts";
import type { EpochRecord } from "../epoch_record.ts";
import { deriveSeed, Rng } from "../../utils/rng.ts";
import { shiftStream, shuffleStream } from "../../utils/seed_streams.ts";
import { evaluateSet } from "../evaluate.ts";
import { createFusedTrainer, fusedBlasForBackend, fusedUnsupportedReason } from "./fused_step.ts";
import { applyMaxNorm, buildMlp, kernels, l2Penalty, setDropoutStep } from "../mlp.ts";
import { createOptimizer, disposeOptimizer, momentumOf, setLearningRate } from "../optimizers.ts";
import { learningRateAt } from "../schedules.ts";
import { batchBounds, makeBatch } from "./batches.ts";
import { bestEpochKeeper, weightAverager } from "./final_weights.ts";
import { logReporter } from "./progress.ts";
import {
  type TrainConfig,
  TrainingDivergedError,
  type TrainOptions,
  type TrainResult,
  validateTrainConfig,
} from "./config.ts";

export * from "./config.ts";
export {
  formatBatch,
  formatEpoch,
  formatFinalWeights,
  formatStart,
  logReporter,
} from "./progress.ts";
export { batchBounds, shiftImages } from "./batches.ts";

/**
 * One turn of the event loop (due timers, I/O), through a message to a fresh
 * channel: ~40 us, where `setTimeout(0)` takes ~2.3 ms in Deno.
 */
function yieldToEventLoop(): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  return new Promise<void>((resolve) => {
    port1.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port2.postMessage(0);
  });
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
  const fused = useFused
    ? createFusedTrainer(model, config, fusedBlas, { helper: options.fusedHelper ?? true })
    : undefined;
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
      const order = new Rng(deriveSeed(seed, ...shuffleStream(epoch))).permutation(train.count);
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
            ? { rng: new Rng(deriveSeed(seed, ...shiftStream(step))), shift }
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
        momentum: momentumOf(config.optimizer),
        seconds: (performance.now() - epochStart) / 1000,
        samplesPerSecond: seen / trainSeconds,
      };
      history.push(record);
      best?.offer(epoch + 1, v.accuracy);
      reporter.onEpoch?.(record, epochs);
      // Let timers and I/O run between epochs.
      await yieldToEventLoop();
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
