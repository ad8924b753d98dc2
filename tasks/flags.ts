/**
 * The command-line flags of the lab's tasks, declared once (see deps/flags.ts).
 * Light on purpose (no tfjs), so the grader and `deno task predict` can share
 * these declarations without loading the training code.
 *
 * @module
 */
import { DATA_FLAGS } from "../data/flags.ts";
import { intFlag, orList, stringFlag, switchFlag, valueFlag } from "../deps/flags.ts";
import { BACKEND_ORDER, parseBackendName } from "../models/backend_names.ts";

/** Default training seed of the tasks. */
export const DEFAULT_SEED = 42;

/**
 * The flags of the four tasks, each declared once (type, range, default, help);
 * `parseTaskArgs`, `usage` and `TaskRunOptions` (common.ts) derive from it.
 * Epochs and batch size have no parse default: the task's own (per protocol)
 * applies, see `TaskDefinition.defaults`.
 */
export const TASK_FLAGS = {
  epochs: intFlag({ help: "epochs per model", min: 1, max: 10000, shownDefault: "the task's" }),
  "batch-size": intFlag({
    help: "minibatch size",
    min: 1,
    max: 65536,
    shownDefault: "the task's",
  }),
  "train-size": intFlag({
    help: "train on a stratified subset of N images",
    min: 10,
    max: 10_000_000,
    shownDefault: "all",
  }),
  seed: intFlag({
    help: "training seed",
    min: 0,
    max: 4294967295,
    shownDefault: String(DEFAULT_SEED),
  }),
  "data-dir": DATA_FLAGS["data-dir"],
  "cache-dir": DATA_FLAGS["cache-dir"],
  download: DATA_FLAGS.download,
  backend: valueFlag({
    arg: "NAME",
    help: `force a backend: ${orList(BACKEND_ORDER)}`,
    shownDefault: "the fastest available",
    parse: (s) => parseBackendName(s),
  }),
  out: stringFlag({ arg: "DIR", help: "output folder", shownDefault: "out/taskN" }),
  protocol: DATA_FLAGS.protocol,
  help: switchFlag("this text", "h"),
};
