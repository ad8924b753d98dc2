/**
 * Trains the golden run of tests/numerics_golden_test.ts in this process and
 * prints its SHA-256 hashes as one JSON line: the final weights, the test
 * predictions (softmax probabilities), and `Math.exp`/`Math.log` over a fixed
 * grid. Prints fresh golden values:
 *
 *   deno run -A tests/numerics_hashes_main.ts [--backend wasm-blas|wasm] [--numerics reproducible|fast] [--epochs N] [--train-size N]
 *
 * (the test uses `--backend wasm --epochs 3` for the stock wasm golden).
 *
 * The environment (NOTMNIST_BLAS_THREADS, OPENBLAS_CORETYPE, ...) is this
 * process's; the tests run it as a subprocess with different settings.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers";
import { createHash } from "node:crypto";
import { choiceFlag, intFlag, parseFlags } from "../deps/flags.ts";
import { selectBackend } from "../compute/backend.ts";
import { NUMERICS_MODES } from "../compute/numerics.ts";
import { type TrainConfig, trainMlp } from "../models/train/train.ts";
import { predictProbabilities } from "../models/evaluate.ts";
import { toySet } from "./toy_data.ts";

/** The golden run: 784-256-128-10, dropout, L2, Nesterov momentum; 20 x 15 = 300 steps. */
export const GOLDEN_CONFIG: TrainConfig = {
  spec: {
    hidden: [
      { units: 256, activation: "relu", l2: 1e-4, dropout: 0.2 },
      { units: 128, activation: "relu", l2: 1e-4 },
    ],
    outputL2: 1e-4,
  },
  optimizer: { kind: "momentum", momentum: 0.9, nesterov: true },
  schedule: { kind: "cosine", initial: 0.05, minimum: 0.001 },
  scheduleUpdate: "step",
  epochs: 15,
  batchSize: 128,
  seed: 12,
};

/** The one NaN the hashes see: hosts differ only in the sign bit of NaNs they make (x86 0xffc00000). */
const CANONICAL_NAN = 0x7fc00000;

/** A copy of `a` with every float32 NaN replaced by {@link CANONICAL_NAN}. */
export function canonicalNaNs(a: Float32Array): Float32Array {
  const out = a.slice();
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < out.length; i++) if (Number.isNaN(out[i])) bits[i] = CANONICAL_NAN;
  return out;
}

function sha256(arrays: ArrayBufferView[]): string {
  const h = createHash("sha256");
  for (const a of arrays) {
    const bytes = a instanceof Float32Array ? canonicalNaNs(a) : a;
    h.update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  return h.digest("hex");
}

/** SHA-256 of `Math.exp` and `Math.log` (float64) over a fixed grid of 20,001 points. */
export function mathHash(): string {
  const out = new Float64Array(40002);
  for (let i = 0; i <= 20000; i++) {
    const x = -50 + i * 0.005 + i * 1e-7;
    out[2 * i] = Math.exp(x);
    out[2 * i + 1] = Math.log(Math.abs(x) + 1e-3);
  }
  return sha256([out]);
}

if (import.meta.main) {
  const { values: flags } = parseFlags(Deno.args, {
    backend: choiceFlag({ choices: ["wasm-blas", "wasm"], default: "wasm-blas", help: "backend" }),
    numerics: choiceFlag({ choices: NUMERICS_MODES, default: "reproducible", help: "mode" }),
    epochs: intFlag({ help: "epochs", min: 1, max: 100, default: GOLDEN_CONFIG.epochs }),
    "train-size": intFlag({ help: "training images", min: 128, max: 2560, default: 2560 }),
  });
  const { epochs, numerics } = flags;
  const config = { ...GOLDEN_CONFIG, epochs };
  const choice = await selectBackend({ force: flags.backend, numerics });
  // Harder than separable: narrow bright bands over a bright background.
  const train = toySet(flags.trainSize, 101, 200, 150, 100);
  const valid = toySet(256, 102, 200, 150, 100);
  const test = toySet(1000, 103, 200, 150, 100);
  const result = await trainMlp(train, valid, config, { progress: false });
  const weights = result.model.weights();
  const probs = predictProbabilities(result.model, test.images, test.count);
  const last = result.history[result.history.length - 1];
  console.log(JSON.stringify({
    backend: choice.name,
    detail: choice.detail,
    numerics: numerics,
    bitIdentical: choice.numerics.bitIdentical,
    cpu: choice.numerics.cpuModel,
    arch: Deno.build.arch,
    steps: epochs * Math.ceil(train.count / GOLDEN_CONFIG.batchSize),
    loss: last.loss,
    validAccuracy: last.validAccuracy,
    weights: sha256(weights),
    predictions: sha256([probs]),
    math: mathHash(),
  }));
  result.model.dispose();
  tf.disposeVariables();
}
