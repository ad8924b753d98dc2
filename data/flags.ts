/**
 * The data flags every command line shares (`deno task data`, the tasks, the
 * grader): where the archives and the decoded cache are, which protocol, and
 * whether to download. Declared once here (see deps/flags.ts).
 *
 * @module
 */
import { choiceFlag, stringFlag, switchFlag } from "../deps/flags.ts";
import { PROTOCOL_CHOICES } from "./types.ts";

/** `--data-dir`, `--cache-dir`, `--protocol`, `--download`. */
export const DATA_FLAGS = {
  "data-dir": stringFlag({
    arg: "DIR",
    help: "folder with notMNIST_small.tar.gz (and notMNIST_large for the lab protocol)",
    shownDefault: "$NOTMNIST_DIR, else ~/.cache/notmnist-lab",
  }),
  "cache-dir": stringFlag({
    arg: "DIR",
    help: "folder for the decoded-image cache",
    shownDefault: "$NOTMNIST_CACHE, else <data-dir>/.cache when writable, else " +
      "~/.cache/notmnist-lab/cache",
  }),
  protocol: choiceFlag({
    arg: "P",
    choices: PROTOCOL_CHOICES,
    default: "auto",
    help: "data protocol",
    shownDefault: "auto: lab when notMNIST_large is present",
  }),
  download: switchFlag(
    "download missing archives from the official URLs (notMNIST_large only with --protocol lab)",
  ),
};
