/**
 * Task 1 of the lab: a deep fully-connected network on raw pixels, trained
 * with plain minibatch SGD at a constant learning rate.
 *
 * Run: `deno task task1 [flags]`; the flags are the tasks' common ones
 * (`TASK_FLAGS` in common.ts; `--help` lists them with this task's defaults).
 *
 * @module
 */
import type { MlpSpec } from "../models/mlp.ts";
import type { TrainConfig } from "../models/train/train.ts";
import {
  markdownTable,
  pct,
  runTask,
  saveMain,
  type TaskDefinition,
  taskMain,
  type TaskResult,
  type TaskRunOptions,
  trainRole,
} from "./common.ts";
import type { TaskInput, TaskOutput } from "./types.ts";

// ---- Constants: the lab's baseline network and its training budget.

/** Default number of epochs. */
export const EPOCHS = 20;
/** Default minibatch size. */
export const BATCH_SIZE = 128;
/** Plain SGD's constant learning rate. */
export const LEARNING_RATE = 0.1;

/** The network: two ReLU hidden layers of a few hundred units (784-512-256-10). */
export const SPEC: MlpSpec = {
  hidden: [
    { units: 512, activation: "relu" },
    { units: 256, activation: "relu" },
  ],
};

/** The full training configuration of task 1 (also task 2's net and task 3's baseline). */
export function task1Config(seed: number, epochs = EPOCHS, batchSize = BATCH_SIZE): TrainConfig {
  return {
    spec: SPEC,
    optimizer: { kind: "sgd" },
    schedule: { kind: "constant", initial: LEARNING_RATE },
    epochs,
    batchSize,
    seed,
  };
}

/** Notes on what the common notebook version of this lab gets wrong and this run does right. */
export const DATA_NOTES: string[] = [
  "pixels are scaled to [0, 1] per pixel (x / 255), not L2-normalised per image row as in the common notebook",
  "the validation split is shuffled and stratified by class (not the first N images of a sorted file)",
  "the test split is deduplicated against train/valid, so test accuracy measures generalisation, not memory",
  "hidden layers use relu; softmax appears only at the output (a softmax hidden activation starves the next layer)",
];

// ---- Train: the task sees train and valid only.

/** Trains task 1's network (role `main`) and saves it to `<outDir>/model`. */
export async function train(input: TaskInput): Promise<TaskOutput> {
  const main = await trainRole(
    input,
    "task 1: deep net, plain SGD",
    task1Config(input.seed, input.epochs, input.batchSize),
  );
  await saveMain(input, main);
  return { models: { main: main.trained } };
}

// ---- Report.

function report(r: TaskResult): { table: string[]; notes: string[] } {
  const m = r.models.main;
  const table = markdownTable(
    ["model", "epochs", "train", "valid", "test"],
    [[
      m.name,
      String(m.history.length),
      pct(m.accuracy.train),
      pct(m.accuracy.valid),
      pct(
        m.accuracy.test,
      ),
    ]],
  );
  return {
    table,
    notes: [
      `plain SGD at a constant learning rate ${LEARNING_RATE}, ${r.epochs} epochs of batch ${r.batchSize}, ` +
      `${r.sizes.train} training images (${r.protocol} protocol)`,
      ...DATA_NOTES,
    ],
  };
}

/** Task 1 as the task runner sees it. */
export const TASK: TaskDefinition = {
  id: 1,
  title: "a deep fully-connected network, plain SGD",
  defaults: { epochs: EPOCHS, batchSize: BATCH_SIZE },
  train,
  report,
};

/** Runs task 1 end to end (data, train, evaluate on test, report, files). */
export function run(options: TaskRunOptions = {}): Promise<TaskResult> {
  return runTask(TASK, options);
}

if (import.meta.main) await taskMain(TASK, Deno.args);
