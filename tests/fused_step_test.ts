// The fused training step (models/train/fused_step.ts) against the tfjs path of
// trainMlp: same recipe, close results (the softmax's exp/log are the only
// operations that differ, in the last bit; every other pass is bit-identical,
// tests/fused_kernels_test.ts), deterministic, and selected only where it
// applies. Runs on wasm-blas when a BLAS is installed, and everywhere on the
// cpu backend with a plain JavaScript BLAS that also exercises the `alloc` hook.
import * as tf from "@tensorflow/tfjs-core";
import "../compute/cpu_backend.ts";
import { assert, assertEquals, assertRejects } from "../deps/assert.ts";
import {
  createFusedTrainer,
  fusedBlasForBackend,
  fusedUnsupportedReason,
  setFusedStepBlas,
} from "../models/train/fused_step.ts";
import { buildMlp } from "../models/mlp.ts";
import { toFloat32 } from "../data.ts";
import { SMALL_RECIPE } from "../models/recipes.ts";
import { type TrainConfig, TrainingDivergedError, trainMlp } from "../models/train/train.ts";
import type { BlasLibrary } from "../compute/wasm_blas/mod.ts";
import type { SharedBlasLibrary } from "../compute/blas/remote_blas.ts";
import { registerWasmBlasBackend, WASM_BLAS } from "../compute/wasm_blas/mod.ts";
import { toySet } from "./toy_data.ts";
import { naiveBlas } from "./naive_blas.ts";

const probe = await registerWasmBlasBackend();
const train = toySet(200, 1);
const valid = toySet(60, 2);

/** The small recipe, shrunk for a test: same features, smaller net, 2 epochs. */
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
  labelSmoothing: 0.05,
  seed: 5,
};

/**
 * A plain JavaScript row-major SGEMM / SGEMV shaped like a remote BLAS
 * (`SharedBlasLibrary`: arrays from `allocShared` on its shared buffer), counting allocations.
 */
function jsBlas(): SharedBlasLibrary & { allocs: number; resets: number } {
  const shared = new SharedArrayBuffer(1 << 16, { maxByteLength: 1 << 26 });
  let top = 0;
  const lib = {
    ...naiveBlas(),
    allocs: 0,
    shared,
    sharedHeap: () => undefined,
    allocShared(n: number): Float32Array {
      lib.allocs++;
      if (top + n * 4 > shared.byteLength) shared.grow(top + n * 4);
      const a = new Float32Array(shared, top, n);
      top += n * 4;
      return a;
    },
    resets: 0,
    resetShared(): void {
      lib.resets++;
      top = 0;
    },
    shareHeap: () => false,
  };
  return lib;
}

function maxRelDiff(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((x, k) => {
    for (let i = 0; i < x.length; i++) {
      worst = Math.max(worst, Math.abs(x[i] - b[k][i]) / Math.max(1e-3, Math.abs(b[k][i])));
    }
  });
  return worst;
}

const strip = (h: { seconds: number; samplesPerSecond: number }[]) =>
  h.map(({ seconds: _s, samplesPerSecond: _p, ...rest }) => rest);

async function run(config: TrainConfig, fusedStep: boolean, blas?: BlasLibrary) {
  const lines: string[] = [];
  const r = await trainMlp(train, valid, config, {
    fusedStep,
    blas,
    progress: false,
    log: (l) => lines.push(l),
  });
  const weights = r.model.weights();
  r.model.dispose();
  return { history: r.history, weights, header: lines[0] };
}

const noBlas = probe.ok ? "" : ` (ignored: no BLAS: ${probe.reason})`;

Deno.test({
  name:
    `wasm-blas: one fused step is close to one tfjs step (same SGEMMs, softmax last bits)${noBlas}`,
  ignore: !probe.ok,
  fn: async () => {
    await tf.setBackend(WASM_BLAS);
    const one: TrainConfig = { ...recipe, epochs: 1, averageLast: 1 };
    const few = { ...train, count: 32 };
    const a = await trainMlp(few, valid, one, { fusedStep: true, progress: false });
    const b = await trainMlp(few, valid, one, { fusedStep: false, progress: false });
    const d = maxRelDiff(a.model.weights(), b.model.weights());
    assert(d <= 1e-5, `one step: largest relative weight difference ${d}`);
    assert(Math.abs(a.history[0].loss - b.history[0].loss) <= 1e-6, "one step: loss");
    assertEquals(a.history[0].trainAccuracy, b.history[0].trainAccuracy);
    a.model.dispose();
    b.model.dispose();
  },
});

Deno.test({
  name: `wasm-blas: the fused recipe tracks the tfjs path and is bit-identical run to run${noBlas}`,
  ignore: !probe.ok,
  fn: async () => {
    await tf.setBackend(WASM_BLAS);
    const fused = await run(recipe, true);
    const again = await run(recipe, true);
    const plain = await run(recipe, false);
    assert(fused.header.includes("(fused step)"), fused.header);
    assert(!plain.header.includes("(fused step)"), plain.header);
    // Same seed, same path: same bits (weights and every metric).
    assertEquals(again.weights, fused.weights);
    assertEquals(strip(again.history), strip(fused.history));
    // Against the tfjs path: close, not identical (softmax exp/log).
    const d = maxRelDiff(fused.weights, plain.weights);
    assert(d <= 1e-3, `largest relative weight difference ${d}`);
    fused.history.forEach((h, i) => {
      const p = plain.history[i];
      assert(Math.abs(h.loss - p.loss) <= 1e-4, `epoch ${i + 1} loss ${h.loss} vs ${p.loss}`);
      assert(Math.abs(h.validLoss - p.validLoss) <= 1e-4, `epoch ${i + 1} valid loss`);
      assertEquals(h.learningRate, p.learningRate);
    });
  },
});

Deno.test("cpu + a JavaScript BLAS: the fused step runs through BlasLibrary, arrays on its shared buffer", async () => {
  await tf.setBackend("cpu");
  const blas = jsBlas();
  const fused = await run(recipe, true, blas);
  assertEquals(blas.allocs, 1, "one contiguous buffer on the shared buffer");
  assertEquals(blas.resets, 1, "its space is handed back when training ends");
  const again = await run(recipe, true, jsBlas());
  assertEquals(again.weights, fused.weights);
  assertEquals(strip(again.history), strip(fused.history));
  const plain = await run(recipe, true);
  assert(!plain.header.includes("(fused step)"), "cpu without a BLAS keeps the tfjs path");
  // A provider set once (as a sandbox would) is used on any backend.
  const provider = jsBlas();
  setFusedStepBlas(provider);
  try {
    assertEquals(fusedBlasForBackend("cpu"), provider);
    const viaProvider = await run(recipe, true);
    assert(viaProvider.header.includes("(fused step)"), viaProvider.header);
    assertEquals(viaProvider.weights, fused.weights);
  } finally {
    setFusedStepBlas(undefined);
  }
  assertEquals(fusedBlasForBackend("cpu"), undefined);
  const d = maxRelDiff(fused.weights, plain.weights);
  assert(d <= 1e-3, `largest relative weight difference ${d}`);
  fused.history.forEach((h, i) => {
    assert(Math.abs(h.loss - plain.history[i].loss) <= 1e-4, `epoch ${i + 1} loss`);
  });
});

Deno.test("stepBatch on converted pixels = step on the image set (no shift), bit for bit", async () => {
  await tf.setBackend("cpu");
  const config: TrainConfig = { ...recipe, augmentShift: 0 };
  const [netA, netB] = [buildMlp(config.spec, 3), buildMlp(config.spec, 3)];
  const [a, b] = [
    createFusedTrainer(netA, config, jsBlas()),
    createFusedTrainer(netB, config, jsBlas()),
  ];
  const order = Uint32Array.from({ length: train.count }, (_, i) => (i * 7) % train.count);
  for (let k = 0; k < 3; k++) {
    const [start, end] = [k * 32, k * 32 + 32 - k];
    const ra = a.step(train, order, start, end, k, 0.05);
    const labels = Uint8Array.from(order.subarray(start, end), (i) => train.labels[i]);
    const rb = b.stepBatch(toFloat32(train, order, start, end), labels, end - start, k, 0.05);
    assertEquals(rb, ra);
  }
  a.writeBack();
  b.writeBack();
  assertEquals(netB.weights(), netA.weights());
  netA.dispose();
  netB.dispose();
});

Deno.test("a full shared buffer falls back to the arena; a released trainer refuses steps", async () => {
  await tf.setBackend("cpu");
  const full = jsBlas();
  full.allocShared = () => {
    throw new RangeError("channel full");
  };
  const r = await run(recipe, true, full);
  assert(r.header.includes("(fused step)"), r.header);
  const reference = await run(recipe, true, jsBlas());
  assertEquals(r.weights, reference.weights);
  const net = buildMlp(recipe.spec, 1);
  const trainer = createFusedTrainer(net, recipe, jsBlas());
  trainer.release();
  let threw = false;
  try {
    trainer.stepBatch(new Float32Array(784), new Uint8Array(1), 1, 0, 0.1);
  } catch {
    threw = true;
  }
  net.dispose();
  assert(threw, "a released trainer must refuse to step");
});

Deno.test("the fused step is skipped for batch norm, max-norm and other activations", async () => {
  await tf.setBackend("cpu");
  const h = recipe.spec.hidden[0];
  const cases: [TrainConfig, string][] = [
    [{ ...recipe, spec: { hidden: [{ ...h, batchNorm: true }] } }, "batch norm"],
    [{ ...recipe, spec: { hidden: [{ ...h, maxNorm: 3 }] } }, "max-norm"],
    [{ ...recipe, spec: { hidden: [h], outputMaxNorm: 2 } }, "max-norm"],
    [{ ...recipe, spec: { hidden: [{ ...h, activation: "tanh" }] } }, "tanh"],
  ];
  for (const [config, why] of cases) {
    assert(fusedUnsupportedReason(config)?.includes(why), why);
    const r = await run({ ...config, epochs: 1, averageLast: 1 }, true, jsBlas());
    assert(!r.header.includes("(fused step)"), `${why}: ${r.header}`);
  }
  assertEquals(fusedUnsupportedReason(SMALL_RECIPE), undefined);
  const net = buildMlp(cases[0][0].spec, 1);
  let threw = false;
  try {
    createFusedTrainer(net, cases[0][0], jsBlas());
  } catch {
    threw = true;
  }
  net.dispose();
  assert(threw, "createFusedTrainer refuses an unsupported spec");
});

Deno.test("a diverging fused run throws TrainingDivergedError", async () => {
  await tf.setBackend("cpu");
  const config: TrainConfig = {
    ...recipe,
    schedule: { kind: "constant", initial: 10 },
    optimizer: { kind: "sgd" },
    spec: { hidden: [{ units: 16, activation: "linear" }] },
    epochs: 3,
    averageLast: 1,
    labelSmoothing: 0,
  };
  await assertRejects(
    () => trainMlp(train, valid, config, { blas: jsBlas(), progress: false }),
    TrainingDivergedError,
  );
});
