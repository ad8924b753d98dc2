/**
 * The command-line flags of the lab's tasks, declared once (see deps/flags.ts).
 * Light on purpose (no tfjs), so the grader and `deno task predict` can share
 * these declarations without loading the training code.
 *
 * @module
 */
import { DATA_FLAGS } from "../data/flags.ts";
import type { ProtocolChoice } from "../data/types.ts";
import {
  choiceFlag,
  type Flag,
  intFlag,
  orList,
  stringFlag,
  switchFlag,
  valueFlag,
} from "../deps/flags.ts";
import { DEFAULT_NUMERICS, NUMERICS_MODES, type NumericsMode } from "../compute/numerics.ts";
import { BACKEND_ORDER, type BackendName, parseBackendName } from "../compute/backend_names.ts";

/** Default training seed of the tasks. */
export const DEFAULT_SEED = 42;

/**
 * The flags of the four tasks, each declared once (type, range, default, help);
 * `parseTaskArgs`, `usage` and `TaskRunOptions` (common.ts) derive from it.
 * Epochs and batch size have no parse default: the task's own (per protocol)
 * applies, see `TaskDefinition.defaults`.
 */
export const TASK_FLAGS: TaskFlags = {
  epochs: intFlag({ help: "epochs per model", min: 1, max: 10000, shownDefault: "the task's" }),
  "batch-size": intFlag({
    help: "minibatch size",
    min: 1,
    max: 65536,
    shownDefault: "the task's",
  }),
  "train-size": intFlag({
    help: "train on the stratified subset of N images the grader draws (seeded by --seed)",
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
  numerics: choiceFlag({
    choices: NUMERICS_MODES,
    default: DEFAULT_NUMERICS,
    help: "reproducible: the portable WebAssembly core, the grader's bits on any machine " +
      "(x86-64, ARM64); fast: native OpenBLAS, numbers may differ by machine (docs/numerics.md)",
  }),
  out: stringFlag({ arg: "DIR", help: "output folder", shownDefault: "out/taskN" }),
  protocol: DATA_FLAGS.protocol,
  help: switchFlag("this text", "h"),
};

/** The type of {@link TASK_FLAGS} (spelled out for the published API): flag name to its value type. */
export type TaskFlags = {
  /** `--epochs N`. */
  epochs: Flag<number | undefined>;
  /** `--batch-size N`. */
  "batch-size": Flag<number | undefined>;
  /** `--train-size N`. */
  "train-size": Flag<number | undefined>;
  /** `--seed N`. */
  seed: Flag<number | undefined>;
  /** `--data-dir DIR`. */
  "data-dir": Flag<string | undefined>;
  /** `--cache-dir DIR`. */
  "cache-dir": Flag<string | undefined>;
  /** `--download`. */
  download: Flag<boolean>;
  /** `--backend NAME`. */
  backend: Flag<BackendName | undefined>;
  /** `--numerics reproducible|fast`. */
  numerics: Flag<NumericsMode>;
  /** `--out DIR`. */
  out: Flag<string | undefined>;
  /** `--protocol P`. */
  protocol: Flag<ProtocolChoice>;
  /** `--help`. */
  help: Flag<boolean>;
};
