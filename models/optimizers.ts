/**
 * Optimizers: plain SGD and SGD with (optionally Nesterov) momentum, built on
 * tfjs-core's optimizers. The learning rate is not part of the spec: the
 * training loop sets it from the {@link Schedule} before each epoch (or step)
 * with {@link setLearningRate}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Plain minibatch SGD: `w -= lr * g`. */
export interface SgdSpec {
  /** Optimizer kind. */
  kind: "sgd";
}

/**
 * SGD with momentum (tfjs convention): `v = m * v + g; w -= lr * v`, or with
 * Nesterov `w -= lr * (g + m * v)`.
 */
export interface MomentumSpec {
  /** Optimizer kind. */
  kind: "momentum";
  /** Momentum coefficient in [0, 1), e.g. 0.9. */
  momentum: number;
  /** Nesterov's look-ahead variant (default false). */
  nesterov?: boolean;
}

/** Any optimizer spec. */
export type OptimizerSpec = SgdSpec | MomentumSpec;

/** Throws an error naming the field when `spec` is invalid. */
export function validateOptimizer(spec: OptimizerSpec, where = "optimizer"): void {
  if (spec === null || typeof spec !== "object") throw new Error(`${where} must be an object`);
  if (spec.kind === "sgd") return;
  if (spec.kind === "momentum") {
    const m = spec.momentum;
    if (typeof m !== "number" || !(m >= 0 && m < 1)) {
      throw new Error(`${where}.momentum must be a number in [0, 1), got ${m}`);
    }
    if (spec.nesterov !== undefined && typeof spec.nesterov !== "boolean") {
      throw new Error(`${where}.nesterov must be a boolean, got ${spec.nesterov}`);
    }
    return;
  }
  throw new Error(
    `${where}.kind must be "sgd" or "momentum", got ${
      JSON.stringify((spec as { kind: unknown }).kind)
    }`,
  );
}

/** Creates the tfjs optimizer for `spec`, starting at `learningRate`. Dispose it after training.
 * @ignore
 */
export function createOptimizer(spec: OptimizerSpec, learningRate: number): tf.SGDOptimizer {
  validateOptimizer(spec);
  if (spec.kind === "sgd") return tf.train.sgd(learningRate);
  return tf.train.momentum(learningRate, spec.momentum, spec.nesterov ?? false);
}

/** Sets the rate used by the next updates of `optimizer`.
 * @ignore
 */
export function setLearningRate(optimizer: tf.SGDOptimizer, learningRate: number): void {
  if (!Number.isFinite(learningRate) || learningRate < 0) {
    throw new Error(`learning rate must be a finite number >= 0, got ${learningRate}`);
  }
  optimizer.setLearningRate(learningRate);
}

/**
 * Frees the optimizer's tensors. tfjs's `MomentumOptimizer.dispose` forgets
 * the learning-rate scalar it inherits from `SGDOptimizer`; this frees it too.
 * @ignore
 */
export function disposeOptimizer(optimizer: tf.SGDOptimizer): void {
  optimizer.dispose();
  if (optimizer instanceof tf.MomentumOptimizer) tf.SGDOptimizer.prototype.dispose.call(optimizer);
}

/** The momentum coefficient of `spec`: 0 for plain SGD. */
export function momentumOf(spec: OptimizerSpec): number {
  return spec.kind === "momentum" ? spec.momentum : 0;
}

/** One-line human description, e.g. `momentum 0.9 (Nesterov)`. */
export function describeOptimizer(spec: OptimizerSpec): string {
  return spec.kind === "sgd"
    ? "plain SGD"
    : `SGD + momentum ${spec.momentum}${spec.nesterov ? " (Nesterov)" : ""}`;
}
