/**
 * Task 3: L2 regularization and dropout to close the gap between train and
 * test accuracy. The grader measures the gap of `main` (regularized) and of
 * `baseline` (the same net without regularization) and checks that it shrank.
 *
 * Run it as the grader does: `deno task grade --profile quick --task 3=task3.ts`.
 *
 * @module
 */
import type { TaskInput, TaskOutput } from "@notmnist/lab";
import type { MlpSpec, TrainConfig } from "@notmnist/lab/models";
import { trainRole } from "@notmnist/lab/tasks";

/** The unregularized net (the baseline). */
export const BASELINE: MlpSpec = {
  hidden: [
    { units: 256, activation: "relu" },
    { units: 128, activation: "relu" },
  ],
};

// TODO(lab): choose the L2 coefficients and the dropout rates (per layer).
/** The same net with L2 on every kernel and dropout after every hidden layer. */
export const REGULARIZED: MlpSpec = {
  hidden: BASELINE.hidden.map((layer) => ({ ...layer, l2: 1e-4, dropout: 0.3 })),
  outputL2: 1e-4,
};

// TODO(lab): choose the learning rate, the minibatch size and the default epochs.
/** Plain SGD's constant learning rate. */
export const LEARNING_RATE = 0.1;
/** Minibatch size when the grader does not set one. */
export const BATCH_SIZE = 128;
/** Epochs when the grader does not set a budget. */
export const EPOCHS = 20;

function config(input: TaskInput, spec: MlpSpec): TrainConfig {
  return {
    spec,
    optimizer: { kind: "sgd" },
    schedule: { kind: "constant", initial: LEARNING_RATE },
    epochs: input.epochs ?? EPOCHS,
    batchSize: input.batchSize ?? BATCH_SIZE,
    seed: input.seed,
  };
}

/** Trains `baseline` and `main` (regularized, graded). */
export async function train(input: TaskInput): Promise<TaskOutput> {
  const baseline = await trainRole(input, "task 3: baseline", config(input, BASELINE));
  const main = await trainRole(input, "task 3: L2 + dropout", config(input, REGULARIZED));
  return { models: { main: main.trained, baseline: baseline.trained } };
}
