/**
 * Task 4: the best deep net you can train: momentum and a decaying learning
 * rate on top of task 3's regularized net. The lab's target is 97.1% test
 * accuracy under the lab protocol (training on notMNIST_large).
 *
 * Run it as the grader does: `deno task grade --profile quick --task 4=task4.ts`.
 *
 * @module
 */
import type { TaskInput, TaskOutput } from "@notmnist/lab";
import type { MlpSpec, OptimizerSpec, Schedule, TrainConfig } from "@notmnist/lab/models";
import { trainRole } from "@notmnist/lab/tasks";

// TODO(lab): choose the network (depth, width, L2, dropout).
/** The network. */
export const SPEC: MlpSpec = {
  hidden: [
    { units: 512, activation: "relu", l2: 1e-4, dropout: 0.3 },
    { units: 256, activation: "relu", l2: 1e-4, dropout: 0.3 },
  ],
  outputL2: 1e-4,
};

// TODO(lab): choose the momentum (and whether to use Nesterov's variant).
/** The optimizer. */
export const OPTIMIZER: OptimizerSpec = { kind: "momentum", momentum: 0.9 };

// TODO(lab): choose the decay of the learning rate (exponential, step or cosine) and its numbers.
/** The learning-rate schedule. */
export const SCHEDULE: Schedule = { kind: "exponential", initial: 0.05, rate: 0.9 };

/** Minibatch size when the grader does not set one. */
export const BATCH_SIZE = 128;
/** Epochs when the grader does not set a budget. */
export const EPOCHS = 30;

/** The training configuration (the grader's budget overrides epochs and batch size). */
export function config(input: TaskInput): TrainConfig {
  return {
    spec: SPEC,
    optimizer: OPTIMIZER,
    schedule: SCHEDULE,
    epochs: input.epochs ?? EPOCHS,
    batchSize: input.batchSize ?? BATCH_SIZE,
    seed: input.seed,
  };
}

/** Trains the graded model (role `main`). */
export async function train(input: TaskInput): Promise<TaskOutput> {
  const main = await trainRole(input, "task 4: momentum + decaying rate", config(input));
  return { models: { main: main.trained } };
}
