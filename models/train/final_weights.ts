/**
 * The final-weights policies of the training loop: the running average of the
 * last epochs' weights (`averageLast`) and the best epoch's weights
 * (`restoreBest`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Running sum of the end-of-epoch weights of the last `last` epochs
 * (`averageLast`): `add()` after each of those epochs, `assignMean()` once at
 * the end, `dispose()` always.
 */
export function weightAverager(
  variables: tf.Variable[],
  last: number,
): { add(): void; assignMean(): void; dispose(): void } {
  const sums: tf.Tensor[] = variables.map((v) => tf.zerosLike(v));
  return {
    add() {
      variables.forEach((v, i) => {
        const next = tf.add(sums[i], v);
        sums[i].dispose();
        sums[i] = next;
      });
    },
    assignMean() {
      variables.forEach((v, i) => {
        const mean = tf.div(sums[i], last);
        v.assign(mean);
        mean.dispose();
      });
    },
    dispose: () => tf.dispose(sums),
  };
}

/**
 * Keeps a copy of every weight (batch-norm statistics included) of the epoch
 * with the best validation accuracy (`restoreBest`; first one on ties):
 * `offer()` after each epoch's validation, `restore()` once at the end (returns
 * the epoch restored), `dispose()` always.
 */
export function bestEpochKeeper(weights: tf.Variable[]): {
  offer(epoch: number, accuracy: number): void;
  restore(): { epoch: number; accuracy: number } | undefined;
  dispose(): void;
} {
  let best: { epoch: number; accuracy: number; weights: tf.Tensor[] } | undefined;
  return {
    offer(epoch, accuracy) {
      if (best !== undefined && !(accuracy > best.accuracy)) return;
      if (best) tf.dispose(best.weights);
      best = { epoch, accuracy, weights: weights.map((w) => w.clone()) };
    },
    restore() {
      if (!best) return undefined;
      const kept = best;
      weights.forEach((w, i) => w.assign(kept.weights[i]));
      return { epoch: kept.epoch, accuracy: kept.accuracy };
    },
    dispose() {
      if (best) tf.dispose(best.weights);
    },
  };
}
