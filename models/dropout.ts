/**
 * A seeded dropout layer whose mask changes at every training step yet repeats
 * across runs.
 *
 * tfjs's stock `tf.layers.dropout({rate, seed})` passes the same fixed seed to
 * the random generator at every call, so with a seed it drops the *same* units
 * at every step (tests/model_dropout_test.ts shows it) - and without a seed it
 * uses `Math.random`, which is not reproducible. {@link SeededDropout} instead
 * draws each step's mask from an {@link Rng} seeded with
 * `deriveSeed(runSeed, ...dropoutStream(layerIndex, step))`, where
 * the training loop advances `step` before each minibatch.
 *
 * Inverted dropout: kept activations are scaled by `1 / (1 - rate)` during
 * training; at inference the layer is the identity.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { deriveSeed, Rng } from "../utils/rng.ts";
import { dropoutStream } from "../utils/seed_streams.ts";

type BaseLayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

/**
 * An inverted-dropout mask of `size` values: each is 0 with probability
 * `rate`, else `1 / (1 - rate)`, drawn from an {@link Rng} seeded with `seed`.
 * (The project's own generator rather than tfjs's `randomUniform`, so masks
 * do not depend on tfjs internals; both take about 1 ms per 65k values here.)
 * Writes into `out` (its first `size` values) when given, e.g. a buffer reused
 * across steps.
 */
export function dropoutMask(
  size: number,
  rate: number,
  seed: number,
  out?: Float32Array,
): Float32Array {
  if (out !== undefined && out.length < size) {
    throw new Error(`dropoutMask: out holds ${out.length} values, ${size} needed`);
  }
  const mask = out ?? new Float32Array(size);
  const keep = 1 / (1 - rate);
  // Unsigned `t < floor(rate * 2^32)` as a signed int32 comparison with both
  // sides' top bit flipped (same result; stays in int32 arithmetic in V8).
  const threshold = (Math.floor(rate * 4294967296) ^ 0x80000000) | 0;
  // sfc32 in local variables, its state drawn from an Rng seeded with `seed`.
  const rng = new Rng(seed);
  let a = rng.nextUint32() | 0;
  let b = rng.nextUint32() | 0;
  let c = rng.nextUint32() | 0;
  let d = rng.nextUint32() | 0;
  for (let i = 0; i < size; i++) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    mask[i] = (t ^ 0x80000000) < threshold ? 0 : keep;
  }
  return mask;
}

/**
 * Configuration of a {@link SeededDropout} layer (as stored in `model.json`).
 * @ignore
 */
export interface SeededDropoutArgs extends BaseLayerArgs {
  /** Fraction of units dropped during training, in [0, 1). */
  rate: number;
  /** The run's seed. */
  runSeed: number;
  /** Position of this dropout layer in the network (0 = input dropout). */
  layerIndex: number;
}

/**
 * Dropout with a fresh, reproducible mask per training step (a tfjs layer,
 * registered for serialization as `SeededDropout`).
 * @ignore
 */
export class SeededDropout extends tfl.layers.Layer {
  /** Name under which the class is registered for (de)serialization. */
  static className = "SeededDropout";
  /** Fraction of units dropped during training. */
  readonly rate: number;
  /** The run's seed. */
  readonly runSeed: number;
  /** Position of this dropout layer in the network. */
  readonly layerIndex: number;
  /** Current training step; the training loop sets it before each minibatch. */
  step = 0;

  /** Creates the layer; throws naming the field on an invalid rate or seed. */
  constructor(args: SeededDropoutArgs) {
    super(args);
    if (typeof args.rate !== "number" || !(args.rate >= 0 && args.rate < 1)) {
      throw new Error(`dropout rate must be a number in [0, 1), got ${args.rate}`);
    }
    if (!Number.isInteger(args.runSeed)) {
      throw new Error(`dropout runSeed must be an integer, got ${args.runSeed}`);
    }
    this.rate = args.rate;
    this.runSeed = args.runSeed;
    this.layerIndex = args.layerIndex;
    this.supportsMasking = true;
  }

  /** The seed of the mask used at `step`. */
  maskSeed(step: number): number {
    return deriveSeed(this.runSeed, ...dropoutStream(this.layerIndex, step));
  }

  /** Identity at inference; inverted dropout with this step's mask when `kwargs.training`. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs["training"] !== true || this.rate === 0) return x.clone();
    const mask = dropoutMask(x.size, this.rate, this.maskSeed(this.step));
    return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape, "float32")));
  }

  /** Serializable configuration (rate, seed, layer index). */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      rate: this.rate,
      runSeed: this.runSeed,
      layerIndex: this.layerIndex,
    };
  }
}

tf.serialization.registerClass(SeededDropout);
