/**
 * Named candidate training configurations for the accuracy study (issue 6),
 * run by `experiments/accuracy.ts --config NAME`. Each entry documents what it
 * changes relative to the task 4 reference; results are in docs/accuracy.md.
 *
 * L2 values are this project's explicit penalty `l2 * sum(W^2)` per kernel:
 * PyTorch's `weight_decay = wd` corresponds to `l2 = wd / 2`.
 *
 * ```ts
 * import { CONFIGS, configNames } from "./configs.ts";
 *
 * console.log(configNames().join(", "));
 * const config = CONFIGS["reference"].make(42);
 * console.log(config.epochs);
 * ```
 *
 * @module
 */
import type { HiddenLayerSpec } from "../models/mlp.ts";
import type { TrainConfig } from "../models/recipes.ts";
import { LAB_RECIPE, SMALL_RECIPE } from "../models/recipes.ts";
import { REGULARIZED_SPEC } from "../tasks/task3.ts";

export * from "../models/recipes.ts";

/** One named candidate: a description and a factory from the seed. */
export interface NamedConfig {
  /** What the configuration is, in one line. */
  description: string;
  /** The configuration for a given seed. */
  make: (seed: number) => TrainConfig;
}

function relu(units: number, dropout: number, l2: number, maxNorm?: number): HiddenLayerSpec {
  return maxNorm === undefined
    ? { units, activation: "relu", dropout, l2 }
    : { units, activation: "relu", dropout, l2, maxNorm };
}

/** Knobs of the {@link wide} family. */
interface WideOptions {
  /** Hidden units per layer (default [1024, 512]). */
  units?: number[];
  /** Hidden activation (default relu). */
  activation?: "relu" | "elu" | "selu";
  /** Dropout after each hidden layer (default 0.3). */
  dropout?: number;
  /** Input dropout (default 0.2). */
  inputDropout?: number;
  /** L2 per kernel (default 2.5e-5 = PyTorch wd 5e-5). */
  l2?: number;
  /** Shift augmentation in pixels (default 2). */
  shift?: number;
  /** Initial learning rate (default 0.05). */
  lr?: number;
}

/**
 * 784-1024-512-10 relu, dropout 0.3, input dropout 0.2, L2 2.5e-5 (wd 5e-5),
 * +-2 px shifts, Nesterov 0.9, per-step cosine 0.05 -> 0, batch 128,
 * averaging the last quarter of the epochs (each default overridable).
 */
function wide(seed: number, epochs: number, o: WideOptions = {}): TrainConfig {
  const l2 = o.l2 ?? 2.5e-5;
  return {
    spec: {
      hidden: (o.units ?? [1024, 512]).map((units) => ({
        units,
        activation: o.activation ?? "relu",
        dropout: o.dropout ?? 0.3,
        l2,
      })),
      inputDropout: o.inputDropout ?? 0.2,
      outputL2: l2,
    },
    optimizer: { kind: "momentum", momentum: 0.9, nesterov: true },
    schedule: { kind: "cosine", initial: o.lr ?? 0.05, minimum: 0 },
    scheduleUpdate: "step",
    epochs,
    batchSize: 128,
    seed,
    augmentShift: o.shift ?? 2,
    averageLast: Math.max(1, Math.round(epochs / 4)),
  };
}

/**
 * Hinton-style: 784-1024-512-10 relu, dropout 0.5, input dropout 0.2,
 * max-norm 3 on every kernel, no L2, higher rate (cosine 0.1 -> 0, per step),
 * +-2 px shifts, Nesterov 0.9, averaging the last quarter of the epochs.
 */
function maxNorm(seed: number, epochs: number): TrainConfig {
  return {
    spec: {
      hidden: [relu(1024, 0.5, 0, 3), relu(512, 0.5, 0, 3)],
      inputDropout: 0.2,
      outputMaxNorm: 3,
    },
    optimizer: { kind: "momentum", momentum: 0.9, nesterov: true },
    schedule: { kind: "cosine", initial: 0.1, minimum: 0 },
    scheduleUpdate: "step",
    epochs,
    batchSize: 128,
    seed,
    augmentShift: 2,
    averageLast: Math.max(1, Math.round(epochs / 4)),
  };
}

/**
 * The task 4 default before this study (kept here so its rows stay
 * reproducible): 784-512-256-10 relu, dropout 0.3, L2 1e-4, Nesterov 0.9,
 * cosine 0.05 -> 0.0005 updated per epoch, batch 128, no augmentation.
 */
function reference(seed: number, epochs: number): TrainConfig {
  return {
    spec: REGULARIZED_SPEC,
    optimizer: { kind: "momentum", momentum: 0.9, nesterov: true },
    schedule: { kind: "cosine", initial: 0.05, minimum: 0.0005 },
    epochs,
    batchSize: 128,
    seed,
  };
}

/** The candidates, by name. */
export const CONFIGS: Readonly<Record<string, NamedConfig>> = {
  "reference": {
    description:
      "the task 4 default before the study: 784-512-256-10 relu, dropout 0.3, L2 1e-4, Nesterov 0.9, " +
      "cosine 0.05 -> 0.0005 per epoch, batch 128, 20 epochs",
    make: (seed) => reference(seed, 20),
  },
  "reference-shift": {
    description: "reference + random +-2 px shifts, 40 epochs, per-step cosine, average last 10",
    make: (seed) => ({
      ...reference(seed, 40),
      scheduleUpdate: "step",
      augmentShift: 2,
      averageLast: 10,
    }),
  },
  "reference-shift-100": {
    description: "reference + random +-2 px shifts, 100 epochs, per-step cosine, average last 25",
    make: (seed) => ({
      ...reference(seed, 100),
      scheduleUpdate: "step",
      augmentShift: 2,
      averageLast: 25,
    }),
  },
  "wide-ref-60": {
    description: "784-1024-512-10 with the reference's regularisation (dropout 0.3, L2 1e-4, " +
      "no input dropout), shifts +-2, Nesterov, per-step cosine 0.05, 60 epochs, average last 15",
    make: (seed) => wide(seed, 60, { l2: 1e-4, inputDropout: 0 }),
  },
  "wide-30": {
    description: "784-1024-512-10, dropout 0.3, input dropout 0.2, L2 2.5e-5, shifts +-2, " +
      "Nesterov, per-step cosine 0.05, 30 epochs, average last 8",
    make: (seed) => wide(seed, 30),
  },
  "wide-60": {
    description: "as wide-30 with 60 epochs, average last 15",
    make: (seed) => wide(seed, 60),
  },
  "wide-100": {
    description: "as wide-30 with 100 epochs, average last 25",
    make: (seed) => wide(seed, 100),
  },
  "wide-60-light": {
    description: "as wide-60 with lighter regularisation: dropout 0.2, no input dropout, shift 1",
    make: (seed) => wide(seed, 60, { dropout: 0.2, inputDropout: 0, shift: 1 }),
  },
  "wider-60": {
    description: "784-2048-1024-10, dropout 0.4, input dropout 0.2, L2 2.5e-5, shifts +-2, " +
      "Nesterov, per-step cosine 0.05, 60 epochs, average last 15",
    make: (seed) => wide(seed, 60, { units: [2048, 1024], dropout: 0.4 }),
  },
  "deep-60": {
    description: "784-1024-1024-512-10, otherwise as wide-60",
    make: (seed) => wide(seed, 60, { units: [1024, 1024, 512] }),
  },
  "elu-60": {
    description: "as wide-60 with elu activations",
    make: (seed) => wide(seed, 60, { activation: "elu" }),
  },
  "maxnorm-30": {
    description: "784-1024-512-10, dropout 0.5, input dropout 0.2, max-norm 3, no L2, " +
      "shifts +-2, Nesterov, per-step cosine 0.1, 30 epochs, average last 8",
    make: (seed) => maxNorm(seed, 30),
  },
  "small-recipe": {
    description: "models/recipes.ts SMALL_RECIPE (the selected configuration)",
    make: (seed) => ({ ...SMALL_RECIPE, seed }),
  },
  "lab-recipe": {
    description: "models/recipes.ts LAB_RECIPE (for notMNIST_large; not measurable here)",
    make: (seed) => ({ ...LAB_RECIPE, seed }),
  },
};

/** The candidate names, sorted. */
export function configNames(): string[] {
  return Object.keys(CONFIGS).sort();
}

/** The configuration `name` for `seed`; throws an error listing the names on an unknown one. */
export function configByName(name: string, seed: number): TrainConfig {
  const entry = CONFIGS[name];
  if (!entry) {
    throw new Error(
      `--config: unknown configuration "${name}"; known: ${configNames().join(", ")}`,
    );
  }
  return entry.make(seed);
}
