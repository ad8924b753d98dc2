/**
 * Recipe checks: whether a task's run really used what the task asks for
 * (task 3: L2 and dropout; task 4: momentum and a learning rate that decays
 * within the grader's epoch budget), read from what the run recorded - the
 * `main` model's per-epoch history (`learningRate`) and its configuration
 * (`optimizer`, `spec`) - never from the task's own claims in prose. Each
 * check is a graded test with its own points, so a run missing one part
 * keeps the others' credit and the message says what was missing.
 *
 * @module
 */
import type { EpochRecord } from "../../tasks/types.ts";

/** What a recipe check verifies. */
export type RecipeCheckKind = "momentum" | "decay" | "l2" | "dropout";

/** One recipe check of a task's rubric. */
export interface RecipeCheck {
  /** What is checked. */
  kind: RecipeCheckKind;
  /** Points for passing it. */
  points: number;
}

/**
 * The rate of the last recorded epoch must be at most this fraction of the
 * highest recorded rate (a warm-up may come first) for the rate to count as
 * decaying: 0.9 = it fell by at least 10% within the budget.
 */
export const DECAY_RATIO = 0.9;

/** What the grader knows of one role's training: its recorded history and configuration. */
export interface RoleRecord {
  /** Per-epoch history as the task returned it (trimmed to JSON). */
  history: EpochRecord[];
  /** Configuration as the task returned it (JSON). */
  config: Record<string, unknown>;
}

/** The outcome of one recipe check. */
export interface RecipeVerdict {
  /** Whether the check holds. */
  passed: boolean;
  /** What was found, or what was missing. */
  detail: string;
}

/** Test names of the recipe checks. */
export const RECIPE_CHECK_NAMES: Record<RecipeCheckKind, string> = {
  momentum: "momentum used (from the recorded optimizer)",
  decay: "learning rate decays within the epoch budget (from the recorded history)",
  l2: "L2 regularization used (from the recorded network)",
  dropout: "dropout used (from the recorded network)",
};

function asRecord(x: unknown): Record<string, unknown> | undefined {
  return x !== null && typeof x === "object" && !Array.isArray(x)
    ? x as Record<string, unknown>
    : undefined;
}

function positive(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x) && x > 0;
}

/** Momentum: the recorded optimizer is `{ kind: "momentum", momentum > 0 }`. */
export function checkMomentum(record: RoleRecord): RecipeVerdict {
  const opt = asRecord(record.config.optimizer);
  if (!opt) {
    return {
      passed: false,
      detail: "the model's config records no optimizer (return the TrainConfig from trainRole, " +
        'or put `optimizer: { kind: "momentum", momentum: 0.9 }` in TrainedModel.config)',
    };
  }
  if (opt.kind === "momentum" && positive(opt.momentum)) {
    return {
      passed: true,
      detail: `optimizer: momentum ${opt.momentum}${opt.nesterov ? " (Nesterov)" : ""}`,
    };
  }
  return {
    passed: false,
    detail: `the recorded optimizer is ${JSON.stringify(opt).slice(0, 120)}: no momentum > 0`,
  };
}

/**
 * Decay: the history records a finite rate for every epoch and the last
 * epoch's rate is at most {@link DECAY_RATIO} of the highest one.
 */
export function checkDecay(record: RoleRecord, epochs?: number): RecipeVerdict {
  const rates = record.history.map((h) => h?.learningRate);
  const budget = epochs === undefined ? "the task's default epochs" : `${epochs} epochs`;
  if (rates.length < 2) {
    return {
      passed: false,
      detail: `the history records ${rates.length} epoch(s): a decay needs at least 2 recorded ` +
        `epochs with their learningRate`,
    };
  }
  if (!rates.every((r) => typeof r === "number" && Number.isFinite(r) && r >= 0)) {
    return { passed: false, detail: "the history does not record a learningRate for every epoch" };
  }
  const peak = Math.max(...rates);
  const last = rates[rates.length - 1];
  const shown = (r: number) => r.toPrecision(3);
  if (peak > 0 && last <= DECAY_RATIO * peak) {
    return {
      passed: true,
      detail: `learning rate ${shown(rates[0])} in epoch 1, peak ${shown(peak)}, ` +
        `${shown(last)} in epoch ${rates.length} (${budget})`,
    };
  }
  const flat = rates.every((r) => r === rates[0]);
  return {
    passed: false,
    detail:
      (flat
        ? `learning rate ${shown(rates[0])} in all ${rates.length} recorded epochs`
        : `learning rate peak ${shown(peak)}, ${
          shown(last)
        } in the last of ${rates.length} epochs`) +
      `: it does not fall to ${DECAY_RATIO * 100}% of its peak within the grader's budget of ` +
      `${budget}; make the schedule decay within the epochs the grader passes (TaskInput.epochs)`,
  };
}

function hiddenLayers(record: RoleRecord): Record<string, unknown>[] {
  const hidden = asRecord(record.config.spec)?.hidden;
  return Array.isArray(hidden) ? hidden.map((h) => asRecord(h) ?? {}) : [];
}

/** L2: some hidden layer's `l2` or the spec's `outputL2` is > 0 in the recorded network. */
export function checkL2(record: RoleRecord): RecipeVerdict {
  const spec = asRecord(record.config.spec);
  if (!spec) return { passed: false, detail: "the model's config records no network (spec)" };
  const l2 = [...hiddenLayers(record).map((h) => h.l2), spec.outputL2].filter(positive);
  return l2.length > 0
    ? { passed: true, detail: `L2 ${[...new Set(l2)].join(", ")} on ${l2.length} kernel(s)` }
    : { passed: false, detail: "no layer of the recorded network has l2 > 0" };
}

/** Dropout: some hidden layer's `dropout` or the spec's `inputDropout` is > 0. */
export function checkDropout(record: RoleRecord): RecipeVerdict {
  const spec = asRecord(record.config.spec);
  if (!spec) return { passed: false, detail: "the model's config records no network (spec)" };
  const rates = [...hiddenLayers(record).map((h) => h.dropout), spec.inputDropout].filter(
    positive,
  );
  return rates.length > 0
    ? {
      passed: true,
      detail: `dropout ${[...new Set(rates)].join(", ")} on ${rates.length} layer(s)`,
    }
    : { passed: false, detail: "no layer of the recorded network has dropout > 0" };
}

/** Runs the check `kind` on a role's record (`epochs`: the budget the grader passed). */
export function runRecipeCheck(
  kind: RecipeCheckKind,
  record: RoleRecord,
  epochs?: number,
): RecipeVerdict {
  switch (kind) {
    case "momentum":
      return checkMomentum(record);
    case "decay":
      return checkDecay(record, epochs);
    case "l2":
      return checkL2(record);
    case "dropout":
      return checkDropout(record);
  }
}
