// The fused step's helper worker (models/train/fused_helper.ts): a trainer
// assisted by it gives the same bits as one working alone - consecutive steps
// (masks drawn ahead), skipped and repeated steps, a smaller last batch - and
// a trainer whose helper cannot start falls back to working alone. Runs on the
// cpu backend with a plain JavaScript BLAS (the trainer's arrays then live in
// its own SIMD arena, the helper's memory).
import * as tf from "@tensorflow/tfjs-core";
import "../compute/cpu_backend.ts";
import { assert, assertEquals } from "../deps/assert.ts";
import { createFusedTrainer, type FusedStepResult } from "../models/train/fused_step.ts";
import { FusedHelper } from "../models/train/fused_helper.ts";
import {
  type HelperPlan,
  runMasks,
  runUpdates,
  splitUpdates,
} from "../models/train/fused_helper_job.ts";
import { SimdArena } from "../models/train/fused_simd.ts";
import { gatherShiftBatch, PIXEL_VALUES } from "../models/train/fused_kernels.ts";
import { Rng } from "../utils/rng.ts";
import { dropoutMask } from "../models/dropout.ts";
import { deriveSeed } from "../utils/rng.ts";
import { dropoutStream } from "../utils/seed_streams.ts";
import { buildMlp } from "../models/mlp.ts";
import { SMALL_RECIPE } from "../models/recipes.ts";
import { type TrainConfig, trainMlp } from "../models/train/train.ts";
import { cpusOfSet, openThreadAffinity, setOfCpus } from "../models/train/thread_affinity.ts";
import { toySet } from "./toy_data.ts";
import { naiveBlas } from "./naive_blas.ts";

const train = toySet(200, 1);

const recipe: TrainConfig = {
  ...SMALL_RECIPE,
  spec: {
    hidden: [
      { units: 48, activation: "relu", l2: 1e-4, dropout: 0.3 },
      { units: 24, activation: "relu", l2: 1e-4, dropout: 0.3 },
    ],
    outputL2: 1e-4,
    inputDropout: 0.1,
  },
  epochs: 2,
  averageLast: 2,
  batchSize: 32,
  seed: 5,
};

/** Steps (start, end, step index) of `steps` on a trainer with or without a helper. */
async function trainSteps(
  helper: boolean,
  steps: [number, number, number][],
): Promise<{ results: FusedStepResult[]; weights: Float32Array[]; ready: boolean }> {
  const net = buildMlp(recipe.spec, 3);
  const trainer = createFusedTrainer(net, recipe, naiveBlas(), { helper });
  const order = Uint32Array.from({ length: train.count }, (_, i) => (i * 7) % train.count);
  const ready = await trainer.helperReady();
  try {
    const results = steps.map(([start, end, k]) =>
      trainer.step(train, order, start, end, k, 0.05 - k * 1e-3)
    );
    trainer.writeBack();
    const weights = net.weights();
    return { results, weights, ready };
  } finally {
    trainer.release();
    net.dispose();
  }
}

Deno.test("a helper-assisted fused trainer gives the same bits as one working alone", async () => {
  await tf.setBackend("cpu");
  const steps: [number, number, number][] = [
    [0, 32, 0], // no masks ahead yet
    [32, 64, 1], // masks drawn ahead
    [64, 96, 2],
    [96, 128, 7], // not the step the helper drew: drawn again
    [128, 160, 8],
    [160, 181, 9], // a smaller batch: a prefix of the masks drawn ahead
    [0, 32, 9], // the same step again
  ];
  const alone = await trainSteps(false, steps);
  const assisted = await trainSteps(true, steps);
  assertEquals(alone.ready, false);
  assert(assisted.ready, "the helper worker started");
  assertEquals(assisted.results, alone.results);
  assertEquals(assisted.weights, alone.weights);
});

Deno.test("without a Worker the trainer works alone (same bits); trainMlp with and without the helper agree", async () => {
  await tf.setBackend("cpu");
  const steps: [number, number, number][] = [[0, 32, 0], [32, 64, 1], [64, 96, 2]];
  const alone = await trainSteps(false, steps);
  const saved = globalThis.Worker;
  const failing = class {
    constructor() {
      throw new Error("no workers here");
    }
  };
  Object.defineProperty(globalThis, "Worker", {
    value: failing,
    configurable: true,
    writable: true,
  });
  let fallback: Awaited<ReturnType<typeof trainSteps>>;
  try {
    fallback = await trainSteps(true, steps);
  } finally {
    Object.defineProperty(globalThis, "Worker", {
      value: saved,
      configurable: true,
      writable: true,
    });
  }
  assertEquals(fallback.ready, false);
  assertEquals(fallback.results, alone.results);
  assertEquals(fallback.weights, alone.weights);
  // The whole loop, on the plain BLAS (arena, helper) and with the helper off.
  const runs = await Promise.all([true, false].map(async (fusedHelper) => {
    const r = await trainMlp(train, { ...train, count: 0 }, recipe, {
      blas: naiveBlas(),
      fusedHelper,
      progress: false,
    });
    const weights = r.model.weights();
    r.model.dispose();
    return { weights, history: r.history.map(({ seconds: _s, samplesPerSecond: _p, ...h }) => h) };
  }));
  assertEquals(runs[0].weights, runs[1].weights);
  assertEquals(runs[0].history, runs[1].history);
});

Deno.test("the helper's jobs are the trainer's own passes; it needs a shared memory", async () => {
  const arena = SimdArena.shared(4096);
  const [w, g, v, mask] = [arena.alloc(100), arena.alloc(100), arena.alloc(100), arena.alloc(203)];
  w.forEach((_, i) => (w[i] = Math.sin(i)));
  g.forEach((_, i) => (g[i] = Math.cos(i)));
  const [w2, v2] = [w.slice(), v.slice()];
  const plan: HelperPlan = {
    rule: { momentum: 0.9, useMomentum: true, nesterov: true },
    seed: 11,
    updates: [{ w: w.byteOffset, g: g.byteOffset, v: v.byteOffset, n: 101 - 1, l2: 1e-3 }],
    masks: [{ slot: 2, out: mask.byteOffset, size: 203, rate: 0.25 }],
  };
  const helper = FusedHelper.start(arena, plan);
  assert(helper !== undefined && (await helper.whenReady()), "the helper starts");
  try {
    // The same update on a second arena, on this thread.
    const local = SimdArena.shared(4096);
    const [lw, lg, lv] = [local.alloc(100), local.alloc(100), local.alloc(100)];
    lw.set(w2);
    lg.set(g);
    lv.set(v2);
    const sums = new Float64Array(1);
    runUpdates(
      local,
      {
        ...plan,
        updates: [{ ...plan.updates[0], w: lw.byteOffset, g: lg.byteOffset, v: lv.byteOffset }],
      },
      0.1,
      sums,
    );
    helper.submit(0.1, 4);
    assertEquals(helper.sums()[0], sums[0]);
    assert(helper.masksOf(4));
    assertEquals(w, lw);
    assertEquals(v, lv);
    assertEquals(mask, dropoutMask(203, 0.25, deriveSeed(11, ...dropoutStream(2, 4))));
    helper.submit(undefined, 5);
    assertEquals(helper.masksOf(4), false, "the masks of step 5, not 4");
    const again = new Float32Array(203);
    runMasks(
      local,
      { ...plan, masks: [{ ...plan.masks[0], out: local.alloc(203).byteOffset }] },
      5,
    );
    again.set(dropoutMask(203, 0.25, deriveSeed(11, ...dropoutStream(2, 5))));
    assertEquals(mask, again);
  } finally {
    helper.close();
  }
  helper.close(); // idempotent
  assertEquals(helper.ready, false);
  assertEquals(FusedHelper.start(new SimdArena(1024), plan), undefined, "not on a private memory");
});

Deno.test("splitUpdates: the largest array stays with the trainer, the helper gets what balances its masks", () => {
  // The recipe's arrays (kernel, bias per layer) and its masks.
  const sizes = [784 * 512, 512, 512 * 256, 256, 256 * 10, 10];
  assertEquals(splitUpdates(sizes, 128 * (512 + 256)), [false, true, true, true, true, true]);
  assertEquals(
    splitUpdates(sizes, 4 * 128 * (512 + 256)),
    sizes.map(() => false),
    "busy with masks",
  );
  assertEquals(splitUpdates(sizes, 0), [false, true, true, true, true, true]);
  assertEquals(splitUpdates([], 10), []);
});

Deno.test("thread affinity: CPU sets round-trip; where available, this thread may run somewhere", () => {
  assertEquals(cpusOfSet(setOfCpus([0, 3, 9, 1023, 1024])), [0, 3, 9, 1023]);
  const affinity = openThreadAffinity();
  if (affinity === undefined) return;
  const cpus = affinity.allowedCpus();
  assert(cpus.length >= 1);
  assert(cpus.includes(affinity.currentCpu()));
  assert(affinity.threadId() > 0);
});

Deno.test("the vector rows of the SIMD gather give the table's value of every byte, at every column", () => {
  // Image k: pixel p = (p * 7 + k) % 256, so each byte value lands in many columns and rows.
  const count = 64;
  const images = Uint8Array.from(
    { length: count * 784 },
    (_, i) => ((i % 784) * 7 + Math.floor(i / 784)) % 256,
  );
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  const arena = new SimdArena(count * 784 + 2048);
  const [out, stage, table] = [arena.alloc(count * 784), arena.alloc(196), arena.alloc(256)];
  table.set(PIXEL_VALUES);
  for (const shift of [0, 1, 2, 3]) {
    const expected = new Float32Array(count * 784);
    gatherShiftBatch(images, order, 0, count, expected, new Rng(shift), shift);
    arena.gatherShiftBatch(images, order, 0, count, out, stage, table, new Rng(shift), shift);
    assertEquals(out, expected, `shift ${shift}`);
  }
  // Unshifted, every pixel is its byte's table value.
  arena.gatherShiftBatch(images, order, 0, count, out, stage, table);
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== PIXEL_VALUES[images[i]]) throw new Error(`pixel ${i}: ${out[i]}`);
  }
});
