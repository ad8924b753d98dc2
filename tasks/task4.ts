/**
 * Task 4 of the lab: the regularized network of task 3 trained with momentum
 * and a learning rate that really decays during training, measured against
 * the lab's 97.1% target.
 *
 * The 97.1% target was measured on the `lab` protocol (train on
 * notMNIST_large, test on notMNIST_small); on the `small` protocol (only
 * notMNIST_small, 15k training images) it is not reachable by a
 * fully-connected net and the report says so.
 *
 * @module
 */
import type { MlpSpec } from "../models/mlp.ts";
import type { TrainConfig } from "../models/train.ts";
import { describeSchedule, type Schedule } from "../models/schedules.ts";
import {
  markdownTable,
  pct,
  points,
  runTask,
  saveMain,
  type TaskDefinition,
  taskMain,
  type TaskResult,
  type TaskRunOptions,
  trainRole,
} from "./common.ts";
import { DATA_NOTES } from "./task1.ts";
import { REGULARIZED_SPEC } from "./task3.ts";
import type { TaskInput, TaskOutput } from "./types.ts";

// ---- Constants.

/** The lab's target: the best reported test accuracy of this model (lab protocol). */
export const TARGET = 0.971;
/** Default number of epochs. */
export const EPOCHS = 20;
/** Default minibatch size. */
export const BATCH_SIZE = 128;
/** Momentum coefficient (Nesterov). */
export const MOMENTUM = 0.9;

/** The network: task 3's regularized net. */
export const SPEC: MlpSpec = REGULARIZED_SPEC;

/** The learning rate: cosine decay from 0.05 to 0.0005 over the run. */
export const SCHEDULE: Schedule = { kind: "cosine", initial: 0.05, minimum: 0.0005 };

/** Task 4's training configuration. */
export function task4Config(seed: number, epochs = EPOCHS, batchSize = BATCH_SIZE): TrainConfig {
  return {
    spec: SPEC,
    optimizer: { kind: "momentum", momentum: MOMENTUM, nesterov: true },
    schedule: SCHEDULE,
    epochs,
    batchSize,
    seed,
  };
}

// ---- Train.

/** Trains task 4's network (role `main`) and saves it to `<outDir>/model`. */
export async function train(input: TaskInput): Promise<TaskOutput> {
  const main = await trainRole(
    input,
    "task 4: + momentum + decaying learning rate",
    task4Config(input.seed, input.epochs, input.batchSize),
  );
  await saveMain(input, main);
  return { models: { main: main.trained } };
}

// ---- Report.

function report(r: TaskResult): { table: string[]; notes: string[] } {
  const m = r.models.main;
  const table = markdownTable(
    ["model", "train", "valid", "test", "target", "test - target (points)"],
    [[
      m.name,
      pct(m.accuracy.train),
      pct(m.accuracy.valid),
      pct(m.accuracy.test),
      pct(TARGET),
      points(m.accuracy.test - TARGET),
    ]],
  );
  const rates = m.history.map((h) => h.learningRate);
  const notes = [
    r.protocol === "lab"
      ? `lab protocol: trained on notMNIST_large, tested on deduplicated notMNIST_small, as the 97.1% target was`
      : `${r.protocol} protocol: the 97.1% target was measured on the lab protocol (500k+ training images ` +
        `from notMNIST_large); here only notMNIST_small exists (${r.sizes.train} training images), so ` +
        `the target is a reference, not a like-for-like comparison`,
    `learning rate ${describeSchedule(SCHEDULE)}: it really changes, ` +
    `${rates[0]?.toPrecision(3)} in epoch 1 -> ${
      rates[rates.length - 1]?.toPrecision(3)
    } in epoch ` +
    `${rates.length} (recorded per epoch in result.json); the common notebook passes a fixed rate ` +
    `and calls it dynamic`,
    `SGD + Nesterov momentum ${MOMENTUM}`,
    ...DATA_NOTES.slice(0, 3),
  ];
  return { table, notes };
}

/** Task 4 as the task runner sees it. */
export const TASK: TaskDefinition = {
  id: 4,
  title: "momentum and a decaying learning rate, against the 97.1% target",
  defaults: { epochs: EPOCHS, batchSize: BATCH_SIZE },
  train,
  report,
};

/** Runs task 4 end to end. */
export function run(options: TaskRunOptions = {}): Promise<TaskResult> {
  return runTask(TASK, options);
}

if (import.meta.main) await taskMain(TASK, Deno.args);
