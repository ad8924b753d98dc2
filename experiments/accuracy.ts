/**
 * The accuracy study's runner (issue 6): trains one named configuration from
 * `experiments/configs.ts` on the `small` protocol's default split and prints
 * one JSON line (also appended to `out/accuracy/results.jsonl`).
 *
 * ```sh
 * NOTMNIST_DIR=../shared/notmnist deno run -A experiments/accuracy.ts --config reference
 * # final number of a selected configuration (the only way the test split is touched):
 * deno run -A experiments/accuracy.ts --config small-recipe --eval-test
 * # 5-fold grouped cross-validation over the whole small set:
 * deno run -A experiments/accuracy.ts --config small-recipe --cv 5
 * ```
 *
 * Without `--eval-test` the test split is never evaluated. With it, a model
 * saved by an earlier run of the same configuration and seed (same config
 * JSON) is reused instead of retrained, so the test number belongs to the
 * exact run that was selected on validation accuracy.
 *
 * @module
 */
import { join } from "node:path";
import { groupedFolds, type ImageSet, loadSplits, NUM_CLASSES } from "../data.ts";
import { intFlag, parseFlags, stringFlag, switchFlag, usageLines } from "../deps/flags.ts";
import { TASK_FLAGS } from "../tasks/flags.ts";
import { selectBackend } from "../compute/backend.ts";
import { argmaxRow, evaluateSet, predictProbabilities } from "../models/evaluate.ts";
import { loadModel, saveModel } from "../models/io.ts";
import type { Network } from "../models/mlp.ts";
import { type TrainConfig, trainMlp } from "../models/train/train.ts";
import { atomicWrite } from "../utils/atomic_write.ts";
import { configByName, configNames, CONFIGS } from "./configs.ts";
import { withEpochs } from "../models/recipes.ts";

/** One result line. */
export interface AccuracyRecord {
  /** Configuration name. */
  config: string;
  /** `single` (default split), `ensemble` (mean probabilities of several seeds) or `cv`. */
  mode: "single" | "ensemble" | "cv";
  /** Training seed. */
  seed: number;
  /** Ensemble size (seeds seed .. seed + members - 1), ensemble mode only. */
  members?: number;
  /** Epochs trained. */
  epochs: number;
  /** tfjs backend used. */
  backend: string;
  /** Training wall-clock seconds (sum over folds or ensemble members). */
  trainSeconds: number;
  /** Whole command wall-clock seconds (data loading and evaluation included). */
  wallSeconds: number;
  /** Training images when `--train-size` sampled the train split. */
  trainSize?: number;
  /** Train accuracy (single mode). */
  train?: number;
  /** Valid accuracy (single mode). */
  valid?: number;
  /** Test accuracy (single mode, only with --eval-test). */
  test?: number;
  /** Per-fold held-out accuracies (CV mode). */
  folds?: number[];
  /** Mean of `folds`. */
  cvMean?: number;
  /** Sample standard deviation of `folds`. */
  cvStd?: number;
  /** Whether the model came from an earlier run's saved weights. */
  reused?: boolean;
  /** ISO timestamp. */
  finishedAt: string;
}

/** Mean and sample standard deviation of `xs` (std 0 for one value). */
export function meanStd(xs: number[]): { mean: number; std: number } {
  if (xs.length === 0) throw new Error("meanStd: no values");
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length === 1) return { mean, std: 0 };
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, std: Math.sqrt(v) };
}

const EMPTY: ImageSet = { images: new Uint8Array(0), labels: new Uint8Array(0), count: 0 };

/** The flags of the accuracy runner. */
export const FLAGS = {
  config: stringFlag({ arg: "NAME", help: "configuration to train (required; listed below)" }),
  seed: intFlag({ help: "training seed", min: 0, max: 2 ** 31 - 1, default: 42 }),
  cv: intFlag({
    arg: "K",
    help: "K-fold grouped cross-validation over the whole small set",
    min: 2,
    max: 20,
  }),
  "eval-test": switchFlag("evaluate the test split (the selected configuration's final number)"),
  ensemble: intFlag({
    help: "average the probabilities of N models (seeds SEED..SEED+N-1), reusing saved ones",
    min: 1,
    max: 10,
    default: 1,
  }),
  epochs: intFlag({
    help: "override the configuration's epochs (averageLast scaled to match)",
    min: 1,
    max: 10000,
  }),
  "train-size": intFlag({
    help: "train on a seeded class-stratified sample of the train split (grader quick)",
    min: 10,
    max: 1_000_000,
  }),
  backend: TASK_FLAGS.backend,
  out: stringFlag({
    arg: "DIR",
    help: "results folder (results.jsonl)",
    default: join("out", "accuracy"),
  }),
  help: switchFlag("this text", "h"),
};

function usage(): string {
  return [
    "usage: deno run -A experiments/accuracy.ts --config NAME [--seed N] [--cv K] [--eval-test]",
    "         [--ensemble N] [--epochs N] [--train-size N] [--backend NAME] [--out DIR]",
    "",
    "Trains one named configuration on the small protocol's default split (or K-fold grouped",
    "cross-validation with --cv) and prints a JSON line, appended to DIR/results.jsonl",
    "(default out/accuracy). The test split is evaluated only with --eval-test.",
    "",
    ...usageLines(FLAGS),
    "",
    "configurations:",
    ...configNames().map((n) => `  ${n.padEnd(16)} ${CONFIGS[n].description}`),
  ].join("\n");
}

async function appendLine(path: string, line: string): Promise<void> {
  let old = "";
  try {
    old = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await atomicWrite(path, old + line + "\n");
}

async function trySavedModel(
  dir: string,
  config: TrainConfig,
): Promise<{ model: Network; trainSeconds: number } | undefined> {
  try {
    const { model, metadata } = await loadModel(dir);
    if (JSON.stringify(metadata["trainConfig"]) === JSON.stringify(config)) {
      return { model, trainSeconds: Number(metadata["trainSeconds"]) };
    }
    model.dispose();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound) && !String(err).includes("No such file")) {
      console.error(`note: saved model in ${dir} not reused: ${(err as Error).message}`);
    }
  }
  return undefined;
}

/**
 * Accuracy of the mean of the members' softmax probabilities on `set`
 * (one member: its plain accuracy).
 */
function ensembleAccuracy(members: Network[], set: ImageSet): number {
  if (members.length === 1) return evaluateSet(members[0], set).accuracy;
  const sum = new Float32Array(set.count * NUM_CLASSES);
  for (const m of members) {
    const p = predictProbabilities(m, set.images, set.count);
    for (let i = 0; i < sum.length; i++) sum[i] += p[i];
  }
  let correct = 0;
  for (let r = 0; r < set.count; r++) if (argmaxRow(sum, r) === set.labels[r]) correct++;
  return set.count ? correct / set.count : NaN;
}

/** Runs the CLI with `args`; returns the record it printed. */
export async function main(args: string[]): Promise<AccuracyRecord | undefined> {
  const { values: flags } = parseFlags(args, FLAGS);
  if (flags.help) {
    console.log(usage());
    return undefined;
  }
  const { seed, cv: k, ensemble, epochs, trainSize } = flags;
  const name = flags.config;
  if (!name) throw new Error(`--config is required; known: ${configNames().join(", ")}`);
  const evalTest = flags.evalTest;
  if (k !== undefined && evalTest) throw new Error("--cv and --eval-test cannot be combined");
  if (k !== undefined && ensemble > 1) throw new Error("--cv and --ensemble cannot be combined");
  const outDir = flags.out;
  const configFor = (memberSeed: number) => withEpochs(configByName(name, memberSeed), epochs);
  const config = configFor(seed);
  const log = (line: string) => console.error(line);
  const started = performance.now();

  const backend = await selectBackend({ force: flags.backend, log });
  const dataDir = Deno.env.get("NOTMNIST_DIR");
  const cacheDir = Deno.env.get("NOTMNIST_CACHE");
  let record: AccuracyRecord;

  if (k !== undefined) {
    const folds = await groupedFolds({ k, dataDir, cacheDir, log });
    const accs: number[] = [];
    let trainSeconds = 0;
    for (const [i, fold] of folds.entries()) {
      log(`== fold ${i + 1}/${k}: train ${fold.train.count}, held out ${fold.test.count}`);
      const r = await trainMlp(fold.train, EMPTY, config, { log, progress: false });
      trainSeconds += r.seconds;
      const acc = evaluateSet(r.model, fold.test).accuracy;
      r.model.dispose();
      log(`fold ${i + 1}: held-out accuracy ${acc.toFixed(4)} (${r.seconds.toFixed(0)} s)`);
      accs.push(acc);
    }
    const { mean, std } = meanStd(accs);
    record = {
      config: name,
      mode: "cv",
      seed,
      epochs: config.epochs,
      backend: backend.name,
      trainSeconds,
      wallSeconds: (performance.now() - started) / 1000,
      folds: accs,
      cvMean: mean,
      cvStd: std,
      finishedAt: new Date().toISOString(),
    };
  } else {
    const splits = await loadSplits({
      protocol: "small",
      dataDir,
      cacheDir,
      trainSize,
      subsetSeed: seed,
      log,
    });
    const { train, valid, test } = splits;
    log(`split: train ${train.count} / valid ${valid.count} / test ${test.count}`);
    // Members: seeds seed, seed + 1, ...; one member = the single-model run.
    const members: Network[] = [];
    let trainSeconds = 0;
    let reused = true;
    for (let m = 0; m < ensemble; m++) {
      const memberSeed = seed + m;
      const memberConfig = configFor(memberSeed);
      const variant = (epochs ? `-e${epochs}` : "") + (trainSize ? `-n${trainSize}` : "");
      const modelDir = join(outDir, "models", `${name}${variant}-s${memberSeed}`);
      // A plain single run always trains (it is what is timed); an ensemble or a test
      // evaluation reuses the saved model of the same configuration and seed.
      const saved = evalTest || ensemble > 1
        ? await trySavedModel(modelDir, memberConfig)
        : undefined;
      if (saved) {
        log(`reusing the model saved in ${modelDir} (same configuration)`);
        members.push(saved.model);
        trainSeconds += saved.trainSeconds;
      } else {
        reused = false;
        const r = await trainMlp(train, valid, memberConfig, { log, progress: false });
        members.push(r.model);
        trainSeconds += r.seconds;
        await saveModel(r.model, modelDir, {
          trainConfig: memberConfig,
          trainSeconds: r.seconds,
          history: r.history,
        });
      }
    }
    record = {
      config: name,
      mode: ensemble > 1 ? "ensemble" : "single",
      seed,
      ...(ensemble > 1 ? { members: ensemble } : {}),
      epochs: config.epochs,
      ...(trainSize ? { trainSize: train.count } : {}),
      backend: backend.name,
      trainSeconds,
      wallSeconds: NaN,
      train: ensembleAccuracy(members, train),
      valid: ensembleAccuracy(members, valid),
      ...(evalTest ? { test: ensembleAccuracy(members, test) } : {}),
      reused,
      finishedAt: new Date().toISOString(),
    };
    for (const m of members) m.dispose();
  }
  record.wallSeconds = (performance.now() - started) / 1000;
  const line = JSON.stringify(record);
  console.log(line);
  await Deno.mkdir(outDir, { recursive: true });
  await appendLine(join(outDir, "results.jsonl"), line);
  return record;
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (err) {
    console.error(`accuracy: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
