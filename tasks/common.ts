/**
 * Shared plumbing of the four lab tasks: command-line flags, backend and data
 * loading, evaluation of every returned model on train/valid/test, tables,
 * `result.json` and the SVG pictures. A task file itself only holds what is
 * specific to it (constants, model, training, the comparison it reports).
 *
 * @module
 */
import { join } from "node:path";
import { loadSplits, type SplitSummary } from "../data.ts";
import { type ImageSet, LETTERS, type Protocol } from "../data/types.ts";
import { selectBackend } from "../compute/backend.ts";
import {
  DEFAULT_NUMERICS,
  describeFingerprint,
  type NumericsFingerprint,
} from "../compute/numerics.ts";
import {
  accuracyOf,
  confusionMatrix,
  perClassAccuracy,
  predictProbabilities,
} from "../models/evaluate.ts";
import { saveModel } from "../models/io.ts";
import { describeMlp, type Network } from "../models/mlp.ts";
import { describeOptimizer } from "../models/optimizers.ts";
import { describeSchedule } from "../models/schedules.ts";
import { type TrainConfig, trainMlp } from "../models/train/train.ts";
import { atomicWrite, atomicWriteJson } from "../utils/atomic_write.ts";
import { pct } from "../utils/format.ts";
import { confusionMatrixSvg, learningCurveSvg } from "../models/pictures.ts";
import { type FlagValues, parseFlags, usageLines } from "../deps/flags.ts";
import { DEFAULT_SEED, TASK_FLAGS } from "./flags.ts";
import { taskCurveSeries } from "./curve_series.ts";
import { commitOutDir, defaultOutDir, discardOutDir, RESULT_FILE, stageOutDir } from "./out_dir.ts";

import type { EpochRecord, TaskInput, TaskOutput, TrainedModel } from "./types.ts";

/**
 * Options of a task run from code or the command line: the values of
 * {@link TASK_FLAGS} (camelCase: `--batch-size` is `batchSize`), each optional
 * (the task's default when absent), plus where the report lines go.
 */
export interface TaskRunOptions extends Partial<Omit<FlagValues<typeof TASK_FLAGS>, "help">> {
  /** Where the report lines go (default `console.log`). */
  log?: (line: string) => void;
}

/** Accuracy of one model on the three splits. */
export interface SplitAccuracy {
  /** On the training images (inference mode, no dropout). */
  train: number;
  /** On the validation images. */
  valid: number;
  /** On the held-out test images. */
  test: number;
}

/** One trained model of a task, evaluated. */
export interface RoleResult {
  /** Model name, e.g. `784-1024-10 relu`. */
  name: string;
  /** The configuration that produced it. */
  config: Record<string, unknown>;
  /** Per-epoch history. */
  history: EpochRecord[];
  /** Final accuracies. */
  accuracy: SplitAccuracy;
  /** Train accuracy minus test accuracy, in points (percent). */
  gapPoints: number;
  /** Test-split confusion matrix (rows: true letter, columns: predicted). */
  testConfusion: number[][];
  /** Test-split accuracy per letter A..J. */
  testPerLetter: number[];
  /** Seconds spent training it. */
  trainSeconds: number;
}

/** What a task run returns and writes to `result.json`. */
export interface TaskResult {
  /** Task number, 1..4. */
  task: number;
  /** Task title. */
  title: string;
  /** Data protocol used. */
  protocol: Protocol;
  /** Backend in use. */
  backend: string;
  /** Backends skipped before it, with the reason. */
  skippedBackends: { name: string; reason: string }[];
  /** Numerics mode and fingerprint (CPU, BLAS kernel, threads, bit-identical or not). */
  numerics: NumericsFingerprint;
  /** Training seed. */
  seed: number;
  /** Epoch budget per model. */
  epochs: number;
  /** Minibatch size. */
  batchSize: number;
  /** Images in each split actually used. */
  sizes: { train: number; valid: number; test: number };
  /** The data layer's summary (sizes, per-letter counts, duplicates removed, sources). */
  data: SplitSummary;
  /** Evaluated models by role (`main` first). */
  models: Record<string, RoleResult>;
  /** The task's comparison table (Markdown lines). */
  table: string[];
  /** Remarks: what this run shows, what the common notebook gets wrong. */
  notes: string[];
  /** Wall-clock seconds of the whole run (data, training, evaluation, report). */
  wallSeconds: number;
  /** Files written, relative to the working directory. */
  files: Record<string, string>;
}

/** What a task file provides to {@link runTask} and {@link taskMain}. */
export interface TaskDefinition {
  /** Task number, 1..4. */
  id: number;
  /** Title printed at the top of the report. */
  title: string;
  /**
   * Default epoch budget and minibatch size; `lab`: the defaults under the
   * `lab` protocol (notMNIST_large), when they differ.
   */
  defaults: { epochs: number; batchSize: number; lab?: { epochs: number; batchSize: number } };
  /** The task's `train` (see {@link TaskInput}). */
  train: (input: TaskInput) => Promise<TaskOutput>;
  /** The task's comparison table and notes, from its evaluated models (and the models it returned). */
  report: (result: TaskResult, output: TaskOutput) => { table: string[]; notes: string[] };
}

export { DEFAULT_SEED, TASK_FLAGS };

/** A trained network with its {@link TrainedModel} view. */
export interface TrainedNetwork {
  /** What a task returns for this model. */
  trained: TrainedModel;
  /** The network itself (to save it). */
  network: Network;
}

/** Trains one model of a task with `config` and wraps it as a {@link TrainedModel}. */
export async function trainRole(
  input: TaskInput,
  name: string,
  config: TrainConfig,
): Promise<TrainedNetwork> {
  input.log(`\n== ${name}: ${describeMlp(config.spec)}`);
  const result = await trainMlp(input.train, input.valid, config, { log: input.log });
  const network = result.model;
  return {
    network,
    trained: {
      name: describeMlp(config.spec),
      predict: (images, count) => Promise.resolve(predictProbabilities(network, images, count)),
      history: result.history,
      config: {
        ...config,
        description: `${describeMlp(config.spec)}; ${describeOptimizer(config.optimizer)}; ` +
          `lr ${
            describeSchedule(config.schedule)
          }; ${config.epochs} epochs of batch ${config.batchSize}`,
      },
      trainSeconds: result.seconds,
      trainConfig: config,
    },
  };
}

/** Saves a task's main network to `<outDir>/model` with its config and history. */
export async function saveMain(input: TaskInput, main: TrainedNetwork): Promise<string> {
  const dir = join(input.outDir, "model");
  await saveModel(main.network, dir, {
    name: main.trained.name,
    config: main.trained.config,
    history: main.trained.history,
    labels: [...LETTERS],
  });
  input.log(`saved model to ${dir}`);
  return dir;
}

/** Evaluates `model` on `set`: accuracy and confusion matrix. */
export async function evaluateOn(
  model: TrainedModel,
  set: ImageSet,
): Promise<{ accuracy: number; confusion: number[][] }> {
  const probs = await model.predict(set.images, set.count);
  const confusion = confusionMatrix(probs, set.labels);
  return { accuracy: accuracyOf(confusion), confusion };
}

export { pct };

/** Formats a difference of fractions in points with a sign, e.g. `+2.35`. */
export function points(x: number): string {
  return `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}`;
}

/** A Markdown table as lines. */
export function markdownTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)];
}

/** Lines describing the data: protocol, sizes, per-letter counts, duplicates removed. */
export function dataLines(summary: SplitSummary): string[] {
  const { sizes, duplicates: d } = summary;
  const lines = [
    `data: ${summary.protocol} protocol (split seed ${summary.seed}); ` +
    `train ${sizes.train}, valid ${sizes.valid}, test ${sizes.test} images` +
    (summary.trainBeforeSubsample !== sizes.train
      ? ` (train subsampled from ${summary.trainBeforeSubsample}, stratified)`
      : ""),
    `sanitized: ${summary.sanitize ? "yes" : "no"}; duplicates removed within valid/test ` +
    `${d.withinRemoved.valid}/${d.withinRemoved.test}, across splits (copies of training ` +
    `images) ${d.acrossRemoved.valid}/${d.acrossRemoved.test}; conflicting-label images ` +
    `${d.conflicting.images} (${d.conflicting.placement}); unused ${d.unused}; skipped files ` +
    `${summary.skipped.length}`,
  ];
  for (const split of ["train", "valid", "test"] as const) {
    const counts = summary.perClass[split];
    lines.push(
      `  ${split.padEnd(5)} per letter: ` + LETTERS.map((l) => `${l} ${counts[l]}`).join(", "),
    );
  }
  return lines;
}

/**
 * Runs a task end to end as the lab's CLI does: selects the backend, loads the
 * data, trains (the task sees train/valid only), evaluates every model on the
 * three splits, prints the report and writes `result.json`, the learning
 * curves and the main model's test confusion matrix into the output folder.
 */
export async function runTask(
  def: TaskDefinition,
  options: TaskRunOptions = {},
): Promise<TaskResult> {
  const started = performance.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const outDir = options.out ?? defaultOutDir(def.id);
  const seed = options.seed ?? DEFAULT_SEED;
  // Everything is written into a fresh staging folder that replaces outDir at the end.
  const staging = await stageOutDir(outDir);
  try {
    return await runStaged(def, options, { log, outDir, staging, seed, started });
  } catch (err) {
    await discardOutDir(staging);
    throw err;
  }
}

/** The run of {@link runTask} once its staging folder exists. */
async function runStaged(
  def: TaskDefinition,
  options: TaskRunOptions,
  where: {
    log: (line: string) => void;
    outDir: string;
    staging: string;
    seed: number;
    started: number;
  },
): Promise<TaskResult> {
  const { log, outDir, staging, seed, started } = where;
  log(`# Task ${def.id}: ${def.title}`);
  // Backend.
  const backend = await selectBackend({
    force: options.backend,
    numerics: options.numerics ?? DEFAULT_NUMERICS,
    log,
  });
  log(describeFingerprint(backend.numerics));
  // Data.
  const splits = await loadSplits({
    dataDir: options.dataDir,
    cacheDir: options.cacheDir,
    download: options.download,
    protocol: options.protocol ?? "auto",
    trainSize: options.trainSize,
    // The grader draws its subset with the same function and the grading seed.
    subsetSeed: seed,
    log,
  });
  const defaults = splits.protocol === "lab" ? def.defaults.lab ?? def.defaults : def.defaults;
  const epochs = options.epochs ?? defaults.epochs;
  const batchSize = options.batchSize ?? defaults.batchSize;
  log(
    `config: seed ${seed}, epochs ${epochs}, batch size ${batchSize}, out ${outDir}` +
      (options.trainSize ? `, train size ${options.trainSize}` : ""),
  );
  for (const line of dataLines(splits.summary)) log(line);

  // Train: the task sees train and valid only.
  const output = await def.train({
    train: splits.train,
    valid: splits.valid,
    seed,
    epochs,
    batchSize,
    protocol: splits.protocol,
    outDir: staging,
    log,
  });

  // Evaluate every model on the three splits.
  log("\n== evaluation");
  const models: Record<string, RoleResult> = {};
  const roles = ["main", ...Object.keys(output.models).filter((r) => r !== "main")];
  for (const role of roles) {
    const m = output.models[role];
    const train = await evaluateOn(m, splits.train);
    const valid = await evaluateOn(m, splits.valid);
    const test = await evaluateOn(m, splits.test);
    models[role] = {
      name: m.name,
      config: m.config,
      history: m.history,
      accuracy: { train: train.accuracy, valid: valid.accuracy, test: test.accuracy },
      gapPoints: 100 * (train.accuracy - test.accuracy),
      testConfusion: test.confusion,
      testPerLetter: perClassAccuracy(test.confusion),
      trainSeconds: m.trainSeconds ?? NaN,
    };
    log(
      `${role.padEnd(9)} ${m.name}: train ${pct(train.accuracy)}, valid ${pct(valid.accuracy)}, ` +
        `test ${pct(test.accuracy)}`,
    );
  }

  const result: TaskResult = {
    task: def.id,
    title: def.title,
    protocol: splits.protocol,
    backend: backend.name,
    skippedBackends: backend.skipped,
    numerics: backend.numerics,
    seed,
    epochs,
    batchSize,
    sizes: { train: splits.train.count, valid: splits.valid.count, test: splits.test.count },
    data: splits.summary,
    models,
    table: [],
    notes: [],
    wallSeconds: 0,
    files: {},
  };
  const { table, notes } = def.report(result, output);
  result.table = table;
  result.notes = notes;

  // Pictures and result.json, named by where they will be once the staging folder is outDir.
  const names = {
    result: RESULT_FILE,
    learningCurves: "learning_curves.svg",
    confusionMatrix: "confusion_matrix.svg",
    model: "model",
  };
  const files = mapValues(names, (name) => join(outDir, name));
  const staged = mapValues(names, (name) => join(staging, name));
  await atomicWrite(
    staged.learningCurves,
    learningCurveSvg(`Task ${def.id}: learning curves`, taskCurveSeries(def.id, models)),
  );
  await atomicWrite(
    staged.confusionMatrix,
    confusionMatrixSvg(
      `Task ${def.id}: ${models.main.name}, test split (${splits.protocol} protocol)`,
      models.main.testConfusion,
    ),
  );
  result.files = files;
  result.wallSeconds = (performance.now() - started) / 1000;
  await atomicWriteJson(staged.result, result);
  await commitOutDir(staging, outDir);

  log("");
  for (const line of table) log(line);
  log("");
  log(
    "test accuracy per letter (main): " +
      LETTERS.map((l, i) => `${l} ${pct(models.main.testPerLetter[i])}`).join(", "),
  );
  for (const note of notes) log(`- ${note}`);
  log(
    `\nbackend ${backend.name}, wall time ${result.wallSeconds.toFixed(1)} s; wrote ` +
      Object.values(files).join(", "),
  );
  return result;
}

/** `names` with each value mapped by `f`. */
function mapValues<K extends string>(
  names: Record<K, string>,
  f: (name: string) => string,
): Record<K, string> {
  return Object.fromEntries(Object.entries<string>(names).map(([k, v]) => [k, f(v)])) as Record<
    K,
    string
  >;
}

/** Parses the task flags into {@link TaskRunOptions}; throws an error naming the flag on a bad value. */
export function parseTaskArgs(args: string[]): TaskRunOptions & { help: boolean } {
  const { values, positionals } = parseFlags(args, TASK_FLAGS);
  if (positionals.length > 0) {
    throw new Error(`unexpected argument "${positionals[0]}" (tasks take flags only)`);
  }
  return values;
}

/** Usage text of task `def`: its flags, with its own defaults. */
export function usage(def: TaskDefinition): string {
  const lab = def.defaults.lab;
  return [
    `deno task task${def.id} [flags]   -- ${def.title}`,
    "",
    ...usageLines(TASK_FLAGS, {
      epochs: `${def.defaults.epochs}` + (lab ? `; ${lab.epochs} under the lab protocol` : ""),
      "batch-size": `${def.defaults.batchSize}` +
        (lab ? `; ${lab.batchSize} under the lab protocol` : ""),
      out: defaultOutDir(def.id),
    }),
  ].join("\n");
}

/** The command-line entry of a task: parses `args`, runs it, exits 2 on bad flags and 1 on errors. */
export async function taskMain(def: TaskDefinition, args: string[]): Promise<void> {
  let options: ReturnType<typeof parseTaskArgs>;
  try {
    options = parseTaskArgs(args);
  } catch (err) {
    console.error(`task${def.id}: ${(err as Error).message}\n\n${usage(def)}`);
    Deno.exit(2);
  }
  if (options.help) {
    console.log(usage(def));
    return;
  }
  try {
    await runTask(def, options);
  } catch (err) {
    console.error(`task${def.id} failed: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
