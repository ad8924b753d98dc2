/**
 * A fused training step for the MLPs of {@link MlpSpec}: forward, backward and
 * the optimizer update run directly on `Float32Array`s - matrix products as
 * SGEMM calls through a {@link BlasLibrary}, everything else in the fused
 * passes of fused_kernels.ts - instead of the ~130 tfjs kernel calls (and
 * their tape, temporaries and disposals) of a tfjs step. The tfjs model stays
 * the model: its weights are copied in when the trainer is created and copied
 * back with {@link FusedTrainer.writeBack} (the training loop does so before
 * every evaluation), so save, load, predict and the layers API are unchanged.
 *
 * Same recipe as the tfjs path of `trainMlp`: the same seeded batches, shifts
 * (`deriveSeed(seed, ...shiftStream(step))`) and dropout masks (`SeededDropout`'s seeds),
 * the same SGEMM calls (same operands, transposes and `beta`) as the
 * `wasm-blas` kernels, and an optimizer, L2 and relu/dropout arithmetic that
 * is bit-identical to tfjs'. Only the softmax uses JavaScript's `exp`/`log`,
 * which may differ in the last bit from the wasm kernels', so a fused run is
 * close to, not bit-identical with, a tfjs run; two fused runs with the same
 * seed are bit-identical (fixed summation order, one thread outside BLAS).
 *
 * Supported: hidden activations relu and linear, dropout (input and hidden),
 * L2, label smoothing, shifts, SGD and (Nesterov) momentum. Batch norm,
 * max-norm and the other activations use the tfjs path
 * ({@link fusedUnsupportedReason} says why).
 *
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerWasmBlasBackend, WASM_BLAS, wasmBlasLibrary } from "../../compute/wasm_blas/mod.ts";
 * import { buildMlp } from "../mlp.ts";
 * import { createFusedTrainer } from "./fused_step.ts";
 * import { SMALL_RECIPE } from "../recipes.ts";
 *
 * const probe = await registerWasmBlasBackend();
 * if (probe.ok) {
 *   await tf.setBackend(WASM_BLAS);
 *   const net = buildMlp(SMALL_RECIPE.spec, 1);
 *   const trainer = createFusedTrainer(net, SMALL_RECIPE, wasmBlasLibrary()!);
 *   const images = new Uint8Array(128 * 784);
 *   const labels = new Uint8Array(128);
 *   const order = Uint32Array.from({ length: 128 }, (_, i) => i);
 *   const r = trainer.step({ images, labels, count: 128 }, order, 0, 128, 0, 0.05);
 *   trainer.writeBack();
 *   console.log(r.loss, r.correct);
 *   net.dispose();
 * }
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type ImageSet, NUM_CLASSES, PIXELS } from "../../data/types.ts";
import { deriveSeed, Rng } from "../../utils/rng.ts";
import { dropoutStream, shiftStream } from "../../utils/seed_streams.ts";
import { dropoutMask } from "../dropout.ts";
import {
  applyMask,
  dropoutReluBackward,
  fillBiasRows,
  gatherShiftBatch,
  PIXEL_VALUES,
  reluDropoutForward,
  softmaxCrossEntropyGrad,
  updateParams,
  type UpdateRule,
} from "./fused_kernels.ts";
import { SimdArena } from "./fused_simd.ts";
import { clearUpperState } from "./fused_upper.ts";
import { carve, carvedSize, engineArena, heapArena } from "./fused_memory.ts";
import { type MaskBuffer, type ParamUpdate, StepAssist } from "./fused_assist.ts";

export { fusedBlasForBackend, setFusedStepBlas } from "./fused_memory.ts";
import { hiddenLayerName, type MlpSpec, type Network, OUTPUT_LAYER } from "../mlp.ts";
import type { OptimizerSpec } from "../optimizers.ts";
import type { BlasLibrary } from "../../compute/blas/library.ts";
import { isSharedBlas, type SharedBlasLibrary } from "../../compute/blas/remote_blas.ts";

/** The loss and accuracy of one fused step. */
export interface FusedStepResult {
  /** Mean cross-entropy of the batch plus the L2 penalty (before the update). */
  loss: number;
  /** Number of correctly classified images of the batch (before the update). */
  correct: number;
}

/** The part of a training configuration (`TrainConfig`) the fused step needs. */
export interface FusedStepConfig {
  /** The network. */
  spec: MlpSpec;
  /** The optimizer. */
  optimizer: OptimizerSpec;
  /** Largest minibatch (buffers are sized for it). */
  batchSize: number;
  /** The run's seed (shifts and dropout masks derive from it). */
  seed: number;
  /** Label smoothing in [0, 1) (default 0). */
  labelSmoothing?: number;
  /** Random shifts of up to this many pixels (default 0). */
  augmentShift?: number;
}

/** Options of {@link createFusedTrainer}. */
export interface FusedTrainerOptions {
  /**
   * Start a helper worker (fused_helper.ts) that updates part of the
   * parameters and draws the next step's dropout masks on the second core
   * (same bits; default false). Only where the trainer is sure to be
   * released: a live worker keeps the process running. Where no worker
   * starts, or until it has started, the trainer works alone.
   */
  helper?: boolean;
}

/** A fused trainer bound to one network and one training configuration. */
export interface FusedTrainer {
  /**
   * One training step on the images `order[start..end)` of `set` at global
   * step `step` (seeds of shifts and dropout) with learning rate `lr`.
   */
  step(
    set: ImageSet,
    order: ArrayLike<number>,
    start: number,
    end: number,
    step: number,
    lr: number,
  ): FusedStepResult;
  /**
   * One training step on a batch already in float32 (`count` x 784 pixels,
   * copied in; no shift is applied) with integer `labels`; dropout masks from
   * step `step`, learning rate `lr`.
   */
  stepBatch(
    pixels: Float32Array,
    labels: Uint8Array,
    count: number,
    step: number,
    lr: number,
  ): FusedStepResult;
  /**
   * Releases the trainer's buffers (on a remote BLAS's shared buffer: once no
   * trainer uses it any more, its space is reused) and stops its helper
   * worker. The trainer is unusable after.
   */
  release(): void;
  /** Copies the trained weights into the network's tfjs variables. */
  writeBack(): void;
  /**
   * Resolves true once the helper worker takes jobs ({@link FusedTrainerOptions.helper}),
   * false when there is none or it failed to start (steps never wait for it).
   */
  helperReady(): Promise<boolean>;
}

/**
 * Why `config` cannot use the fused step (`undefined` when it can): batch
 * norm, max-norm and activations other than relu and linear are left to tfjs.
 */
export function fusedUnsupportedReason(config: FusedStepConfig): string | undefined {
  const { spec } = config;
  for (const [i, h] of spec.hidden.entries()) {
    if (h.batchNorm) return `hidden[${i}] uses batch norm`;
    if (h.maxNorm !== undefined) return `hidden[${i}] uses max-norm`;
    if (h.activation !== "relu" && h.activation !== "linear") {
      return `hidden[${i}] activation ${h.activation} is not fused (relu and linear are)`;
    }
  }
  if (spec.outputMaxNorm !== undefined) return "the output layer uses max-norm";
  return undefined;
}

/** Live fused trainers per remote BLAS whose shared buffer holds their arrays. */
const sharedUsers = new Map<SharedBlasLibrary, number>();

interface Layer {
  inputs: number;
  units: number;
  relu: boolean;
  /** Dropout rate after this layer (hidden layers only; 0 = none). */
  dropout: number;
  l2: number;
  kernelVar: tf.Variable;
  biasVar: tf.Variable;
  w: Float32Array;
  b: Float32Array;
  gw: Float32Array;
  gb: Float32Array;
  vw: Float32Array;
  vb: Float32Array;
  /** Pre-activation, then activation (in place), batch x units. */
  z: Float32Array;
  /** Dropout mask and dropped output (empty without dropout). */
  mask: Float32Array;
  out: Float32Array;
  /** Gradient w.r.t. z, batch x units. */
  dz: Float32Array;
}

/**
 * Creates a fused trainer for `net` (built by `buildMlp` from `config.spec`
 * with `config.seed`), copying its current weights in. Buffers come from
 * the shared buffer of a remote BLAS (`allocShared`, remote_blas.ts), else
 * from a {@link SimdArena}; all of them are one contiguous allocation. Throws when
 * `config` is not supported ({@link fusedUnsupportedReason}).
 */
export function createFusedTrainer(
  net: Network,
  config: FusedStepConfig,
  blas: BlasLibrary,
  options: FusedTrainerOptions = {},
): FusedTrainer {
  const why = fusedUnsupportedReason(config);
  if (why !== undefined) throw new Error(`fused step: ${why}`);
  const { spec, seed } = config;
  const batch = config.batchSize;
  const shift = config.augmentShift ?? 0;
  const smoothing = config.labelSmoothing ?? 0;
  const opt = config.optimizer;
  const momentum = opt.kind === "momentum" ? opt.momentum : 0;
  const nesterov = opt.kind === "momentum" && (opt.nesterov ?? false);
  const useMomentum = opt.kind === "momentum";
  const inputDropout = spec.inputDropout ?? 0;

  const dims = [PIXELS, ...spec.hidden.map((h) => h.units), NUM_CLASSES];
  const names = [...spec.hidden.map((_, i) => hiddenLayerName(i)), OUTPUT_LAYER];
  const L = names.length;
  // Buffer sizes per layer: w, b, gw, gb, vw, vb, z, mask, out, dz.
  const sizes: number[] = [];
  const perLayer = 10;
  for (let l = 0; l < L; l++) {
    const [i, o] = [dims[l], dims[l + 1]];
    const drop = l < L - 1 ? spec.hidden[l].dropout ?? 0 : 0;
    const v = useMomentum ? 1 : 0;
    const d = drop > 0 ? batch * o : 0;
    sizes.push(i * o, o, i * o, o, v * i * o, v * o, batch * o, d, d, batch * o);
  }
  const xIn = batch * PIXELS;
  // Then the ones of the bias gradient, the gather's staging image and pixel table.
  sizes.push(xIn, inputDropout > 0 ? xIn : 0, inputDropout > 0 ? xIn : 0, batch, PIXELS / 4, 256);
  // One contiguous buffer: on a remote BLAS's shared buffer (its operands then
  // pass by offset, not copied), else a SIMD arena (the elementwise passes and
  // the optimizer run as WebAssembly SIMD on it).
  // Best on a remote BLAS: a SIMD arena inside its shared wasm heap (by offset
  // AND SIMD passes); else arrays on its channel buffer (by offset, JS passes).
  let shared = isSharedBlas(blas) ? blas : undefined;
  const onHeap = shared ? heapArena(shared, carvedSize(sizes)) : undefined;
  let bufs: Float32Array[] | undefined;
  if (shared && !onHeap) {
    try {
      bufs = carve(sizes, (n) => shared!.allocShared(n));
      sharedUsers.set(shared, (sharedUsers.get(shared) ?? 0) + 1);
    } catch {
      shared = undefined; // the channel is full: the arena below (operands then copied)
    }
  }
  if (onHeap) shared = undefined;
  const arena = bufs ? undefined : onHeap?.arena ?? engineArena(blas, carvedSize(sizes)) ??
    (options.helper ? SimdArena.shared(carvedSize(sizes)) : new SimdArena(carvedSize(sizes)));
  bufs ??= carve(sizes, (n) => arena!.alloc(n));
  const rule: UpdateRule = { momentum, useMomentum, nesterov };
  const update = arena
    ? (w: Float32Array, g: Float32Array, v: Float32Array, lr: number, l2: number) =>
      arena.update(w, g, v, lr, rule, l2)
    : (w: Float32Array, g: Float32Array, v: Float32Array, lr: number, l2: number) =>
      updateParams(w, g, v, lr, rule, l2);
  // The elementwise passes: SIMD on the arena, else the JS ones (same bits).
  const forward = arena ? arena.reluDropoutForward.bind(arena) : reluDropoutForward;
  const backward = arena ? arena.dropoutReluBackward.bind(arena) : dropoutReluBackward;
  const mask = arena ? arena.applyMask.bind(arena) : applyMask;
  const makeMask = arena ? arena.dropoutMask.bind(arena) : dropoutMask;
  const [x, xMask, xDropped, ones, stage, table] = bufs.slice(L * perLayer);
  ones.fill(1);
  table.set(PIXEL_VALUES);
  const labels = new Uint8Array(batch);

  const model = net.layers;
  const layers: Layer[] = names.map((name, l) => {
    const tl = model.getLayer(name);
    const kernel = tl.trainableWeights.find((w) => w.shape.length === 2);
    const bias = tl.trainableWeights.find((w) => w.shape.length === 1);
    if (kernel === undefined || bias === undefined) {
      throw new Error(`fused step: layer ${name} has no kernel or bias`);
    }
    const [w, b, gw, gb, vw, vb, z, mask, out, dz] = bufs.slice(l * perLayer, (l + 1) * perLayer);
    const hidden = l < L - 1 ? spec.hidden[l] : undefined;
    const layer: Layer = {
      inputs: dims[l],
      units: dims[l + 1],
      relu: hidden?.activation === "relu",
      dropout: hidden?.dropout ?? 0,
      l2: hidden ? hidden.l2 ?? 0 : spec.outputL2 ?? 0,
      kernelVar: kernel.read() as tf.Variable,
      biasVar: bias.read() as tf.Variable,
      w,
      b,
      gw,
      gb,
      vw,
      vb,
      z,
      mask,
      out,
      dz,
    };
    w.set(layer.kernelVar.dataSync() as Float32Array);
    b.set(layer.biasVar.dataSync() as Float32Array);
    return layer;
  });

  // The updates in penalty order, and the helper's share of them and of the masks.
  const updates: ParamUpdate[] = layers.flatMap((ly) => [
    { w: ly.w, g: ly.gw, v: ly.vw, l2: ly.l2, kernel: true },
    { w: ly.b, g: ly.gb, v: ly.vb, l2: 0, kernel: false },
  ]);
  const masks: MaskBuffer[] = [
    ...(inputDropout > 0 ? [{ slot: 0, out: xMask, rate: inputDropout }] : []),
    ...layers.slice(0, L - 1).flatMap((ly, l) =>
      ly.dropout > 0 ? [{ slot: l + 1, out: ly.mask, rate: ly.dropout }] : []
    ),
  ];
  const helper = options.helper && arena ? { arena, rule, seed } : undefined;
  const assist = new StepAssist(updates, masks, update, helper);

  let released = false;
  const checkRows = (n: number): void => {
    if (released) throw new Error("fused step: the trainer was released");
    if (!(Number.isInteger(n) && n >= 1 && n <= batch)) {
      throw new Error(`fused step: batch of ${n} rows, expected 1..${batch}`);
    }
  };

  const step = (
    set: ImageSet,
    order: ArrayLike<number>,
    start: number,
    end: number,
    stepIndex: number,
    lr: number,
  ): FusedStepResult => {
    const n = end - start;
    checkRows(n);
    // Input: gathered, converted, shifted.
    const rng = shift > 0 ? new Rng(deriveSeed(seed, ...shiftStream(stepIndex))) : undefined;
    if (arena) arena.gatherShiftBatch(set.images, order, start, end, x, stage, table, rng, shift);
    else gatherShiftBatch(set.images, order, start, end, x, rng, shift);
    for (let r = 0; r < n; r++) labels[r] = set.labels[order[start + r]];
    return run(n, stepIndex, lr);
  };

  const stepBatch = (
    pixels: Float32Array,
    batchLabels: Uint8Array,
    n: number,
    stepIndex: number,
    lr: number,
  ): FusedStepResult => {
    checkRows(n);
    if (pixels.length < n * PIXELS || batchLabels.length < n) {
      throw new Error(`fused step: ${n} rows need ${n * PIXELS} pixels and ${n} labels`);
    }
    x.set(pixels.subarray(0, n * PIXELS));
    labels.set(batchLabels.subarray(0, n));
    return run(n, stepIndex, lr);
  };

  /** Forward, backward and update on the `n` rows in `x` and `labels`. */
  const run = (n: number, stepIndex: number, lr: number): FusedStepResult => {
    // The helper's masks are this step's when it drew them during the last step.
    let ahead: boolean | undefined;
    const drawMask = (slot: number, size: number, rate: number, out: Float32Array): void => {
      ahead ??= assist.masksOf(stepIndex);
      if (!ahead) makeMask(size, rate, deriveSeed(seed, ...dropoutStream(slot, stepIndex)), out);
    };
    let input = x;
    if (inputDropout > 0) {
      drawMask(0, n * PIXELS, inputDropout, xMask);
      mask(x, xMask, xDropped, n * PIXELS);
      input = xDropped;
    }
    // Forward: z = bias; z += input W (SGEMM, beta 1); relu and dropout.
    const inputs: Float32Array[] = [];
    for (let l = 0; l < L; l++) {
      const ly = layers[l];
      inputs.push(input);
      fillBiasRows(ly.z, ly.b, n);
      blas.sgemm(
        false,
        false,
        n,
        ly.units,
        ly.inputs,
        1,
        input,
        ly.inputs,
        ly.w,
        ly.units,
        1,
        ly.z,
        ly.units,
      );
      if (l === L - 1) break;
      const size = n * ly.units;
      if (ly.dropout > 0) {
        drawMask(l + 1, size, ly.dropout, ly.mask);
        forward(ly.z, size, ly.relu, ly.mask, ly.out);
        input = ly.out;
      } else {
        forward(ly.z, size, ly.relu);
        input = ly.z;
      }
    }
    // Loss and its gradient w.r.t. the logits.
    const out = layers[L - 1];
    clearUpperState(); // the softmax's Math.exp after 256-bit wasm kernels (fused_upper.ts)
    const ce = softmaxCrossEntropyGrad(out.z, labels, n, NUM_CLASSES, smoothing, out.dz);
    // Backward: weight and bias gradients, then the gradient of the layer below.
    for (let l = L - 1; l >= 0; l--) {
      const ly = layers[l];
      blas.sgemm(
        true,
        false,
        ly.inputs,
        ly.units,
        n,
        1,
        inputs[l],
        ly.inputs,
        ly.dz,
        ly.units,
        0,
        ly.gw,
        ly.units,
      );
      blas.sgemv(true, n, ly.units, 1, ly.dz, ly.units, ones, 0, ly.gb);
      if (l === 0) break;
      const below = layers[l - 1];
      blas.sgemm(
        false,
        true,
        n,
        ly.inputs,
        ly.units,
        1,
        ly.dz,
        ly.units,
        ly.w,
        ly.units,
        0,
        below.dz,
        ly.inputs,
      );
      backward(
        below.dz,
        n * below.units,
        below.z,
        below.relu,
        below.dropout > 0 ? below.mask : undefined,
      );
    }
    // Update (L2 on kernels folded in), collecting the L2 penalty: with a
    // helper, it updates its share and then draws the next step's masks.
    ahead ??= assist.masksOf(stepIndex); // no mask job may be in flight now
    const penalty = assist.update(lr, stepIndex);
    return { loss: Math.fround(ce.loss + Math.fround(penalty)), correct: ce.correct };
  };

  const writeBack = (): void => {
    for (const ly of layers) {
      tf.tidy(() => {
        ly.kernelVar.assign(tf.tensor2d(ly.w.slice(), [ly.inputs, ly.units]));
        ly.biasVar.assign(tf.tensor1d(ly.b.slice()));
      });
    }
  };

  const release = (): void => {
    if (released) return;
    released = true;
    try {
      assist.close();
    } finally {
      onHeap?.free();
    }
    if (!shared) return;
    const users = (sharedUsers.get(shared) ?? 1) - 1;
    if (users > 0) {
      sharedUsers.set(shared, users);
    } else {
      sharedUsers.delete(shared);
      shared.resetShared();
    }
  };

  return { step, stepBatch, writeBack, release, helperReady: () => assist.ready() };
}
