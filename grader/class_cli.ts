/**
 * `deno task grade-class DIR`: grades every student folder of DIR with the
 * sandboxed grader, `--jobs N` at a time, into `OUT/<student>/`,
 * `OUT/gradebook.csv` and `OUT/class.md`; resumable (unchanged students are
 * skipped). Exit code 0 when every student was graded (whatever their
 * scores), 1 when grading failed on the grader's side for one, 2 on a usage
 * or data error. See docs/teachers.md.
 *
 * @module
 */
import { resolve } from "node:path";
import { intFlag, numberFlag, type ParsedFlags, parseFlags, stringFlag } from "../deps/flags.ts";
import { PROJECT_ROOT } from "./args.ts";
import { type ClassProgress, gradeClass } from "./class_grade.ts";
import { TRUSTED_ENV_NAMES } from "./cli.ts";
import { loadGradeData } from "./grade_data.ts";
import { type Profile, RUBRIC, TASK_NUMBERS } from "./rubric.ts";

/** The `--help` text. */
export const CLASS_HELP: string = `Usage: deno task grade-class DIR [options]

Grades every student folder of DIR (each holding any of task1.ts .. task4.ts and
local helper modules) in the grader's sandbox, N students at a time, and writes
OUT/<student>/{results.json,junit.xml,summary.md,report.json,taskN/},
OUT/gradebook.csv and OUT/class.md. A rerun skips students whose submission,
rubric, settings and data are unchanged.

Options:
  --out DIR              output folder (default out/class)
  --jobs N               students graded at a time (default: the CPU count)
  --profile quick|full   budget and thresholds (default full)
  --data-dir DIR         folder with notMNIST_small.tar.gz (default: NOTMNIST_DIR)
  --cache-dir DIR        decoded-data cache (default: NOTMNIST_CACHE)
  --protocol P           lab | small | auto (default auto)
  --seed N               seed handed to every task (default ${RUBRIC.seed})
  --train-size N         override the profile's train subset
  --epochs N             override the profile's epochs
  --timeout-scale X      multiply every time limit
  --trusted              let student modules use FFI (native BLAS); off by default
  --backend NAME         force a tfjs backend in every task
  -h, --help             this text
`;

/** The flags of `deno task grade-class`. */
export const CLASS_SPEC = {
  out: { type: "string" as const, default: "out/class" },
  jobs: { type: "string" as const },
  profile: { type: "string" as const, default: "full" },
  "data-dir": { type: "string" as const },
  "cache-dir": { type: "string" as const },
  protocol: { type: "string" as const, default: "auto" },
  seed: { type: "string" as const },
  "train-size": { type: "string" as const },
  epochs: { type: "string" as const },
  "timeout-scale": { type: "string" as const },
  trusted: { type: "boolean" as const, default: false },
  backend: { type: "string" as const },
  help: { type: "boolean" as const, short: "h", default: false },
};

/** Parsed arguments of `deno task grade-class`. */
export interface ClassArgs {
  /** The class folder, absolute. */
  classDir: string;
  /** `--out`, absolute. */
  out: string;
  /** `--jobs` (undefined: the default from the CPU count). */
  jobs?: number;
  /** `--profile`. */
  profile: Profile;
  /** `--data-dir`. */
  dataDir?: string;
  /** `--cache-dir`. */
  cacheDir?: string;
  /** `--protocol`. */
  protocol: "lab" | "small" | "auto";
  /** `--seed`. */
  seed?: number;
  /** `--train-size`. */
  trainSize?: number;
  /** `--epochs`. */
  epochs?: number;
  /** `--timeout-scale`. */
  timeoutScale?: number;
  /** `--trusted`. */
  trusted: boolean;
  /** `--backend`. */
  backend?: string;
}

/** Parses the arguments; `"help"` for `--help`; throws naming the flag on bad input. */
export function parseClassArgs(args: string[], cwd: string = Deno.cwd()): ClassArgs | "help" {
  const flags: ParsedFlags = parseFlags(args, CLASS_SPEC);
  if (flags.values.help) return "help";
  if (flags.positionals.length !== 1) {
    throw new Error(
      `expected exactly one class folder (DIR), got ${flags.positionals.length}: ` +
        `${flags.positionals.join(" ") || "none"}`,
    );
  }
  const profile = stringFlag(flags, "profile");
  if (profile !== "quick" && profile !== "full") {
    throw new Error(`--profile expects quick or full, got "${profile}"`);
  }
  const protocol = stringFlag(flags, "protocol");
  if (protocol !== "lab" && protocol !== "small" && protocol !== "auto") {
    throw new Error(`--protocol expects lab, small or auto, got "${protocol}"`);
  }
  const dataDir = stringFlag(flags, "data-dir");
  const cacheDir = stringFlag(flags, "cache-dir");
  return {
    classDir: resolve(cwd, flags.positionals[0]),
    out: resolve(cwd, stringFlag(flags, "out") ?? "out/class"),
    jobs: intFlag(flags, "jobs", 1, 256),
    profile,
    dataDir: dataDir === undefined ? undefined : resolve(cwd, dataDir),
    cacheDir: cacheDir === undefined ? undefined : resolve(cwd, cacheDir),
    protocol,
    seed: intFlag(flags, "seed", 0, 2 ** 32 - 1),
    trainSize: intFlag(flags, "train-size", 10),
    epochs: intFlag(flags, "epochs", 1, 10_000),
    timeoutScale: numberFlag(flags, "timeout-scale", 0.01, 1000),
    trusted: Boolean(flags.values.trusted),
    backend: stringFlag(flags, "backend"),
  };
}

/**
 * Jobs and BLAS threads per job for `cores` CPUs: `jobs` defaults to the
 * core count (a sandboxed student trains on one thread), and each job gets
 * `floor(cores / jobs)` BLAS threads (at least 1), so jobs x threads <= cores
 * whenever jobs <= cores.
 */
export function planJobs(cores: number, jobs?: number): { jobs: number; blasThreads: number } {
  const c = Math.max(1, Math.floor(cores));
  const j = jobs ?? c;
  return { jobs: j, blasThreads: Math.max(1, Math.floor(c / j)) };
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** One progress line: a bar with ETA (`tty`) or a plain line per student. */
export function progressLine(p: ClassProgress, tty: boolean): string {
  const r = p.row;
  const what = r.error
    ? `grader error: ${r.error}`
    : `${r.total.toFixed(2)} / ${r.maxTotal} (${TASK_NUMBERS.map((t) => r.status[t]).join(", ")})${
      p.skipped ? ", unchanged: skipped" : `, ${r.wallSeconds.toFixed(1)} s`
    }`;
  // ETA from the students graded in this run (skipped ones cost nothing).
  const left = p.total - p.done;
  const eta = p.graded > 0 ? (p.elapsedSeconds / p.graded) * left : NaN;
  if (!tty) return `[${p.done}/${p.total}] ${p.student}: ${what}`;
  const width = 24;
  const filled = Math.round((p.done / Math.max(1, p.total)) * width);
  return `\r\x1b[K[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${p.done}/${p.total} ` +
    `${clock(p.elapsedSeconds)} elapsed, ETA ${left === 0 ? "0:00" : clock(eta)}; ` +
    `${p.student}: ${what}`.slice(0, 200);
}

/** Runs `deno task grade-class` with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let a: ClassArgs | "help";
  try {
    a = parseClassArgs(args);
    if (a !== "help") await Deno.stat(a.classDir);
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n\n${CLASS_HELP}`);
    return 2;
  }
  if (a === "help") {
    console.log(CLASS_HELP);
    return 0;
  }
  let loaded: Awaited<ReturnType<typeof loadGradeData>>;
  try {
    loaded = await loadGradeData({
      dataDir: a.dataDir,
      cacheDir: a.cacheDir,
      protocol: a.protocol,
      projectRoot: PROJECT_ROOT,
      log: (l) => console.error(l),
    });
  } catch (err) {
    console.error(
      `error: could not load the notMNIST data: ${(err as Error).message}\n` +
        `Set NOTMNIST_DIR or pass --data-dir to the folder holding notMNIST_small.tar.gz.`,
    );
    return 2;
  }
  const plan = planJobs(navigator.hardwareConcurrency ?? 1, a.jobs);
  const trustedEnv: Record<string, string> = {};
  for (const name of TRUSTED_ENV_NAMES) {
    const v = Deno.env.get(name);
    if (v !== undefined) trustedEnv[name] = v;
  }
  trustedEnv.NOTMNIST_BLAS_THREADS = String(plan.blasThreads);
  trustedEnv.OPENBLAS_NUM_THREADS = String(plan.blasThreads);
  const tty = Deno.stderr.isTerminal();
  console.error(
    `grading ${a.classDir} into ${a.out}: profile ${a.profile}, protocol ${loaded.data.protocol}, ` +
      `${plan.jobs} job(s) x ${plan.blasThreads} BLAS thread(s), ` +
      `${a.trusted ? "trusted (FFI allowed)" : "sandboxed, no FFI"}`,
  );
  const result = await gradeClass({
    classDir: a.classDir,
    outDir: a.out,
    jobs: plan.jobs,
    profile: a.profile,
    data: loaded.data,
    dataSha256: loaded.dataSha256,
    seed: a.seed,
    trainSize: a.trainSize,
    epochs: a.epochs,
    timeoutScale: a.timeoutScale,
    trusted: a.trusted,
    backend: a.backend,
    projectRoot: PROJECT_ROOT,
    forbiddenRoots: loaded.forbiddenRoots,
    trustedEnv,
    provenance: loaded.provenance,
    onProgress: (p) => {
      const line = progressLine(p, tty);
      if (tty) Deno.stderr.writeSync(new TextEncoder().encode(line));
      else console.error(line);
    },
  });
  if (tty) console.error("");
  for (const i of result.ignored) console.error(`ignored ${i}`);
  const errors = result.rows.filter((r) => r.error);
  console.log(
    `${result.rows.length} students: ${result.graded.length} graded, ${result.skipped.length} ` +
      `unchanged (skipped)${errors.length ? `, ${errors.length} grader errors` : ""}; ` +
      `wrote ${result.files.gradebook}, ${result.files.classReport}`,
  );
  return errors.length > 0 ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
