/**
 * The control run: the task trained once more on the same training images
 * (and validation images) with the classes relabelled by the seeded bijection
 * of `relabel.ts`, then asked for predictions on the public test images. A
 * module that learns from what it is handed predicts the relabelled classes;
 * one that ignores its input (a table, nearest neighbours over public images,
 * weights trained elsewhere) keeps predicting the true ones. Both agreements
 * are measured here; `grader/rubric/integrity.ts` judges them.
 *
 * @module
 */
import type { ImageSet } from "../../data/types.ts";
import { NUM_CLASSES } from "../../data/types.ts";
import { evaluate, validatePredictions } from "../evaluate.ts";
import { runSandboxed, type SandboxRequest } from "../sandbox/mod.ts";
import type { ControlResult } from "../rubric/integrity.ts";
import { controlBijection, relabel } from "./relabel.ts";

/** Agreement of `probs`' argmax with `labels` (`probs` already validated). */
function agreement(probs: Float32Array, labels: Uint8Array, count: number): number {
  let hits = 0;
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let c = 1; c < NUM_CLASSES; c++) {
      if (probs[i * NUM_CLASSES + c] > probs[i * NUM_CLASSES + best]) best = c;
    }
    if (best === labels[i]) hits++;
  }
  return count === 0 ? 0 : hits / count;
}

/**
 * Scores control predictions of the public test images against the true
 * labels and against the relabelled ones (`perm` maps a true class to its
 * control label). Throws a `PredictionError` on malformed predictions.
 */
export function scoreControl(
  probs: Float32Array,
  test: ImageSet,
  perm: Uint8Array,
): { trueAgreement: number; relabelledAccuracy: number } {
  validatePredictions(probs, test.count, `control run: role "main" on the test images`);
  const relabelled = relabel(test, perm);
  return {
    trueAgreement: agreement(probs, test.labels, test.count),
    relabelledAccuracy: evaluate(probs, relabelled.labels, test.count).accuracy,
  };
}

/**
 * Runs the control run: `request` is the graded run's request, whose
 * train and valid labels are relabelled (bijection of `seed`), whose test
 * images become the public test split's, and whose output goes to `outDir`.
 */
export async function runControl(
  request: SandboxRequest,
  test: ImageSet,
  seed: number,
  outDir: string,
): Promise<ControlResult> {
  const perm = controlBijection(seed);
  const sandbox = await runSandboxed({
    ...request,
    train: relabel(request.train, perm),
    valid: relabel(request.valid, perm),
    testImages: { images: test.images, count: test.count },
    outDir,
    onLine: undefined,
  });
  const wallSeconds = sandbox.wallSeconds;
  if (sandbox.failure) {
    return { wallSeconds, error: `${sandbox.failure.kind}: ${sandbox.failure.message}` };
  }
  const main = sandbox.roles.main;
  if (!main) {
    return { wallSeconds, error: sandbox.roleErrors.main ?? "no `main` model returned" };
  }
  try {
    return { wallSeconds, ...scoreControl(main.predictions.test, test, perm) };
  } catch (err) {
    return { wallSeconds, error: (err as Error).message };
  }
}
