/**
 * The training loop's progress reporting: the run's header, a progress bar on
 * a terminal, one line per epoch, the final-weights line, and
 * {@link logReporter}, the default {@link TrainReporter} that prints them.
 *
 * @module
 */
import type { EpochRecord } from "../epoch_record.ts";
import { describeOptimizer } from "../optimizers.ts";
import { describeSchedule } from "../schedules.ts";
import type { BatchProgress, FinalWeights, TrainReporter, TrainStart } from "./config.ts";

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

/** A one-line progress bar redrawn in place on stderr. */
class ProgressBar {
  #last = 0;
  readonly #enc = new TextEncoder();

  draw(text: string, force = false): void {
    const now = performance.now();
    if (!force && now - this.#last < 150) return;
    this.#last = now;
    Deno.stderr.writeSync(this.#enc.encode(`\r\x1b[2K${text}`));
  }

  clear(): void {
    Deno.stderr.writeSync(this.#enc.encode("\r\x1b[2K"));
  }
}

function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** The run's header line, e.g. `training: 2000 images, 2 epochs of 16 batches of 128, ...`. */
export function formatStart(s: TrainStart): string {
  const c = s.config;
  return `training: ${s.count} images, ${s.epochs} epochs of ${s.stepsPerEpoch} batches of ` +
    `${c.batchSize}, ${describeOptimizer(c.optimizer)}, lr ${describeSchedule(c.schedule)}` +
    ((c.scheduleUpdate ?? "epoch") === "step" ? " (per step)" : "") +
    `, seed ${c.seed}, backend ${s.backend}${s.fusedStep ? " (fused step)" : ""}`;
}

/** The progress bar's text for one minibatch. */
export function formatBatch(p: BatchProgress): string {
  const done = (p.epoch * p.stepsPerEpoch + p.batch + 1) / (p.epochs * p.stepsPerEpoch);
  const width = 24;
  const filled = Math.round(((p.batch + 1) / p.stepsPerEpoch) * width);
  return `epoch ${p.epoch + 1}/${p.epochs} [${"=".repeat(filled)}${" ".repeat(width - filled)}] ` +
    `batch ${p.batch + 1}/${p.stepsPerEpoch}  loss ${p.loss.toFixed(4)}  ` +
    `acc ${p.accuracy.toFixed(4)}  ETA ${
      formatSeconds(p.elapsedSeconds / done - p.elapsedSeconds)
    }`;
}

/** The line saying which weights the model ends with. */
export function formatFinalWeights(f: FinalWeights): string {
  return f.kind === "average"
    ? `final weights: average of the last ${f.epochs} epochs' weights`
    : `final weights: epoch ${f.epoch}, best valid accuracy ${f.validAccuracy.toFixed(4)}`;
}

/**
 * The default reporter: the header, one line per epoch and the final-weights
 * line go to `log`; with `progress` (default: when stderr is a terminal) a
 * progress bar with the ETA is redrawn on stderr during each epoch.
 */
export function logReporter(
  log: (line: string) => void = () => {},
  progress: boolean = stderrIsTerminal(),
): TrainReporter {
  const bar = progress ? new ProgressBar() : undefined;
  return {
    onStart: (s) => log(formatStart(s)),
    onBatch: bar ? (p) => bar.draw(formatBatch(p), p.batch + 1 === p.stepsPerEpoch) : undefined,
    onEpoch: (record, epochs) => {
      bar?.clear();
      log(formatEpoch(record, epochs));
    },
    onFinalWeights: (f) => log(formatFinalWeights(f)),
    onError: () => bar?.clear(),
  };
}

/** Formats one epoch record as the line printed when not on a terminal. */
export function formatEpoch(r: EpochRecord, epochs: number): string {
  return `epoch ${String(r.epoch).padStart(String(epochs).length)}/${epochs}` +
    `  lr ${r.learningRate.toPrecision(3)}  loss ${r.loss.toFixed(4)}` +
    `  train acc ${r.trainAccuracy.toFixed(4)}  valid loss ${r.validLoss.toFixed(4)}` +
    `  valid acc ${r.validAccuracy.toFixed(4)}  ${r.seconds.toFixed(1)}s` +
    `  ${Math.round(r.samplesPerSecond)} samples/s`;
}
