/**
 * Integrity checks of a graded task: the rubric's policy, the flags raised
 * from the grader's measurements, and what a flag does to the task's tests.
 *
 * Three measurements, all the grader's own (nothing the student reports):
 * - the drop in test accuracy from the public test images to perturbed copies
 *   of them (one-pixel shifts, faint noise: `data/perturb.ts`): a classifier
 *   loses a few points, a table of the public images collapses to chance;
 * - test accuracy far above the full-credit line (what the lab's own models
 *   reach on the same budget);
 * - the control run (`grader/checks/control.ts`): the task trained again on
 *   the same images with the classes relabelled by a seeded bijection; its
 *   predictions should follow the relabelled classes, and a module that
 *   agrees with the true labels far above chance ignores its training data.
 *
 * Every flag reads `memorisation suspected` with its numbers. A flagged task
 * gets no credit unless the teacher overrides (`--override-integrity`, or
 * `IntegrityPolicy.override` in `rubric.ts`): the flag is then still reported.
 *
 * @module
 */
import { pct } from "../../utils/format.ts";
import type { IntegrityPolicy, Thresholds } from "./rubric.ts";
import type { TestResult } from "./score.ts";

/** The control run's outcome. */
export interface ControlResult {
  /** Fraction of public test images whose control prediction is the TRUE label. */
  trueAgreement?: number;
  /** Fraction whose control prediction is the relabelled class (what a learner predicts). */
  relabelledAccuracy?: number;
  /** Wall seconds of the control run's sandboxed process. */
  wallSeconds: number;
  /** Why the control run gave no valid predictions. */
  error?: string;
}

/** Which check raised a flag. */
export type IntegrityFlagKind = "perturbed" | "ceiling" | "control";

/** One raised flag. */
export interface IntegrityFlag {
  /** The check. */
  kind: IntegrityFlagKind;
  /** The message with the numbers (`memorisation suspected: ...` when it revokes credit). */
  message: string;
  /**
   * Whether it revokes the credit: the perturbed and control checks do; the
   * ceiling only asks the teacher to review (a strong student may get there).
   */
  revokes: boolean;
}

/** The integrity record of one task (kept in the report). */
export interface IntegrityRecord {
  /** `main`'s accuracy on the public test split. */
  publicAccuracy: number;
  /** `main`'s accuracy on the perturbed copies of the public test images. */
  perturbedAccuracy: number;
  /** `main`'s accuracy on the hidden test set, when one was given. */
  hiddenAccuracy?: number;
  /** The control run, when the profile runs it. */
  control?: ControlResult;
  /** Raised flags (empty: nothing suspected). */
  flags: IntegrityFlag[];
  /** Whether the teacher's override kept the credit despite the flags. */
  overridden: boolean;
}

/** The measurements {@link integrityFlags} judges. */
export type IntegrityMeasures = Omit<IntegrityRecord, "flags" | "overridden">;

const SUSPECTED = "memorisation suspected";

/**
 * The flags raised by `m` under `policy`: `publicTh` are the public split's
 * thresholds, `hiddenTh` the hidden set's (when one was graded).
 */
export function integrityFlags(
  m: IntegrityMeasures,
  policy: IntegrityPolicy,
  publicTh: Thresholds,
  hiddenTh?: Thresholds,
): IntegrityFlag[] {
  const flags: IntegrityFlag[] = [];
  const kept = retention(m.publicAccuracy, m.perturbedAccuracy);
  if (kept < policy.perturbedRetention) {
    flags.push({
      kind: "perturbed",
      revokes: true,
      message: `${SUSPECTED}: public test accuracy ${pct(m.publicAccuracy)}, on perturbed ` +
        `copies of the same images ${pct(m.perturbedAccuracy)} (keeps ${
          pct(Math.max(0, kept))
        } of its accuracy above chance; at least ${pct(policy.perturbedRetention)} required)`,
    });
  }
  const ceilings: [string, number | undefined, Thresholds | undefined][] = [
    ["public test", m.publicAccuracy, publicTh],
    ["hidden test", m.hiddenAccuracy, hiddenTh],
  ];
  for (const [what, acc, th] of ceilings) {
    if (acc === undefined || th === undefined) continue;
    const line = th.fullCredit + policy.ceilingMargin;
    if (acc > line) {
      flags.push({
        kind: "ceiling",
        revokes: false,
        message: `review: ${what} accuracy ${pct(acc)}, far above what the lab's models ` +
          `reach on this budget (full credit at ${pct(th.fullCredit)}; flagged above ${
            pct(line)
          }; credit kept)`,
      });
    }
  }
  const c = m.control;
  if (c?.error !== undefined) {
    flags.push({
      kind: "control",
      revokes: true,
      message: `${SUSPECTED}: the control run (same images, classes relabelled) gave no valid ` +
        `predictions: ${c.error.split("\n")[0]}`,
    });
  } else if (c?.trueAgreement !== undefined && c.trueAgreement > policy.controlAgreement) {
    flags.push({
      kind: "control",
      revokes: true,
      message: `${SUSPECTED}: trained on relabelled classes, the control run still predicts ` +
        `the true labels of ${pct(c.trueAgreement)} of the public test images (chance 10%, ` +
        `flagged above ${pct(policy.controlAgreement)}); the relabelled classes: ` +
        `${pct(c.relabelledAccuracy ?? 0)}`,
    });
  }
  return flags;
}

/**
 * The share of its accuracy above chance (10%) kept from `publicAccuracy` to
 * `perturbedAccuracy`; 1 when the public accuracy is itself near chance
 * (there is nothing to lose).
 */
export function retention(publicAccuracy: number, perturbedAccuracy: number): number {
  const above = publicAccuracy - CHANCE;
  return above <= 0.1 ? 1 : (perturbedAccuracy - CHANCE) / above;
}

const CHANCE = 0.1;

/** The record of `m` under `policy` (flags raised, override applied). */
export function integrityRecord(
  m: IntegrityMeasures,
  policy: IntegrityPolicy,
  publicTh: Thresholds,
  hiddenTh?: Thresholds,
): IntegrityRecord {
  const flags = integrityFlags(m, policy, publicTh, hiddenTh);
  return { ...m, flags, overridden: flags.some((f) => f.revokes) && policy.override };
}

/**
 * The task's tests with the integrity test appended; when `record` is flagged
 * and not overridden, every test carrying points earns 0 and fails.
 */
export function applyIntegrity(
  task: number,
  tests: TestResult[],
  record: IntegrityRecord,
): TestResult[] {
  const flagged = record.flags.length > 0;
  const revoke = record.flags.some((f) => f.revokes) && !record.overridden;
  const out = tests.map((t) =>
    revoke && t.maxScore > 0
      ? {
        ...t,
        score: 0,
        passed: false,
        output: `no credit, ${SUSPECTED} (see "Task ${task}: integrity checks"); ${t.output}`,
      }
      : t
  );
  const measured = `public test ${pct(record.publicAccuracy)}, perturbed copies ` +
    `${pct(record.perturbedAccuracy)}` +
    (record.hiddenAccuracy === undefined ? "" : `, hidden test ${pct(record.hiddenAccuracy)}`) +
    (record.control?.trueAgreement === undefined
      ? ""
      : `; control run: relabelled classes ${pct(record.control.relabelledAccuracy ?? 0)}, ` +
        `true labels ${pct(record.control.trueAgreement)}`);
  out.push({
    task,
    name: `Task ${task}: integrity checks`,
    score: 0,
    maxScore: 0,
    passed: !revoke,
    required: true,
    output: !flagged ? `ok: ${measured}` : `${verdict(revoke, record.overridden)}: ` +
      record.flags.map((f) => f.message).join("; ") + `; ${measured}`,
  });
  return out;
}

function verdict(revoke: boolean, overridden: boolean): string {
  if (revoke) return "FLAGGED";
  return overridden ? "FLAGGED, overridden by the teacher (credit kept)" : "ok, for review";
}

/** The gradebook status of a flagged task (`flagged: memorisation suspected (...)`), if flagged. */
export function integrityStatus(
  record: IntegrityRecord | undefined,
): `flagged${string}` | undefined {
  if (!record || !record.flags.some((f) => f.revokes)) return undefined;
  const detail = `${SUSPECTED} (public ${pct(record.publicAccuracy)}, perturbed ` +
    `${pct(record.perturbedAccuracy)}` +
    (record.control?.trueAgreement === undefined
      ? ""
      : `, control run true-label agreement ${pct(record.control.trueAgreement)}`) +
    `)`;
  return record.overridden ? `flagged (overridden): ${detail}` : `flagged: ${detail}`;
}
