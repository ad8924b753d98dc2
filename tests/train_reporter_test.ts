import * as tf from "@tensorflow/tfjs-core";
import "../compute/cpu_backend.ts";
import { assert, assertEquals } from "../deps/assert.ts";
import type { EpochRecord } from "../models/epoch_record.ts";
import {
  type BatchProgress,
  type FinalWeights,
  formatEpoch,
  formatFinalWeights,
  formatStart,
  logReporter,
  type TrainConfig,
  trainMlp,
  type TrainStart,
} from "../models/train/train.ts";
import { toySet } from "./toy_data.ts";

await tf.setBackend("cpu");

const train = toySet(100, 1);
const valid = toySet(40, 2);
const config: TrainConfig = {
  spec: { hidden: [{ units: 8, activation: "relu", dropout: 0.2 }] },
  optimizer: { kind: "momentum", momentum: 0.9 },
  schedule: { kind: "constant", initial: 0.05 },
  epochs: 3,
  batchSize: 32,
  seed: 5,
  averageLast: 2,
};

/** History without the timing fields (same seed -> same bits; timings differ). */
const numbers = (h: EpochRecord[]) =>
  h.map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest);

Deno.test("trainMlp reports through the reporter's callbacks; the result does not depend on it", async () => {
  const events: string[] = [];
  let start: TrainStart | undefined;
  const batches: BatchProgress[] = [];
  const epochs: EpochRecord[] = [];
  const finals: FinalWeights[] = [];
  const r = await trainMlp(train, valid, config, {
    reporter: {
      onStart: (s) => {
        events.push("start");
        start = s;
      },
      onBatch: (p) => batches.push(p),
      onEpoch: (rec, n) => {
        events.push(`epoch ${rec.epoch}/${n}`);
        epochs.push(rec);
      },
      onFinalWeights: (f) => finals.push(f),
    },
  });
  assertEquals(events, ["start", "epoch 1/3", "epoch 2/3", "epoch 3/3"]);
  assertEquals(start?.stepsPerEpoch, 4);
  assertEquals(batches.length, 12);
  assertEquals(batches.map((b) => `${b.epoch}:${b.batch}`).slice(0, 5), [
    "0:0",
    "0:1",
    "0:2",
    "0:3",
    "1:0",
  ]);
  assertEquals(epochs, r.history);
  assertEquals(batches[3].loss, r.history[0].loss);
  assertEquals(finals, [{ kind: "average", epochs: 2 }]);

  const lines: string[] = [];
  const again = await trainMlp(train, valid, config, {
    log: (l) => lines.push(l),
    progress: false,
  });
  assertEquals(numbers(again.history), numbers(r.history));
  assertEquals(again.model.weights(), r.model.weights());
  assertEquals(lines.length, 1 + 3 + 1);
  assertEquals(lines[0], formatStart(start!));
  assert(lines[0].startsWith("training: 100 images, 3 epochs of 4 batches of 32, "));
  assertEquals(lines.slice(1, 4), again.history.map((h) => formatEpoch(h, 3)));
  assertEquals(lines[4], "final weights: average of the last 2 epochs' weights");
  r.model.dispose();
  again.model.dispose();
});

Deno.test("restoreBest reports the epoch it restored; logReporter prints it", async () => {
  const finals: FinalWeights[] = [];
  const r = await trainMlp(train, valid, { ...config, averageLast: 1, restoreBest: true }, {
    reporter: { onFinalWeights: (f) => finals.push(f) },
  });
  const best = Math.max(...r.history.map((h) => h.validAccuracy));
  const epoch = r.history.findIndex((h) => h.validAccuracy === best) + 1;
  assertEquals(r.finalEpoch, epoch);
  assertEquals(finals, [{ kind: "best", epoch, validAccuracy: best }]);
  assertEquals(
    formatFinalWeights(finals[0]),
    `final weights: epoch ${epoch}, best valid accuracy ${best.toFixed(4)}`,
  );
  const lines: string[] = [];
  const rep = logReporter((l) => lines.push(l), false);
  assertEquals(rep.onBatch, undefined);
  rep.onFinalWeights?.(finals[0]);
  assertEquals(lines, [formatFinalWeights(finals[0])]);
  r.model.dispose();
});
