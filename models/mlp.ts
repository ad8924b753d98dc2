/**
 * A fully-connected classifier built from a small, validated spec: 0..5 hidden
 * layers (0 hidden layers = softmax / multinomial logistic regression), units,
 * activation, L2 and dropout per layer, seeded initializers. The network
 * outputs logits; {@link predictProbabilities} applies the softmax.
 *
 * ```ts
 * import { buildMlp, describeMlp, type MlpSpec } from "./mlp.ts";
 *
 * const spec: MlpSpec = { hidden: [{ units: 1024, activation: "relu", dropout: 0.5 }] };
 * const model = buildMlp(spec, 42);
 * console.log(describeMlp(spec)); // 784-1024-10 relu, dropout 0.5
 * model.dispose();
 * ```
 *
 * What the common notebook gets wrong and this module refuses: `softmax` as a
 * hidden activation (it squashes a layer to a probability vector, which starves
 * the next layer of signal), and a single shared dropout object reused across
 * layers - here each dropout is its own {@link SeededDropout} layer.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { NUM_CLASSES, PIXELS } from "../data/types.ts";
import { deriveSeed } from "../utils/rng.ts";
import { initStream } from "../utils/seed_streams.ts";
import { SeededDropout } from "./dropout.ts";

/**
 * A network: a tfjs layers model that maps N x 784 pixels in [0, 1] to N x 10
 * logits. Wraps the tfjs model so that this package's API does not expose
 * tfjs types; {@link Network.layers} gives the tfjs model itself.
 */
export class Network {
  #model: tfl.LayersModel;

  /** Wraps a tfjs `LayersModel` (as built by {@link buildMlp} or loaded from `model.json`). */
  constructor(model: unknown) {
    if (!(model instanceof tfl.LayersModel)) {
      throw new Error("Network expects a tfjs LayersModel");
    }
    const out = model.outputs[0]?.shape;
    if (model.outputs.length !== 1 || out?.[out.length - 1] !== NUM_CLASSES) {
      throw new Error(`Network expects one output of ${NUM_CLASSES} logits, got ${out}`);
    }
    this.#model = model;
  }

  /**
   * The tfjs model (outputs logits).
   * @ignore
   */
  get layers(): tfl.LayersModel {
    return this.#model;
  }

  /** Number of trainable parameters. */
  countParams(): number {
    return this.#model.countParams();
  }

  /**
   * Shapes of the weight arrays: the trainable ones in layer order (kernel,
   * bias or batch-norm gamma and beta, ...), then the batch-norm moving
   * means and variances.
   */
  weightShapes(): number[][] {
    return this.#model.getWeights().map((w) => [...w.shape]);
  }

  /** Copies of the weight values, in the order of {@link Network.weightShapes}. */
  weights(): Float32Array[] {
    return this.#model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
  }

  /** Frees the network's tensors; the network is unusable afterwards. */
  dispose(): void {
    this.#model.dispose();
  }
}

/** Hidden-layer activations. `softmax` is deliberately not one of them. */
export const ACTIVATIONS = ["relu", "elu", "selu", "sigmoid", "tanh", "linear"] as const;

/** A hidden-layer activation. */
export type Activation = typeof ACTIVATIONS[number];

/** Weight initialization schemes; `auto` picks by activation. */
export const INITIALIZERS = ["auto", "he", "glorot", "lecun"] as const;

/** A weight initialization scheme. */
export type Initializer = typeof INITIALIZERS[number];

/** Largest number of hidden layers. */
export const MAX_HIDDEN_LAYERS = 5;

/** Largest number of units per hidden layer. */
export const MAX_UNITS = 4096;

/** One hidden layer. */
export interface HiddenLayerSpec {
  /** Number of units, 1..4096. */
  units: number;
  /** Activation function. */
  activation: Activation;
  /** L2 coefficient on this layer's kernel: the loss gets `l2 * sum(W^2)` (default 0). */
  l2?: number;
  /** Dropout rate after this layer's activation, in [0, 1) (default 0 = none). */
  dropout?: number;
  /** Max-norm constraint: each unit's incoming weight vector is rescaled to norm <= this after every step. */
  maxNorm?: number;
  /**
   * Batch normalization between the layer's product and its activation (the
   * dense layer then has no bias; default false). Moving averages use momentum 0.99.
   */
  batchNorm?: boolean;
}

/**
 * A network: the input is 784 pixels scaled to [0, 1], the output 10 logits.
 * New optional fields may be added later without breaking existing specs.
 */
export interface MlpSpec {
  /** Hidden layers, 0..5 of them (none = logistic regression). */
  hidden: HiddenLayerSpec[];
  /** Dropout on the input pixels, in [0, 1) (default 0). */
  inputDropout?: number;
  /** L2 coefficient on the output layer's kernel (default 0). */
  outputL2?: number;
  /** Max-norm constraint on the output layer's kernel columns (default none). */
  outputMaxNorm?: number;
  /** Initializer for all kernels (default `auto`: He for relu/elu, LeCun for selu, Glorot otherwise). */
  init?: Initializer;
}

function checkRate(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !(value >= 0 && value < 1)) {
    throw new Error(`${field} must be a number in [0, 1), got ${value}`);
  }
}

function checkL2(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new Error(`${field} must be a number in [0, 1], got ${value}`);
  }
}

function checkMaxNorm(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${field} must be a positive number, got ${value}`);
  }
}

/**
 * Throws an error naming the offending field (e.g. `hidden[2].units must be an
 * integer in 1..4096, got 0`) when `spec` is not a valid {@link MlpSpec}.
 */
export function validateMlpSpec(spec: MlpSpec): void {
  if (spec === null || typeof spec !== "object") throw new Error("MLP spec must be an object");
  if (!Array.isArray(spec.hidden)) {
    throw new Error(
      `hidden must be an array of layers (0..${MAX_HIDDEN_LAYERS}), got ${spec.hidden}`,
    );
  }
  if (spec.hidden.length > MAX_HIDDEN_LAYERS) {
    throw new Error(
      `hidden must have 0..${MAX_HIDDEN_LAYERS} layers, got ${spec.hidden.length}`,
    );
  }
  spec.hidden.forEach((layer, i) => {
    const where = `hidden[${i}]`;
    if (layer === null || typeof layer !== "object") throw new Error(`${where} must be an object`);
    if (!Number.isInteger(layer.units) || layer.units < 1 || layer.units > MAX_UNITS) {
      throw new Error(`${where}.units must be an integer in 1..${MAX_UNITS}, got ${layer.units}`);
    }
    if ((layer.activation as string) === "softmax") {
      throw new Error(
        `${where}.activation "softmax" is not allowed in a hidden layer: it squashes the layer ` +
          `into a probability vector and starves the next layer of signal; softmax belongs only ` +
          `at the output (which this model adds itself). Use one of: ${ACTIVATIONS.join(", ")}`,
      );
    }
    if (!(ACTIVATIONS as readonly string[]).includes(layer.activation)) {
      throw new Error(
        `${where}.activation must be one of ${ACTIVATIONS.join(", ")}, got ${
          JSON.stringify(layer.activation)
        }`,
      );
    }
    checkL2(layer.l2, `${where}.l2`);
    checkRate(layer.dropout, `${where}.dropout`);
    checkMaxNorm(layer.maxNorm, `${where}.maxNorm`);
    if (layer.batchNorm !== undefined && typeof layer.batchNorm !== "boolean") {
      throw new Error(`${where}.batchNorm must be a boolean, got ${layer.batchNorm}`);
    }
  });
  checkRate(spec.inputDropout, "inputDropout");
  checkL2(spec.outputL2, "outputL2");
  checkMaxNorm(spec.outputMaxNorm, "outputMaxNorm");
  if (spec.init !== undefined && !(INITIALIZERS as readonly string[]).includes(spec.init)) {
    throw new Error(
      `init must be one of ${INITIALIZERS.join(", ")}, got ${JSON.stringify(spec.init)}`,
    );
  }
}

function initializerFor(
  init: Initializer,
  activation: Activation | "output",
  seed: number,
): ReturnType<typeof tfl.initializers.heNormal> {
  let kind = init;
  if (kind === "auto") {
    kind = activation === "relu" || activation === "elu"
      ? "he"
      : activation === "selu"
      ? "lecun"
      : "glorot";
  }
  if (kind === "he") return tfl.initializers.heNormal({ seed });
  if (kind === "lecun") return tfl.initializers.leCunNormal({ seed });
  return tfl.initializers.glorotUniform({ seed });
}

/** Name of the `i`-th (0-based) hidden dense layer in a built model. */
export function hiddenLayerName(i: number): string {
  return `hidden${i + 1}`;
}

/** Name of the output (logits) layer. */
export const OUTPUT_LAYER = "logits";

/**
 * Builds the network for `spec`, with every kernel initialized from a seed
 * derived from `seed` (so the same seed gives the same initial weights).
 * Biases start at zero. The output layer is linear: it returns logits.
 */
export function buildMlp(spec: MlpSpec, seed: number): Network {
  validateMlpSpec(spec);
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const init = spec.init ?? "auto";
  const model = tfl.sequential({ name: "mlp" });
  model.add(tfl.layers.inputLayer({ inputShape: [PIXELS], name: "pixels" }));
  let dropoutIndex = 0;
  const addDropout = (rate: number | undefined, name: string) => {
    if (rate !== undefined && rate > 0) {
      model.add(new SeededDropout({ rate, runSeed: seed, layerIndex: dropoutIndex, name }));
    }
    dropoutIndex++;
  };
  addDropout(spec.inputDropout, "input_dropout");
  spec.hidden.forEach((layer, i) => {
    const name = hiddenLayerName(i);
    const kernelInitializer = initializerFor(
      init,
      layer.activation,
      deriveSeed(seed, ...initStream(i)),
    );
    if (layer.batchNorm) {
      model.add(tfl.layers.dense({
        units: layer.units,
        activation: "linear",
        useBias: false,
        kernelInitializer,
        name,
      }));
      model.add(
        tfl.layers.batchNormalization({ momentum: 0.99, epsilon: 1e-3, name: `${name}_bn` }),
      );
      model.add(tfl.layers.activation({ activation: layer.activation, name: `${name}_act` }));
    } else {
      model.add(tfl.layers.dense({
        units: layer.units,
        activation: layer.activation,
        kernelInitializer,
        biasInitializer: "zeros",
        name,
      }));
    }
    addDropout(layer.dropout, `${name}_dropout`);
  });
  model.add(tfl.layers.dense({
    units: NUM_CLASSES,
    activation: "linear",
    kernelInitializer: initializerFor(
      init,
      "output",
      deriveSeed(seed, ...initStream(spec.hidden.length)),
    ),
    biasInitializer: "zeros",
    name: OUTPUT_LAYER,
  }));
  return new Network(model);
}

/**
 * A dense layer's kernel with its L2 coefficient and max-norm, as the training loop needs them.
 * @ignore
 */
export interface KernelInfo {
  /** Layer name. */
  layer: string;
  /** The kernel variable (inputs x units). */
  kernel: tf.Variable;
  /** L2 coefficient (0 = none). */
  l2: number;
  /** Max-norm bound (undefined = none). */
  maxNorm?: number;
}

/**
 * The kernels of `net` (built by {@link buildMlp} from `spec`) with their L2 and max-norm settings.
 * @ignore
 */
export function kernels(net: Network, spec: MlpSpec): KernelInfo[] {
  const model = net.layers;
  const settings = [
    ...spec.hidden.map((h, i) => ({ name: hiddenLayerName(i), l2: h.l2 ?? 0, maxNorm: h.maxNorm })),
    { name: OUTPUT_LAYER, l2: spec.outputL2 ?? 0, maxNorm: spec.outputMaxNorm },
  ];
  return settings.map(({ name, l2, maxNorm }) => {
    const layer = model.getLayer(name);
    const kernel = layer.trainableWeights.find((w) => w.shape.length === 2);
    if (kernel === undefined) throw new Error(`layer ${name} has no kernel`);
    return { layer: name, kernel: kernel.read() as tf.Variable, l2, maxNorm };
  });
}

/**
 * The explicit L2 penalty `sum_l l2_l * sum(W_l^2)` as a scalar (zero when no layer has L2).
 * @ignore
 */
export function l2Penalty(infos: KernelInfo[]): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Scalar = tf.scalar(0);
    for (const { kernel, l2 } of infos) {
      if (l2 > 0) total = tf.add(total, tf.mul(l2, tf.sum(tf.square(kernel))));
    }
    return total;
  });
}

/**
 * Rescales each unit's incoming weights to norm <= maxNorm, for every kernel that has one.
 * @ignore
 */
export function applyMaxNorm(infos: KernelInfo[]): void {
  for (const { kernel, maxNorm } of infos) {
    if (maxNorm === undefined) continue;
    tf.tidy(() => {
      const norms = tf.sqrt(tf.sum(tf.square(kernel), 0, true));
      const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norms, 1e-7)));
      kernel.assign(tf.mul(kernel, scale));
    });
  }
}

/** Short human name, e.g. `784-1024-10 relu, dropout 0.5` or `logistic regression (784-10)`. */
export function describeMlp(spec: MlpSpec): string {
  if (spec.hidden.length === 0) {
    return `logistic regression (${PIXELS}-${NUM_CLASSES})` +
      (spec.outputL2 ? `, L2 ${spec.outputL2}` : "");
  }
  const sizes = [PIXELS, ...spec.hidden.map((h) => h.units), NUM_CLASSES].join("-");
  const acts = [...new Set(spec.hidden.map((h) => h.activation))].join("/");
  const drops = [...new Set(spec.hidden.map((h) => h.dropout ?? 0))];
  const l2s = [...new Set([...spec.hidden.map((h) => h.l2 ?? 0), spec.outputL2 ?? 0])];
  let s = `${sizes} ${acts}`;
  if (spec.hidden.some((h) => h.batchNorm)) s += ", batch norm";
  if (spec.inputDropout) s += `, input dropout ${spec.inputDropout}`;
  if (drops.some((d) => d > 0)) s += `, dropout ${drops.join("/")}`;
  if (l2s.some((l) => l > 0)) s += `, L2 ${l2s.join("/")}`;
  return s;
}

/** Number of trainable parameters of the network for `spec`. */
export function parameterCount(spec: MlpSpec): number {
  let prev = PIXELS;
  let n = 0;
  for (const h of spec.hidden) {
    // Dense kernel + bias, or kernel + batch-norm gamma and beta (trainable).
    n += prev * h.units + (h.batchNorm ? 2 * h.units : h.units);
    prev = h.units;
  }
  return n + prev * NUM_CLASSES + NUM_CLASSES;
}

/**
 * Every {@link SeededDropout} layer of `net`, in order.
 * @ignore
 */
export function dropoutLayers(net: Network): SeededDropout[] {
  return net.layers.layers.filter((l): l is SeededDropout => l instanceof SeededDropout);
}

/** Sets the training step of every dropout layer of `net` (done before each minibatch). */
export function setDropoutStep(net: Network, step: number): void {
  for (const layer of dropoutLayers(net)) layer.step = step;
}
