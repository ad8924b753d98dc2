/**
 * Task 4 of the lab: the regularized network of task 3 trained with momentum
 * and a learning rate that really decays during training, measured against
 * the lab's 97.1% target. Its default is the accuracy study's recipe
 * (`SMALL_RECIPE` in models/recipes.ts, numbers in docs/accuracy.md): Nesterov
 * momentum, a cosine decay updated every step, random +-2 pixel shifts of the
 * training images, 100 epochs and the mean of the last quarter of the epochs'
 * weights.
 *
 * The 97.1% target was measured on the `lab` protocol (train on
 * notMNIST_large, test on notMNIST_small); on the `small` protocol (only
 * notMNIST_small, 15k training images) it is not reachable by a
 * fully-connected net and the report says so.
 *
 * @module
 */
import type { MlpSpec } from "../models/mlp.ts";
import type { TrainConfig } from "../models/train/train.ts";
import { describeOptimizer, type OptimizerSpec } from "../models/optimizers.ts";
import { describeSchedule, type Schedule } from "../models/schedules.ts";
import { LAB_RECIPE, SMALL_RECIPE, withEpochs } from "../models/recipes.ts";
import type { Protocol } from "../data/types.ts";
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
import type { TaskInput, TaskOutput } from "./types.ts";

// ---- Constants.

/** The lab's target: the best reported test accuracy of this model (lab protocol). */
export const TARGET = 0.971;
/**
 * Default number of epochs: the recipe's (see {@link task4Config}). Fewer
 * epochs (`--epochs`) scale the weight averaging with them.
 */
export const EPOCHS: number = SMALL_RECIPE.epochs;
/** Default minibatch size. */
export const BATCH_SIZE: number = SMALL_RECIPE.batchSize;
/** Optimizer under the `small` protocol: the recipe's SGD with Nesterov momentum. */
export const OPTIMIZER: OptimizerSpec = SMALL_RECIPE.optimizer;

/** The network under the `small` protocol: the recipe's (task 3's regularized net). */
export const SPEC: MlpSpec = SMALL_RECIPE.spec;

/** The learning rate under the `small` protocol: the recipe's cosine decay, updated every step. */
export const SCHEDULE: Schedule = SMALL_RECIPE.schedule;

/**
 * Task 4's training configuration: the accuracy study's recipe for the data
 * protocol (docs/accuracy.md) with the given seed, and the batch size and
 * epoch budget when given (`withEpochs` scales the weight averaging with the
 * epochs). `small` (default): {@link SMALL_RECIPE}, selected on ~15k images;
 * `lab`: `LAB_RECIPE`, recommended for notMNIST_large's 500k+ images (12
 * epochs; not measurable where this was written).
 */
export function task4Config(
  seed: number,
  epochs?: number,
  batchSize?: number,
  protocol: Protocol = "small",
): TrainConfig {
  const recipe = protocol === "lab" ? LAB_RECIPE : SMALL_RECIPE;
  return withEpochs({ ...recipe, seed, batchSize: batchSize ?? recipe.batchSize }, epochs);
}

// ---- Train.

/** Trains task 4's network (role `main`) and saves it to `<outDir>/model`. */
export async function train(input: TaskInput): Promise<TaskOutput> {
  const main = await trainRole(
    input,
    "task 4: + momentum + decaying learning rate",
    task4Config(input.seed, input.epochs, input.batchSize, input.protocol),
  );
  await saveMain(input, main);
  return { models: { main: main.trained } };
}

// ---- Report.

function report(r: TaskResult, output: TaskOutput): { table: string[]; notes: string[] } {
  const m = r.models.main;
  const config = output.models.main.trainConfig;
  if (!config) throw new Error("task 4: the main model carries no training configuration");
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
    `learning rate ${describeSchedule(config.schedule)}: it really changes, ` +
    `${rates[0]?.toPrecision(3)} in epoch 1 -> ${
      rates[rates.length - 1]?.toPrecision(3)
    } in epoch ` +
    `${rates.length} (recorded per epoch in result.json); the common notebook passes a fixed rate ` +
    `and calls it dynamic`,
    tricks(config),
    ...DATA_NOTES.slice(0, 3),
  ];
  return { table, notes };
}

/** One line on the recipe's optimizer and training tricks, read from the run's config. */
function tricks(config: TrainConfig): string {
  const perStep = config.scheduleUpdate === "step";
  const shift = config.augmentShift ?? 0;
  const average = config.averageLast ?? 1;
  return [
    describeOptimizer(config.optimizer),
    `rate updated every ${perStep ? "step" : "epoch"}`,
    shift > 0 ? `training images shifted by up to ${shift} px at random` : "no augmentation",
    average > 1
      ? `final weights = mean of the last ${average} epochs' weights`
      : "final weights = the last epoch's",
  ].join("; ");
}

/** Task 4 as the task runner sees it. */
export const TASK: TaskDefinition = {
  id: 4,
  title: "momentum and a decaying learning rate, against the 97.1% target",
  defaults: {
    epochs: EPOCHS,
    batchSize: BATCH_SIZE,
    lab: { epochs: LAB_RECIPE.epochs, batchSize: LAB_RECIPE.batchSize },
  },
  train,
  report,
};

/** Runs task 4 end to end. */
export function run(options: TaskRunOptions = {}): Promise<TaskResult> {
  return runTask(TASK, options);
}

if (import.meta.main) await taskMain(TASK, Deno.args);
