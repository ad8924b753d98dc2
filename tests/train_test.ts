import * as tf from "@tensorflow/tfjs-core";
import "../compute/cpu_backend.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../deps/assert.ts";
import { evaluateSet } from "../models/evaluate.ts";
import {
  batchBounds,
  shiftImages,
  type TrainConfig,
  TrainingDivergedError,
  trainMlp,
  validateTrainConfig,
} from "../models/train/train.ts";
import { learningRateAt } from "../models/schedules.ts";
import { Rng } from "../utils/rng.ts";
import { toySet } from "./toy_data.ts";

await tf.setBackend("cpu");

const train = toySet(300, 1);
const valid = toySet(100, 2);

const base: TrainConfig = {
  spec: { hidden: [{ units: 16, activation: "relu", dropout: 0.2, l2: 1e-4 }] },
  optimizer: { kind: "momentum", momentum: 0.9 },
  schedule: { kind: "step", initial: 0.05, factor: 0.5, every: 1 },
  epochs: 3,
  batchSize: 32,
  seed: 11,
};

Deno.test("an MLP learns a separable toy problem; the rate follows the schedule, the momentum is recorded", async () => {
  const r = await trainMlp(train, valid, base);
  assertEquals(r.history.length, 3);
  assertEquals(r.history.map((h) => h.learningRate), [0.05, 0.025, 0.0125]);
  // The momentum of every epoch is recorded too (the pictures' rate panel draws it).
  assertEquals(r.history.map((h) => h.momentum), [0.9, 0.9, 0.9]);
  assertEquals(r.history.map((h) => h.epoch), [1, 2, 3]);
  // 0.85 (chance: 0.1): the seed-stream fix (issue 20) moved this run to 0.90 on 100 images
  assert(r.history[2].validAccuracy > 0.85, `valid acc ${r.history[2].validAccuracy}`);
  assert(r.history[2].loss < r.history[0].loss);
  const v = evaluateSet(r.model, valid);
  assertEquals(v.accuracy, r.history[2].validAccuracy);
  r.model.dispose();
});

Deno.test("logistic regression (0 hidden layers) learns it too", async () => {
  const r = await trainMlp(train, valid, {
    ...base,
    spec: { hidden: [] },
    optimizer: { kind: "sgd" },
    schedule: { kind: "constant", initial: 0.5 },
  });
  assertEquals(r.model.weightShapes(), [[784, 10], [10]]);
  // 0.85 (chance: 0.1): the seed-stream fix (issue 20) moved this run to 0.90 on 100 images
  assert(r.history[2].validAccuracy > 0.85, `valid acc ${r.history[2].validAccuracy}`);
  r.model.dispose();
});

Deno.test("same seed, backend and data: bit-identical weights and metrics", async () => {
  const strip = (h: { seconds: number; samplesPerSecond: number }[]) =>
    h.map(({ seconds: _s, samplesPerSecond: _p, ...rest }) => rest);
  const cfg: TrainConfig = { ...base, augmentShift: 2, epochs: 2 };
  const a = await trainMlp(train, valid, cfg);
  const b = await trainMlp(train, valid, cfg);
  const c = await trainMlp(train, valid, { ...cfg, seed: 12 });
  const weights = (r: typeof a) => r.model.weights().map((w) => Array.from(w));
  assertEquals(weights(a), weights(b));
  assertEquals(strip(a.history), strip(b.history));
  assert(JSON.stringify(weights(a)) !== JSON.stringify(weights(c)));
  [a, b, c].forEach((r) => r.model.dispose());
});

Deno.test("no tensor leaks: the tensor count does not grow across epochs", async () => {
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  const r = await trainMlp(train, valid, { ...base, epochs: 4, averageLast: 2 }, {
    log: (line) => {
      if (line.startsWith("epoch")) counts.push(tf.memory().numTensors);
    },
  });
  assertEquals(counts.length, 4);
  assert(counts.every((n) => n === counts[0]), `tensors per epoch: ${counts}`);
  r.model.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("NaN/Inf loss stops training with a clear error and keeps the history", async () => {
  const before = tf.memory().numTensors;
  const err = await assertRejects(
    () =>
      trainMlp(train, valid, {
        ...base,
        spec: {
          hidden: [{ units: 32, activation: "linear" }, { units: 32, activation: "linear" }],
        },
        // A learning-rate range test gone too far: 1e-3 in epoch 1, 10 in epoch 2.
        schedule: { kind: "exponential", initial: 1e-3, rate: 1e4 },
        optimizer: { kind: "momentum", momentum: 0.99 },
        epochs: 3,
      }),
    (e: unknown) => {
      assert(e instanceof TrainingDivergedError);
      assert(/training diverged: loss is (NaN|Infinity) at epoch 2/.test(e.message), e.message);
      assertEquals(e.history.length, 1);
      assert(Number.isFinite(e.history[0].loss));
      return true;
    },
  );
  void err;
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("validateTrainConfig names the field", () => {
  assertThrows(() => validateTrainConfig({ ...base, epochs: 0 }), /epochs must be an integer/);
  assertThrows(() => validateTrainConfig({ ...base, batchSize: 1.5 }), /batchSize/);
  assertThrows(
    () => validateTrainConfig({ ...base, optimizer: { kind: "momentum", momentum: 1.2 } }),
    /optimizer\.momentum must be a number in \[0, 1\), got 1\.2/,
  );
});

Deno.test("shiftImages moves the picture and fills with zeros", () => {
  const img = new Float32Array(784);
  img[10 * 28 + 10] = 1;
  // Find a seed whose first draw is a non-zero shift and check the pixel moved by it.
  const rng = new Rng(5);
  const probe = new Rng(5);
  const dx = probe.int(5) - 2;
  const dy = probe.int(5) - 2;
  shiftImages(img, 1, rng, 2);
  assertEquals(img.reduce((a, b) => a + b, 0), 1);
  assertEquals(img[(10 + dy) * 28 + 10 + dx], 1);
});

Deno.test("batches are equal-sized: no tiny last batch", () => {
  const count = 117 * 128 + 4;
  const steps = Math.ceil(count / 128);
  const sizes = Array.from({ length: steps }, (_, b) => {
    const [s, e] = batchBounds(count, steps, b);
    return e - s;
  });
  assertEquals(sizes.reduce((a, b) => a + b, 0), count);
  assert(Math.max(...sizes) <= 128 && Math.max(...sizes) - Math.min(...sizes) <= 1, `${sizes}`);
  assertEquals(batchBounds(count, steps, 0)[0], 0);
  assertEquals(batchBounds(count, steps, steps - 1)[1], count);
});

Deno.test("batch norm: learns, is reproducible, no tensor leak", async () => {
  const before = tf.memory().numTensors;
  const cfg: TrainConfig = {
    ...base,
    spec: { hidden: [{ units: 16, activation: "relu", batchNorm: true, dropout: 0.1 }] },
    epochs: 2,
  };
  const a = await trainMlp(train, valid, cfg);
  const b = await trainMlp(train, valid, cfg);
  assert(a.history[1].validAccuracy > 0.9, `valid acc ${a.history[1].validAccuracy}`);
  // Trainable first (kernel, gamma, beta, output kernel and bias), then moving mean and variance.
  assertEquals(a.model.weightShapes(), [[784, 16], [16], [16], [16, 10], [10], [16], [16]]);
  assertEquals(
    a.model.weights().map((w) => Array.from(w)),
    b.model.weights().map((w) => Array.from(w)),
  );
  // Inference uses the moving statistics: evaluation matches the recorded valid accuracy.
  assertEquals(evaluateSet(a.model, valid).accuracy, a.history[1].validAccuracy);
  a.model.dispose();
  b.model.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("restoreBest keeps the weights of the best validation epoch", async () => {
  const before = tf.memory().numTensors;
  // A noisy run (large constant rate) so that the last epoch is not the best.
  const r = await trainMlp(toySet(200, 7), toySet(100, 8), {
    ...base,
    schedule: { kind: "constant", initial: 0.3 },
    epochs: 5,
    restoreBest: true,
  });
  const accs = r.history.map((h) => h.validAccuracy);
  const bestEpoch = accs.indexOf(Math.max(...accs)) + 1;
  assertEquals(r.finalEpoch, bestEpoch);
  assertEquals(evaluateSet(r.model, toySet(100, 8)).accuracy, Math.max(...accs));
  r.model.dispose();
  assertEquals(tf.memory().numTensors, before);
  assertThrows(
    () => validateTrainConfig({ ...base, restoreBest: true, averageLast: 2 }),
    /restoreBest and averageLast > 1 cannot be combined/,
  );
});

Deno.test("per-step schedule: the recorded rate is the mean of the rates used in the epoch", async () => {
  const schedule = { kind: "cosine", initial: 0.05, minimum: 0.005 } as const;
  const r = await trainMlp(train, valid, {
    ...base,
    schedule,
    scheduleUpdate: "step",
    labelSmoothing: 0.1,
    epochs: 2,
  });
  const steps = Math.ceil(train.count / base.batchSize);
  for (const h of r.history) {
    let sum = 0;
    for (let b = 0; b < steps; b++) sum += learningRateAt(schedule, h.epoch - 1 + b / steps, 2);
    assert(Math.abs(h.learningRate - sum / steps) < 1e-12, `${h.learningRate} vs ${sum / steps}`);
  }
  assert(r.history[0].learningRate < 0.05 && r.history[1].learningRate < r.history[0].learningRate);
  // learns (chance: 0.1); the seed-stream fix (issue 20) moved this 2-epoch run to 0.82
  assert(r.history[1].validAccuracy > 0.75, `valid acc ${r.history[1].validAccuracy}`);
  r.model.dispose();
});
