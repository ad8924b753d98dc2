/**
 * Command-line arguments of `deno task grade`, parsed and checked without
 * touching data or tasks (so they can be tested on their own).
 *
 * @module
 */
import { join, resolve } from "node:path";
import {
  type FlagValues,
  parseFlags,
  repeatedFlag,
  stringFlag,
  switchFlag,
  usageLines,
} from "../deps/flags.ts";
import { DATA_FLAGS } from "../data/flags.ts";
import { TASK_FLAGS } from "../tasks/flags.ts";
import type { TaskSpec } from "./grade.ts";
import { TASK_NUMBERS, type TaskNumber } from "./rubric/rubric.ts";
import { GRADE_FLAGS } from "./flags.ts";
import { PROJECT_ROOT } from "./project.ts";

/**
 * The flags of `deno task grade`, each declared once (type, range, default,
 * help); {@link HELP}, {@link GradeArgs} and {@link parseGradeArgs} derive
 * from it. Flags shared with the tasks reuse the tasks' declarations.
 */
export const SPEC = {
  profile: GRADE_FLAGS.profile,
  task: repeatedFlag({
    arg: "N=PATH",
    help: "grade PATH as task N; only the given tasks are graded",
    parse: (v) => v,
  }),
  only: stringFlag({ arg: "1,3", help: "grade only these of the lab's tasks" }),
  trusted: switchFlag("let --task modules use FFI (the native BLAS backend); off by default"),
  "data-dir": GRADE_FLAGS["data-dir"],
  "cache-dir": GRADE_FLAGS["cache-dir"],
  protocol: GRADE_FLAGS.protocol,
  download: DATA_FLAGS.download,
  seed: GRADE_FLAGS.seed,
  repeat: GRADE_FLAGS.repeat,
  backend: GRADE_FLAGS.backend,
  numerics: {
    ...TASK_FLAGS.numerics,
    help: "numerics of every task: reproducible (the portable core: the same bits on every " +
      "machine) or fast (native OpenBLAS; numbers differ by machine)",
  },
  "train-size": GRADE_FLAGS["train-size"],
  epochs: GRADE_FLAGS.epochs,
  "timeout-scale": GRADE_FLAGS["timeout-scale"],
  "hidden-test": GRADE_FLAGS["hidden-test"],
  "override-integrity": GRADE_FLAGS["override-integrity"],
  out: stringFlag({ arg: "DIR", help: "report folder", default: "out/grade" }),
  verbose: switchFlag("echo the tasks' own output", "v"),
  help: switchFlag("this text", "h"),
};

/** The `--help` text. */
export const HELP: string = `Usage: deno task grade [options]

Grades the lab's tasks (tasks/task1.ts .. task4.ts, trusted) or a student's
task modules (untrusted: fenced subprocess without network, env, subprocesses
or FFI) and writes out/grade/{results.json,junit.xml,summary.md,report.json}.

Options:
${usageLines(SPEC).join("\n")}
`;

/**
 * Parsed and checked arguments of `deno task grade`: the values of
 * {@link SPEC} (camelCase), with `--task`, `--only` and `--trusted` turned
 * into the task modules to grade, and paths absolute.
 */
export interface GradeArgs
  extends Omit<FlagValues<typeof SPEC>, "task" | "only" | "trusted" | "help"> {
  /** Task modules to grade (absolute paths), with their trust. */
  tasks: TaskSpec[];
  /** Whether `--task` modules were given (student mode). */
  studentMode: boolean;
}

/** Parses `--task N=PATH` values; throws naming the flag on a malformed value. */
export function parseTaskFlags(values: string[]): TaskSpec[] {
  const out: TaskSpec[] = [];
  for (const v of values) {
    const m = /^([1-4])=(.+)$/.exec(v);
    if (!m) throw new Error(`--task expects N=PATH with N in 1..4, got "${v}"`);
    const task = Number(m[1]) as TaskNumber;
    if (out.some((t) => t.task === task)) throw new Error(`--task ${task} given twice`);
    out.push({ task, module: m[2], trusted: false });
  }
  return out.sort((a, b) => a.task - b.task);
}

/** Parses `--only 1,3`; throws naming the flag on anything else. */
export function parseOnly(value: string | undefined): TaskNumber[] {
  if (value === undefined) return [...TASK_NUMBERS];
  const parts = value.split(",").map((s) => s.trim()).filter(Boolean);
  const tasks = parts.map((p) => {
    const n = Number(p);
    if (!TASK_NUMBERS.includes(n as TaskNumber)) {
      throw new Error(`--only expects task numbers 1..4 separated by commas, got "${value}"`);
    }
    return n as TaskNumber;
  });
  if (tasks.length === 0) throw new Error(`--only expects at least one task number`);
  return [...new Set(tasks)].sort();
}

/**
 * Parses the grader's arguments. Returns `"help"` for `--help`; throws an
 * error naming the flag on bad input. Relative paths resolve against `cwd`.
 * Without `--task`, the lab's own tasks (tasks/taskN.ts) are graded, trusted.
 */
export function parseGradeArgs(args: string[], cwd: string = Deno.cwd()): GradeArgs | "help" {
  const { values } = parseFlags(args, SPEC);
  if (values.help) return "help";
  const { task, only, trusted, help: _help, ...rest } = values;
  const students = parseTaskFlags(task);
  if (students.length > 0 && only !== undefined) {
    throw new Error(
      "--only selects the lab's tasks; with --task only the given modules are graded",
    );
  }
  const tasks: TaskSpec[] = students.length > 0
    ? students.map((s) => ({ ...s, module: resolve(cwd, s.module), trusted }))
    : parseOnly(only).map((task) => ({
      task,
      module: join(PROJECT_ROOT, "tasks", `task${task}.ts`),
      trusted: true,
    }));
  return {
    ...rest,
    tasks,
    studentMode: students.length > 0,
    dataDir: rest.dataDir === undefined ? undefined : resolve(cwd, rest.dataDir),
    cacheDir: rest.cacheDir === undefined ? undefined : resolve(cwd, rest.cacheDir),
    hiddenTest: rest.hiddenTest === undefined ? undefined : resolve(cwd, rest.hiddenTest),
    out: resolve(cwd, rest.out),
  };
}
