/**
 * The flags every grading entry point shares (`deno task grade`, `deno task
 * grade-class`, the Gradescope autograder and its packer), each declared
 * once; each CLI's own table picks the ones it takes.
 *
 * @module
 */
import { DATA_FLAGS } from "../data/flags.ts";
import { choiceFlag, intFlag, numberFlag, orList, stringFlag, switchFlag } from "../deps/flags.ts";
import { BACKEND_ORDER } from "../compute/backend_names.ts";
import { TASK_FLAGS } from "../tasks/flags.ts";
import { PROFILES, RUBRIC } from "./rubric/rubric.ts";

/** Flags shared by the grader's command lines (profile, data, seed, budget overrides). */
export const GRADE_FLAGS = {
  profile: choiceFlag({
    choices: PROFILES,
    default: "full",
    help: "budget and thresholds (full: the lab's real run; CI uses quick)",
  }),
  "data-dir": DATA_FLAGS["data-dir"],
  "cache-dir": DATA_FLAGS["cache-dir"],
  protocol: DATA_FLAGS.protocol,
  seed: {
    ...TASK_FLAGS.seed,
    help: "training seed handed to every task",
    shownDefault: `${RUBRIC.seed}, the rubric's`,
  },
  backend: {
    ...TASK_FLAGS.backend,
    help: `force a backend in every task: ${orList(BACKEND_ORDER)}`,
  },
  "train-size": {
    ...TASK_FLAGS["train-size"],
    help: "override the profile's train subset (recorded in the report)",
    shownDefault: "the profile's",
  },
  epochs: {
    ...TASK_FLAGS.epochs,
    help: "override the profile's epochs (recorded in the report)",
    shownDefault: "the profile's",
  },
  "hidden-test": stringFlag({
    arg: "FILE",
    help: "grade test accuracy on this hidden test set (.tar.gz, <root>/<A-J>/*.png, from " +
      "`deno task make-hidden-test`); the public test split stays as feedback",
  }),
  "override-integrity": switchFlag(
    "teacher override: report the memorisation flags but keep the credit",
  ),
  "timeout-scale": numberFlag({
    help: "multiply every time limit (slow machines)",
    min: 0.01,
    max: 1000,
    shownDefault: "1",
  }),
  repeat: intFlag({
    help: "run each task N times; fail (and flag) unless predictions are bit-identical",
    min: 1,
    max: 10,
    default: 1,
  }),
};
