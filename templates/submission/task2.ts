/**
 * Task 2: logistic regression against the deep net of task 1, on the same
 * data. The grader compares the test accuracy of `main` (the net) with that of
 * `logreg`.
 *
 * Run it as the grader does: `deno task grade --profile quick --task 2=task2.ts`.
 *
 * @module
 */
import type { TaskInput, TaskOutput } from "@notmnist/lab";
import type { MlpSpec, TrainConfig } from "@notmnist/lab/models";
import { trainRole } from "@notmnist/lab/tasks";

/** Logistic regression: no hidden layer. */
export const LOGREG: MlpSpec = { hidden: [] };

// TODO(lab): the deep net to compare against (task 1's, or a better one).
/** The deep net. */
export const NET: MlpSpec = {
  hidden: [
    { units: 256, activation: "relu" },
    { units: 128, activation: "relu" },
  ],
};

// TODO(lab): choose the learning rate of each model; they need not be equal.
/** Learning rates (plain SGD). */
export const LEARNING_RATE = { logreg: 0.1, net: 0.1 };
/** Minibatch size when the grader does not set one. */
export const BATCH_SIZE = 128;
/** Epochs when the grader does not set a budget. */
export const EPOCHS = 20;

function config(input: TaskInput, spec: MlpSpec, rate: number): TrainConfig {
  return {
    spec,
    optimizer: { kind: "sgd" },
    schedule: { kind: "constant", initial: rate },
    epochs: input.epochs ?? EPOCHS,
    batchSize: input.batchSize ?? BATCH_SIZE,
    seed: input.seed,
  };
}

/** Trains both models: `main` (the net, graded) and `logreg` (compared). */
export async function train(input: TaskInput): Promise<TaskOutput> {
  const logreg = await trainRole(
    input,
    "task 2: logistic regression",
    config(input, LOGREG, LEARNING_RATE.logreg),
  );
  const net = await trainRole(input, "task 2: deep net", config(input, NET, LEARNING_RATE.net));
  return { models: { main: net.trained, logreg: logreg.trained } };
}
