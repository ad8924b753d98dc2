/**
 * The lab's real workload for bench/train_bench.ts: `SMALL_RECIPE`
 * (784-512-256-10 relu, dropout 0.3, L2, Nesterov momentum, per-step cosine,
 * +-2 px shifts, batch 128, weight averaging) trained for a fixed number of
 * epochs on the real `small` training split, by `trainMlp` (the fused step on
 * wasm-blas, and the tfjs path for reference) and by the PyTorch peer
 * (bench/pytorch_peer.py, `recipe` request) on the same images.
 *
 * Also the fused step on the benchmark's plain models a and c
 * ({@link timeFused}), the counterpart of `timeTfjs`.
 *
 * @module
 */
import { type ImageSet, loadSplits } from "../data.ts";
import { buildMlp, type MlpSpec } from "../models/mlp.ts";
import { createFusedTrainer } from "../models/train/fused_step.ts";
import { SMALL_RECIPE } from "../models/recipes.ts";
import { type TrainConfig, trainMlp } from "../models/train/train.ts";
import type { BlasLibrary } from "../compute/wasm_blas/mod.ts";
import { Rng } from "../utils/rng.ts";

/** The recipe run by the benchmark: {@link SMALL_RECIPE} for `epochs` epochs, averaging all of them. */
export function benchRecipe(epochs: number): TrainConfig {
  return { ...SMALL_RECIPE, epochs, averageLast: epochs, seed: 1 };
}

/** The `recipe` request of bench/pytorch_peer.py for `config` on the data file `path`. */
export function torchRecipeRequest(
  config: TrainConfig,
  path: string,
  count: number,
): Record<string, unknown> {
  const s = config.schedule;
  const opt = config.optimizer;
  if (s.kind !== "cosine" || opt.kind !== "momentum" || !opt.nesterov) {
    throw new Error("the PyTorch recipe peer implements cosine + Nesterov momentum only");
  }
  const l2s = new Set([...config.spec.hidden.map((h) => h.l2 ?? 0), config.spec.outputL2 ?? 0]);
  const drops = new Set(config.spec.hidden.map((h) => h.dropout ?? 0));
  if (l2s.size !== 1 || drops.size !== 1) {
    throw new Error("the PyTorch recipe peer takes one L2 and one dropout rate for all layers");
  }
  return {
    data: path,
    count,
    hidden: config.spec.hidden.map((h) => h.units),
    dropout: [...drops][0],
    l2: [...l2s][0],
    epochs: config.epochs,
    batch: config.batchSize,
    shift: config.augmentShift ?? 0,
    lr: s.initial,
    lr_min: s.minimum ?? 0,
    momentum: opt.momentum,
    average_last: config.averageLast ?? 1,
    seed: config.seed,
  };
}

/**
 * The real `small` training split (from `NOTMNIST_DIR`), written to a temp
 * file for the PyTorch peer (count x 784 pixel bytes, then count labels), or
 * why it is not available.
 */
export async function recipeData(): Promise<
  { ok: true; train: ImageSet; path: string } | { ok: false; reason: string }
> {
  let train: ImageSet;
  try {
    train = (await loadSplits({ protocol: "small" })).train;
  } catch (err) {
    return { ok: false, reason: (err as Error).message.split("\n")[0] };
  }
  const path = await Deno.makeTempFile({ prefix: "recipe_bench_", suffix: ".bin" });
  const bytes = new Uint8Array(train.count * 785);
  bytes.set(train.images.subarray(0, train.count * 784));
  bytes.set(train.labels.subarray(0, train.count), train.count * 784);
  await Deno.writeFile(path, bytes);
  return { ok: true, train, path };
}

const EMPTY: ImageSet = { images: new Uint8Array(0), labels: new Uint8Array(0), count: 0 };

/**
 * Samples/s of `trainMlp` on `config` (no validation set), fused step on or
 * off; `blas` is the fused step's engine (default: the active backend's).
 */
export async function timeRecipe(
  train: ImageSet,
  config: TrainConfig,
  fusedStep: boolean,
  blas?: BlasLibrary,
): Promise<number> {
  const r = await trainMlp(train, EMPTY, config, {
    fusedStep,
    progress: false,
    ...(blas ? { blas } : {}),
  });
  r.model.dispose();
  return (train.count * config.epochs) / r.seconds;
}

/**
 * Samples/s of the fused step on a plain relu MLP with layer `sizes` (the
 * benchmark's models a and c): the same fixed float32 batch every step (copied
 * into the trainer's buffer each step), as `timeTfjs` and the PyTorch peer;
 * `opt` is `sgd` or `momentum` (0.9), learning rate 0.01, loss read every step.
 */
export function timeFused(
  blas: BlasLibrary,
  sizes: number[],
  batch: number,
  opt: string,
  steps: number,
  warmup: number,
): number {
  const spec: MlpSpec = {
    hidden: sizes.slice(1, -1).map((units) => ({ units, activation: "relu" as const })),
  };
  const config: TrainConfig = {
    spec,
    optimizer: opt === "sgd" ? { kind: "sgd" } : { kind: "momentum", momentum: 0.9 },
    schedule: { kind: "constant", initial: 0.01 },
    epochs: 1,
    batchSize: batch,
    seed: 7,
  };
  const net = buildMlp(spec, 7);
  const trainer = createFusedTrainer(net, config, blas);
  const rng = new Rng(3);
  const pixels = new Float32Array(batch * sizes[0]);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.nextUint32() / 2 ** 32;
  const labels = new Uint8Array(batch);
  for (let i = 0; i < batch; i++) labels[i] = rng.nextUint32() % 10;
  let sink = 0;
  for (let i = 0; i < warmup; i++) sink += trainer.stepBatch(pixels, labels, batch, i, 0.01).loss;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) sink += trainer.stepBatch(pixels, labels, batch, i, 0.01).loss;
  const dt = (performance.now() - t0) / 1000;
  net.dispose();
  if (!Number.isFinite(sink)) throw new Error("fused bench: the loss diverged");
  return (batch * steps) / dt;
}
