/**
 * Task 1: a deep fully-connected network on raw pixels, trained with plain
 * minibatch SGD at a constant learning rate.
 *
 * Run it as the grader does: `deno task grade --profile quick --task 1=task1.ts`
 * (from the lab's folder; see STUDENTS.md). The grader hands `train` its
 * training subset, the validation split, a seed and an epoch budget; it
 * measures test accuracy itself.
 *
 * @module
 */
import type { TaskInput, TaskOutput } from "@notmnist/lab";
import type { MlpSpec, TrainConfig } from "@notmnist/lab/models";
import { trainRole } from "@notmnist/lab/tasks";

// TODO(lab): choose the depth, the width and the activation of the hidden layers.
/** The network: the input is 784 pixels in [0, 1], the output 10 letters. */
export const SPEC: MlpSpec = {
  hidden: [
    { units: 256, activation: "relu" },
    { units: 128, activation: "relu" },
  ],
};

// TODO(lab): choose the learning rate, the minibatch size and the default epochs.
/** Plain SGD's constant learning rate. */
export const LEARNING_RATE = 0.1;
/** Minibatch size when the grader does not set one. */
export const BATCH_SIZE = 128;
/** Epochs when the grader does not set a budget. */
export const EPOCHS = 20;

/** The training configuration (the grader's budget overrides epochs and batch size). */
export function config(input: TaskInput): TrainConfig {
  return {
    spec: SPEC,
    optimizer: { kind: "sgd" },
    schedule: { kind: "constant", initial: LEARNING_RATE },
    epochs: input.epochs ?? EPOCHS,
    batchSize: input.batchSize ?? BATCH_SIZE,
    seed: input.seed,
  };
}

/** Trains the graded model (role `main`). */
export async function train(input: TaskInput): Promise<TaskOutput> {
  const main = await trainRole(input, "task 1: deep net, plain SGD", config(input));
  return { models: { main: main.trained } };
}
