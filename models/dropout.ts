/**
 * A seeded dropout layer whose mask changes at every training step yet repeats
 * across runs.
 *
 * tfjs's stock `tf.layers.dropout({rate, seed})` passes the same fixed seed to
 * the random generator at every call, so with a seed it drops the *same* units
 * at every step (tests/model_dropout_test.ts shows it) - and without a seed it
 * uses `Math.random`, which is not reproducible. {@link SeededDropout} instead
 * draws each step's mask from `deriveSeed(runSeed, layerIndex, step)`, where
 * the training loop advances `step` before each minibatch.
 *
 * Inverted dropout: kept activations are scaled by `1 / (1 - rate)` during
 * training; at inference the layer is the identity.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { deriveSeed } from "../utils/rng.ts";
import type { Network } from "./mlp.ts";

type BaseLayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

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
    return deriveSeed(this.runSeed, this.layerIndex, step);
  }

  /** Identity at inference; inverted dropout with this step's mask when `kwargs.training`. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs["training"] !== true || this.rate === 0) return x.clone();
    return tf.dropout(x, this.rate, undefined, this.maskSeed(this.step));
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
