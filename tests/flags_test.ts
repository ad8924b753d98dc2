import { assert, assertEquals, assertThrows } from "../deps/assert.ts";
import {
  choiceFlag,
  intFlag,
  listFlag,
  numberFlag,
  parseFlags,
  parseInteger,
  repeatedFlag,
  stringFlag,
  switchFlag,
  usageLines,
} from "../deps/flags.ts";
import { TASK_FLAGS } from "../tasks/flags.ts";
import { usage } from "../tasks/common.ts";
import { HELP, SPEC } from "../grader/args.ts";
import { TASK as TASK4 } from "../tasks/task4.ts";

const SPEC_A = {
  epochs: intFlag({ help: "epochs", min: 1, max: 9, default: 3 }),
  "batch-size": intFlag({ help: "batch", min: 1, max: 64 }),
  rate: numberFlag({ help: "rate", min: 0, max: 1 }),
  mode: choiceFlag({ help: "mode", choices: ["a", "b", "c"], default: "a" }),
  name: stringFlag({ arg: "NAME", help: "name" }),
  list: listFlag({ help: "list", default: [1, 2], parse: (s, n) => parseInteger(s, n, 0) }),
  task: repeatedFlag({ arg: "N=P", help: "task", parse: (v) => v.toUpperCase() }),
  verbose: switchFlag("more output", "v"),
};

Deno.test("flags: one spec gives typed camelCase values with defaults applied", () => {
  const none = parseFlags([], SPEC_A).values;
  assertEquals(none, {
    epochs: 3,
    batchSize: undefined,
    rate: undefined,
    mode: "a",
    name: undefined,
    list: [1, 2],
    task: [],
    verbose: false,
  });
  const { values, positionals } = parseFlags(
    [
      "--batch-size",
      "32",
      "--rate=0.5",
      "--mode",
      "c",
      "--list",
      "4, 5",
      "--task",
      "x",
      "--task",
      "y",
      "-v",
      "file",
    ],
    SPEC_A,
  );
  assertEquals(values.batchSize, 32);
  assertEquals(values.rate, 0.5);
  assertEquals(values.mode, "c");
  assertEquals(values.list, [4, 5]);
  assertEquals(values.task, ["X", "Y"]);
  assertEquals(values.verbose, true);
  assertEquals(positionals, ["file"]);
});

Deno.test("flags: bad values and unknown flags name the flag and what it expects", () => {
  assertThrows(
    () => parseFlags(["--epochs", "0"], SPEC_A),
    Error,
    `--epochs expects an integer in [1, 9], got "0"`,
  );
  assertThrows(() => parseFlags(["--epochs", "2.5"], SPEC_A), Error, "--epochs expects an integer");
  assertThrows(
    () => parseFlags(["--rate", "2"], SPEC_A),
    Error,
    `--rate expects a number in [0, 1]`,
  );
  assertThrows(
    () => parseFlags(["--mode", "d"], SPEC_A),
    Error,
    `--mode expects a, b or c, got "d"`,
  );
  assertThrows(
    () => parseFlags(["--name", " "], SPEC_A),
    Error,
    "--name expects a non-empty value",
  );
  assertThrows(() => parseFlags(["--list", "1,x"], SPEC_A), Error, "--list expects an integer");
  assertThrows(() => parseFlags(["--bogus"], SPEC_A), Error, "Known flags: --epochs, --batch-size");
});

Deno.test("flags: the usage text lists every flag once with its default, wrapped at 100", () => {
  const lines = usageLines(SPEC_A, { "batch-size": "the task's" });
  for (const name of Object.keys(SPEC_A)) {
    assertEquals(
      lines.filter((l) => l.includes(`--${name} `) || l.endsWith(`--${name}`)).length,
      1,
      name,
    );
  }
  assert(lines.some((l) => l.includes("--epochs N") && l.endsWith("epochs (default 3)")));
  assert(lines.some((l) => l.endsWith("batch (default the task's)")));
  assert(lines.some((l) => l.startsWith("  -v, --verbose")));
  for (const text of [usage(TASK4), HELP]) {
    for (const line of text.split("\n")) assert(line.length <= 100, line);
  }
  for (const name of Object.keys(TASK_FLAGS)) assert(usage(TASK4).includes(`--${name}`), name);
  for (const name of Object.keys(SPEC)) assert(HELP.includes(`--${name}`), name);
  assert(usage(TASK4).includes("(default 100; 12 under the lab protocol)"));
});
