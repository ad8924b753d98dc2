/**
 * The accuracy study's runner (issue 6): trains one named configuration from
 * `experiments/configs.ts` on the `small` protocol's default split and prints
 * one JSON line (also appended to `out/accuracy/results.jsonl`).
 *
 * ```sh
 * NOTMNIST_DIR=/work/shared/notmnist deno run -A experiments/accuracy.ts --config reference
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
import { groupedFolds, type ImageSet, loadSplits } from "../data.ts";
import { intFlag, parseFlags, stringFlag } from "../deps/flags.ts";
import { selectBackend } from "../models/backend.ts";
import { evaluateSet } from "../models/evaluate.ts";
import { loadModel, saveModel } from "../models/io.ts";
import type { Network } from "../models/mlp.ts";
import { type TrainConfig, trainMlp } from "../models/train.ts";
import { atomicWrite } from "../utils/atomic_write.ts";
import { configByName, configNames, CONFIGS } from "./configs.ts";

/** One result line. */
export interface AccuracyRecord {
  /** Configuration name. */
  config: string;
  /** `single` (default split) or `cv` (k-fold). */
  mode: "single" | "cv";
  /** Training seed. */
  seed: number;
  /** Epochs trained. */
  epochs: number;
  /** tfjs backend used. */
  backend: string;
  /** Training wall-clock seconds (sum over folds in CV mode). */
  trainSeconds: number;
  /** Whole command wall-clock seconds (data loading and evaluation included). */
  wallSeconds: number;
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

const FLAGS = {
  config: { type: "string" },
  seed: { type: "string" },
  cv: { type: "string" },
  "eval-test": { type: "boolean" },
  backend: { type: "string" },
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function usage(): string {
  return [
    "usage: deno run -A experiments/accuracy.ts --config NAME [--seed N] [--cv K] [--eval-test]",
    "         [--backend NAME] [--out DIR]",
    "",
    "Trains one named configuration on the small protocol's default split (or K-fold grouped",
    "cross-validation with --cv) and prints a JSON line, appended to DIR/results.jsonl",
    "(default out/accuracy). The test split is evaluated only with --eval-test.",
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

async function trySavedModel(dir: string, config: TrainConfig): Promise<Network | undefined> {
  try {
    const { model, metadata } = await loadModel(dir);
    if (JSON.stringify(metadata["trainConfig"]) === JSON.stringify(config)) return model;
    model.dispose();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound) && !String(err).includes("No such file")) {
      console.error(`note: saved model in ${dir} not reused: ${(err as Error).message}`);
    }
  }
  return undefined;
}

/** Runs the CLI with `args`; returns the record it printed. */
export async function main(args: string[]): Promise<AccuracyRecord | undefined> {
  const flags = parseFlags(args, FLAGS);
  if (flags.values.help) {
    console.log(usage());
    return undefined;
  }
  const name = stringFlag(flags, "config");
  if (!name) throw new Error(`--config is required; known: ${configNames().join(", ")}`);
  const seed = intFlag(flags, "seed", 0, 2 ** 31 - 1) ?? 42;
  const k = intFlag(flags, "cv", 2, 20);
  const evalTest = flags.values["eval-test"] === true;
  if (k !== undefined && evalTest) throw new Error("--cv and --eval-test cannot be combined");
  const outDir = stringFlag(flags, "out") ?? join("out", "accuracy");
  const config = configByName(name, seed);
  const log = (line: string) => console.error(line);
  const started = performance.now();

  const backend = await selectBackend({ force: stringFlag(flags, "backend"), log });
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
    const splits = await loadSplits({ protocol: "small", dataDir, cacheDir, log });
    const { train, valid, test } = splits;
    log(`split: train ${train.count} / valid ${valid.count} / test ${test.count}`);
    const modelDir = join(outDir, "models", `${name}-s${seed}`);
    let model = evalTest ? await trySavedModel(modelDir, config) : undefined;
    const reused = model !== undefined;
    let trainSeconds = NaN;
    if (model) {
      log(`reusing the model saved in ${modelDir} (same configuration)`);
    } else {
      const r = await trainMlp(train, valid, config, { log, progress: false });
      model = r.model;
      trainSeconds = r.seconds;
      await saveModel(model, modelDir, { trainConfig: config, trainSeconds, history: r.history });
    }
    if (reused) {
      const { metadata } = await loadModel(modelDir);
      trainSeconds = Number(metadata["trainSeconds"]);
    }
    record = {
      config: name,
      mode: "single",
      seed,
      epochs: config.epochs,
      backend: backend.name,
      trainSeconds,
      wallSeconds: (performance.now() - started) / 1000,
      train: evaluateSet(model, train).accuracy,
      valid: evaluateSet(model, valid).accuracy,
      ...(evalTest ? { test: evaluateSet(model, test).accuracy } : {}),
      reused,
      finishedAt: new Date().toISOString(),
    };
    model.dispose();
  }
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
