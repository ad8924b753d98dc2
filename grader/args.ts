/**
 * Command-line arguments of `deno task grade`, parsed and checked without
 * touching data or tasks (so they can be tested on their own).
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { intFlag, numberFlag, type ParsedFlags, parseFlags, stringFlag } from "../deps/flags.ts";
import type { TaskSpec } from "./grade.ts";
import { type Profile, RUBRIC, TASK_NUMBERS, type TaskNumber } from "./rubric.ts";

/** The project root: the folder above grader/. */
export const PROJECT_ROOT: string = dirname(dirname(fileURLToPath(import.meta.url)));

/** The `--help` text. */
export const HELP: string = `Usage: deno task grade [options]

Grades the lab's tasks (tasks/task1.ts .. task4.ts, trusted) or a student's
task modules (untrusted: fenced subprocess without network, env, subprocesses
or FFI) and writes out/grade/{results.json,junit.xml,summary.md,report.json}.

Options:
  --profile quick|full   budget and thresholds (default full: the lab's real run; CI uses quick)
  --task N=PATH          grade PATH as task N (repeatable); only the given tasks are graded
  --only 1,3             grade only these of the lab's tasks
  --trusted              let --task modules use FFI (the native BLAS backend); off by default
  --data-dir DIR         folder with notMNIST_small.tar.gz (default: NOTMNIST_DIR)
  --cache-dir DIR        decoded-data cache (default: NOTMNIST_CACHE or the data layer's default)
  --protocol P           lab | small | auto (default auto: lab when notMNIST_large is present)
  --download             download the small archive when none is found
  --seed N               seed handed to every task (default ${RUBRIC.seed}, the rubric's)
  --repeat N             run each task N times; fail unless predictions are bit-identical
  --backend NAME         force a tfjs backend in every task (default: fastest available)
  --train-size N         override the profile's train subset (recorded in the report)
  --epochs N             override the profile's epochs (recorded in the report)
  --timeout-scale X      multiply every time limit (slow machines)
  --out DIR              report folder (default out/grade)
  -v, --verbose          echo the tasks' own output
  -h, --help             this text
`;

/** The flags of `deno task grade`. */
export const SPEC = {
  profile: { type: "string" as const, default: "full" },
  task: { type: "string" as const, multiple: true },
  only: { type: "string" as const },
  trusted: { type: "boolean" as const, default: false },
  "data-dir": { type: "string" as const },
  "cache-dir": { type: "string" as const },
  protocol: { type: "string" as const, default: "auto" },
  download: { type: "boolean" as const, default: false },
  seed: { type: "string" as const },
  repeat: { type: "string" as const },
  backend: { type: "string" as const },
  "train-size": { type: "string" as const },
  epochs: { type: "string" as const },
  "timeout-scale": { type: "string" as const },
  out: { type: "string" as const, default: "out/grade" },
  verbose: { type: "boolean" as const, short: "v", default: false },
  help: { type: "boolean" as const, short: "h", default: false },
};

/** Parsed and checked arguments of `deno task grade`. */
export interface GradeArgs {
  /** Profile. */
  profile: Profile;
  /** Task modules to grade (absolute paths), with their trust. */
  tasks: TaskSpec[];
  /** Whether `--task` modules were given (student mode). */
  studentMode: boolean;
  /** `--data-dir`. */
  dataDir?: string;
  /** `--cache-dir`. */
  cacheDir?: string;
  /** `--protocol`. */
  protocol: "lab" | "small" | "auto";
  /** `--download`. */
  download: boolean;
  /** `--seed`. */
  seed?: number;
  /** `--repeat`. */
  repeat: number;
  /** `--backend`. */
  backend?: string;
  /** `--train-size`. */
  trainSize?: number;
  /** `--epochs`. */
  epochs?: number;
  /** `--timeout-scale`. */
  timeoutScale?: number;
  /** `--out`, absolute. */
  out: string;
  /** `--verbose`. */
  verbose: boolean;
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
  const flags: ParsedFlags = parseFlags(args, SPEC);
  if (flags.values.help) return "help";
  const profile = stringFlag(flags, "profile");
  if (profile !== "quick" && profile !== "full") {
    throw new Error(`--profile expects quick or full, got "${profile}"`);
  }
  const protocol = stringFlag(flags, "protocol");
  if (protocol !== "lab" && protocol !== "small" && protocol !== "auto") {
    throw new Error(`--protocol expects lab, small or auto, got "${protocol}"`);
  }
  const students = parseTaskFlags((flags.values.task as string[] | undefined) ?? []);
  if (students.length > 0 && flags.values.only !== undefined) {
    throw new Error(
      "--only selects the lab's tasks; with --task only the given modules are graded",
    );
  }
  const trusted = Boolean(flags.values.trusted);
  const tasks: TaskSpec[] = students.length > 0
    ? students.map((s) => ({ ...s, module: resolve(cwd, s.module), trusted }))
    : parseOnly(stringFlag(flags, "only")).map((task) => ({
      task,
      module: join(PROJECT_ROOT, "tasks", `task${task}.ts`),
      trusted: true,
    }));
  const dataDir = stringFlag(flags, "data-dir");
  const cacheDir = stringFlag(flags, "cache-dir");
  return {
    profile,
    tasks,
    studentMode: students.length > 0,
    dataDir: dataDir === undefined ? undefined : resolve(cwd, dataDir),
    cacheDir: cacheDir === undefined ? undefined : resolve(cwd, cacheDir),
    protocol,
    download: Boolean(flags.values.download),
    seed: intFlag(flags, "seed", 0, 2 ** 32 - 1),
    repeat: intFlag(flags, "repeat", 1, 10) ?? 1,
    backend: stringFlag(flags, "backend"),
    trainSize: intFlag(flags, "train-size", 10),
    epochs: intFlag(flags, "epochs", 1, 10_000),
    timeoutScale: numberFlag(flags, "timeout-scale", 0.01, 1000),
    out: resolve(cwd, stringFlag(flags, "out") ?? "out/grade"),
    verbose: Boolean(flags.values.verbose),
  };
}
