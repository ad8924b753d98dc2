/**
 * One epoch of a training history: what the training loop records, the task
 * interface hands back and the pictures draw.
 *
 * @module
 */

/** One epoch of training history. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's minibatches (data loss + L2 penalty). */
  loss: number;
  /** Training accuracy measured during the epoch (dropout active). */
  trainAccuracy: number;
  /** Validation loss at the end of the epoch. */
  validLoss: number;
  /** Validation accuracy at the end of the epoch. */
  validAccuracy: number;
  /** Learning rate used during this epoch (the mean over its steps when it changes per step). */
  learningRate: number;
  /**
   * Momentum coefficient used during this epoch: 0 for plain SGD. Optional: a
   * history written before it was recorded (or by hand) has none, and the
   * pictures then draw the rate alone.
   */
  momentum?: number;
  /** Wall-clock seconds for the epoch (training and validation). */
  seconds: number;
  /** Training samples per second during the epoch. */
  samplesPerSecond: number;
}
