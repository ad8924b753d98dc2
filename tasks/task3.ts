/**
 * Task 3 of the lab: task 1's network with L2 regularization and dropout,
 * against the same network without them. The report gives train/valid/test
 * accuracy and the train-test gap before and after.
 *
 * @module
 */
import type { MlpSpec } from "../models/mlp.ts";
import type { TrainConfig } from "../models/train/train.ts";
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
import { BATCH_SIZE, DATA_NOTES, EPOCHS, SPEC, task1Config } from "./task1.ts";
import type { TaskInput, TaskOutput } from "./types.ts";

// ---- Constants.

/** L2 coefficient on every kernel: the loss gets `L2 * sum(W^2)` per layer. */
export const L2 = 1e-4;
/** Dropout rate after each hidden layer (each its own layer object). */
export const DROPOUT = 0.3;

/** Task 1's network with L2 on every kernel and dropout after every hidden layer. */
export const REGULARIZED_SPEC: MlpSpec = {
  hidden: SPEC.hidden.map((h) => ({ ...h, l2: L2, dropout: DROPOUT })),
  outputL2: L2,
};

/** Task 3's regularized configuration: task 1's training with {@link REGULARIZED_SPEC}. */
export function task3Config(seed: number, epochs = EPOCHS, batchSize = BATCH_SIZE): TrainConfig {
  return { ...task1Config(seed, epochs, batchSize), spec: REGULARIZED_SPEC };
}

// ---- Train: the same network with and without regularization.

/** Trains the unregularized baseline (`baseline`) and the regularized net (`main`). */
export async function train(input: TaskInput): Promise<TaskOutput> {
  const baseline = await trainRole(
    input,
    "task 3a: task 1's net, no regularization",
    task1Config(input.seed, input.epochs, input.batchSize),
  );
  const regularized = await trainRole(
    input,
    "task 3b: + L2 + dropout",
    task3Config(input.seed, input.epochs, input.batchSize),
  );
  await saveMain(input, regularized);
  return { models: { main: regularized.trained, baseline: baseline.trained } };
}

// ---- Report.

function report(r: TaskResult): { table: string[]; notes: string[] } {
  const before = r.models.baseline;
  const after = r.models.main;
  const row = (label: string, m: typeof before) => [
    label,
    pct(m.accuracy.train),
    pct(m.accuracy.valid),
    pct(m.accuracy.test),
    `${m.gapPoints.toFixed(2)} points`,
  ];
  const table = markdownTable(["model", "train", "valid", "test", "train-test gap"], [
    row(`before: ${before.name}`, before),
    row(`after: ${after.name}`, after),
  ]);
  const shrink = before.gapPoints - after.gapPoints;
  return {
    table,
    notes: [
      shrink > 0
        ? `L2 ${L2} + dropout ${DROPOUT} shrink the train-test gap by ${
          shrink.toFixed(2)
        } points ` +
          `(test accuracy ${points(after.accuracy.test - before.accuracy.test)} points)`
        : `regularization did NOT shrink the train-test gap here (${shrink.toFixed(2)} points)`,
      "each hidden layer has its own dropout layer object with a new, seeded mask at every step " +
      "(the common notebook reuses one dropout op; tfjs's seeded Dropout repeats one mask forever)",
      "L2 is an explicit term of the loss on every kernel, not on the biases",
      ...DATA_NOTES.slice(0, 3),
    ],
  };
}

/** Task 3 as the task runner sees it. */
export const TASK: TaskDefinition = {
  id: 3,
  title: "regularization: L2 and dropout",
  defaults: { epochs: EPOCHS, batchSize: BATCH_SIZE },
  train,
  report,
};

/** Runs task 3 end to end. */
export function run(options: TaskRunOptions = {}): Promise<TaskResult> {
  return runTask(TASK, options);
}

if (import.meta.main) await taskMain(TASK, Deno.args);
