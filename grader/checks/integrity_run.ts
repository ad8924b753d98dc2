/**
 * Running a graded task's integrity checks: its hidden-set levels, the
 * control run when the profile asks for it, and the record
 * `grader/rubric/integrity.ts` judges from the first run's metrics.
 *
 * @module
 */
import type { ImageSet } from "../../data/types.ts";
import type { Profile, Rubric, TaskRubric, Thresholds } from "../rubric/rubric.ts";
import type { RoleMetrics } from "../rubric/score.ts";
import type { SandboxRequest } from "../sandbox/mod.ts";
import { type IntegrityRecord, integrityRecord } from "../rubric/integrity.ts";
import { runControl } from "./control.ts";

/** The hidden set's levels of task `r` under `profile`; throws naming the task when absent. */
export function hiddenLevels(r: TaskRubric, profile: Profile): Thresholds {
  const th = r.hiddenThresholds?.[profile];
  if (!th) {
    throw new Error(`rubric task ${r.task}: no hiddenThresholds.${profile} for --hidden-test`);
  }
  return th;
}

/**
 * The integrity record of a task's first run from its `main` metrics
 * (`undefined` when the rubric has no integrity policy or the run failed): the perturbed-copies drop, the
 * ceiling, and the control run when the profile runs it.
 */
export async function checkIntegrity(
  main: RoleMetrics | undefined,
  request: SandboxRequest | undefined,
  ctx: {
    rubric: Rubric;
    profile: Profile;
    test: ImageSet;
    seed: number;
    log: (line: string) => void;
    override: boolean;
  },
  where: { task: number; outDir: string },
  levels: { publicThresholds: Thresholds; hiddenThresholds?: Thresholds },
): Promise<IntegrityRecord | undefined> {
  const policy = ctx.rubric.integrity;
  if (!policy || !main || !request) return undefined;
  const publicAccuracy = main.publicTestAccuracy ?? main.testAccuracy;
  let control;
  if (policy.controlProfiles.includes(ctx.profile)) {
    control = await runControl(request, ctx.test, ctx.seed, where.outDir);
    ctx.log(
      `task ${where.task}: control run (classes relabelled) ${
        control.error
          ? `FAILED (${control.error.split("\n")[0]})`
          : `true labels ${control.trueAgreement?.toFixed(4)}, relabelled ${
            control.relabelledAccuracy?.toFixed(4)
          }`
      } in ${control.wallSeconds.toFixed(1)} s`,
    );
  }
  return integrityRecord(
    {
      publicAccuracy,
      perturbedAccuracy: main.perturbedAccuracy ?? publicAccuracy,
      hiddenAccuracy: main.publicTestAccuracy === undefined ? undefined : main.testAccuracy,
      control,
    },
    { ...policy, override: policy.override || ctx.override },
    levels.publicThresholds,
    levels.hiddenThresholds,
  );
}
