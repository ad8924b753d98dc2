/**
 * The grader's evaluation of one sandboxed run of a task: predictions checked
 * and measured per role on every split, the test block cut back into its
 * parts (`checks/test_block.ts`), digests for the repeat check.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ImageSet } from "../data/types.ts";
import {
  evaluate,
  type Evaluation,
  PredictionError,
  type PredictionFailureKind,
  validatePredictions,
} from "./evaluate.ts";
import type { SandboxResult } from "./sandbox/mod.ts";
import type { TaskOutcome } from "./rubric/score.ts";
import type { RunRecord } from "./report/types.ts";
import { partPredictions, type TestBlock, type TestPart, testPart } from "./checks/test_block.ts";

function digest(a: Float32Array): string {
  return createHash("sha256").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest(
    "hex",
  );
}

/** One run of a task, evaluated: its record, its outcome, the evaluations per role. */
export interface RunEvaluation {
  /** The run's record (metrics, digests, failure). */
  record: RunRecord;
  /** What the rubric scores. */
  outcome: TaskOutcome;
  /** The credited test evaluation of each role. */
  evaluations: Record<string, Evaluation>;
  /** The sandbox's result. */
  sandbox: SandboxResult;
}

/**
 * Evaluates one sandboxed run: each role's predictions on the training
 * images handed over, the validation split and the test block (public test,
 * perturbed copies, hidden set), cut into parts; test accuracy for credit is
 * the hidden set's when there is one. Never throws on bad predictions.
 */
export function evaluateRun(
  run: number,
  sandbox: SandboxResult,
  train: ImageSet,
  valid: ImageSet,
  block: TestBlock,
): RunEvaluation {
  const record: RunRecord = {
    run,
    roleErrors: { ...sandbox.roleErrors },
    metrics: {},
    digests: {},
    backend: sandbox.backend?.name,
    wallSeconds: sandbox.wallSeconds,
    trainSeconds: sandbox.trainSeconds,
    permissions: sandbox.permissions,
  };
  const evaluations: Record<string, Evaluation> = {};
  const predictionFailures: Record<string, PredictionFailureKind> = {};
  if (sandbox.failure) {
    record.failureKind = sandbox.failure.kind;
    record.error = `${sandbox.failure.kind}: ${sandbox.failure.message}`;
  } else {
    for (const [role, r] of Object.entries(sandbox.roles)) {
      try {
        const what = (split: string) => `role "${role}" (${r.info.name}) on the ${split} images`;
        const probs = r.predictions.test;
        validatePredictions(probs, block.count, what("test"));
        const on = (part: TestPart) =>
          evaluate(partPredictions(probs, part), part.set.labels, part.set.count, what(part.name));
        const hiddenPart = testPart(block, "hidden");
        const perturbedPart = testPart(block, "perturbed");
        const pub = on(block.parts[0]);
        const test = hiddenPart ? on(hiddenPart) : pub;
        const tr = evaluate(r.predictions.train, train.labels, train.count, what("train"));
        const va = evaluate(r.predictions.valid, valid.labels, valid.count, what("valid"));
        evaluations[role] = test;
        record.metrics[role] = {
          name: r.info.name,
          testAccuracy: test.accuracy,
          trainAccuracy: tr.accuracy,
          validAccuracy: va.accuracy,
          publicTestAccuracy: hiddenPart ? pub.accuracy : undefined,
          perturbedAccuracy: perturbedPart ? on(perturbedPart).accuracy : undefined,
        };
        record.digests[role] = [r.predictions.test, r.predictions.train, r.predictions.valid]
          .map(digest).join(":");
      } catch (err) {
        const kind = err instanceof PredictionError ? err.kind : "exception";
        if (err instanceof PredictionError) predictionFailures[role] = err.kind;
        record.roleErrors[role] = `${kind}: ${(err as Error).message}`;
      }
    }
    if (!record.metrics.main) {
      const why = record.roleErrors.main ?? "the task returned no `main` model";
      record.error = why;
      record.failureKind = predictionFailures.main ?? "contract";
    }
  }
  if (!sandbox.backend) {
    const cfg = sandbox.roles.main?.info.config;
    if (cfg && typeof cfg.backend === "string") record.backend = cfg.backend;
  }
  const outcome: TaskOutcome = {
    metrics: record.error ? undefined : record.metrics,
    error: record.error,
    roleErrors: record.roleErrors,
    testCount: (testPart(block, "hidden") ?? block.parts[0]).set.count,
  };
  return { record, outcome, evaluations, sandbox };
}
