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
import {
  type FlagValues,
  intFlag,
  parseFlags,
  stringFlag,
  switchFlag,
  usageLines,
} from "../../deps/flags.ts";
import { GRADE_FLAGS } from "../flags.ts";
import { PROJECT_ROOT } from "../project.ts";
import { type ClassProgress, gradeClass } from "./grade_class.ts";
import { TRUSTED_ENV_NAMES } from "../trusted_env.ts";
import { dataLoadAdvice, loadGradeData } from "../grade_data.ts";
import { TASK_NUMBERS } from "../rubric/rubric.ts";
import { printable } from "../../utils/printable.ts";
import { onInterrupt, removeFolders } from "./interrupt.ts";

/**
 * The flags of `deno task grade-class`, declared once; the grading flags
 * reuse `deno task grade`'s declarations.
 */
export const CLASS_SPEC = {
  out: stringFlag({ arg: "DIR", help: "output folder", default: "out/class" }),
  jobs: intFlag({
    help: "students graded at a time",
    min: 1,
    max: 256,
    shownDefault: "the CPU count / $NOTMNIST_BLAS_THREADS (default 1 thread per job)",
  }),
  profile: GRADE_FLAGS.profile,
  "data-dir": GRADE_FLAGS["data-dir"],
  "cache-dir": GRADE_FLAGS["cache-dir"],
  protocol: GRADE_FLAGS.protocol,
  seed: GRADE_FLAGS.seed,
  "train-size": GRADE_FLAGS["train-size"],
  epochs: GRADE_FLAGS.epochs,
  "timeout-scale": GRADE_FLAGS["timeout-scale"],
  repeat: GRADE_FLAGS.repeat,
  "no-typecheck": switchFlag("skip type-checking each submission (deno check, cached-only)"),
  "hidden-test": GRADE_FLAGS["hidden-test"],
  "override-integrity": GRADE_FLAGS["override-integrity"],
  trusted: switchFlag("let student modules use FFI (the native BLAS backend); off by default"),
  backend: GRADE_FLAGS.backend,
  help: switchFlag("this text", "h"),
};

/** The `--help` text. */
export const CLASS_HELP: string = `Usage: deno task grade-class DIR [options]

Grades every student folder of DIR (each holding any of task1.ts .. task4.ts and
local helper modules) in the grader's sandbox, N students at a time, and writes
OUT/<student>/{results.json,junit.xml,summary.md,report.json,taskN/},
OUT/gradebook.csv and OUT/class.md. A rerun skips students whose submission,
rubric, settings and data are unchanged.

Options:
${usageLines(CLASS_SPEC).join("\n")}
`;

/** Parsed arguments of `deno task grade-class`: the flags' values, paths absolute. */
export interface ClassArgs extends Omit<FlagValues<typeof CLASS_SPEC>, "help"> {
  /** The class folder, absolute. */
  classDir: string;
}

/** Parses the arguments; `"help"` for `--help`; throws naming the flag on bad input. */
export function parseClassArgs(args: string[], cwd: string = Deno.cwd()): ClassArgs | "help" {
  const { values, positionals } = parseFlags(args, CLASS_SPEC);
  if (values.help) return "help";
  if (positionals.length !== 1) {
    throw new Error(
      `expected exactly one class folder (DIR), got ${positionals.length}: ` +
        `${positionals.join(" ") || "none"}`,
    );
  }
  const { help: _help, ...rest } = values;
  return {
    ...rest,
    classDir: resolve(cwd, positionals[0]),
    out: resolve(cwd, rest.out),
    dataDir: rest.dataDir === undefined ? undefined : resolve(cwd, rest.dataDir),
    cacheDir: rest.cacheDir === undefined ? undefined : resolve(cwd, rest.cacheDir),
    hiddenTest: rest.hiddenTest === undefined ? undefined : resolve(cwd, rest.hiddenTest),
  };
}

/**
 * Jobs and BLAS threads per job for `cores` CPUs. The threads per job are
 * fixed (`blasThreads`, default 1) and never derived from the job count:
 * OpenBLAS gives different bits with a different thread count, so a grade
 * must not depend on `--jobs`. Without `jobs`, `floor(cores / threads)` jobs
 * (at least 1); `oversubscribed` when jobs x threads exceeds the cores.
 */
export function planJobs(
  cores: number,
  jobs?: number,
  blasThreads = 1,
): { jobs: number; blasThreads: number; oversubscribed: boolean } {
  const c = Math.max(1, Math.floor(cores));
  const t = Math.max(1, Math.floor(blasThreads));
  const j = jobs ?? Math.max(1, Math.floor(c / t));
  return { jobs: j, blasThreads: t, oversubscribed: j * t > c };
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
      hiddenTest: a.hiddenTest,
      projectRoot: PROJECT_ROOT,
      log: (l) => console.error(l),
    });
  } catch (err) {
    console.error(
      `error: could not load the notMNIST data: ${(err as Error).message}` +
        dataLoadAdvice(err, undefined),
    );
    return 2;
  }
  const requested = Number(Deno.env.get("NOTMNIST_BLAS_THREADS"));
  const plan = planJobs(
    navigator.hardwareConcurrency ?? 1,
    a.jobs,
    Number.isInteger(requested) && requested >= 1 ? requested : undefined,
  );
  if (plan.oversubscribed) {
    console.error(
      `warning: ${plan.jobs} jobs x ${plan.blasThreads} BLAS thread(s) exceed the ` +
        `${navigator.hardwareConcurrency} cores (the threads per job stay fixed: they change the bits)`,
    );
  }
  const trustedEnv: Record<string, string> = {};
  for (const name of TRUSTED_ENV_NAMES) {
    const v = Deno.env.get(name);
    if (v !== undefined) trustedEnv[name] = v;
  }
  trustedEnv.NOTMNIST_BLAS_THREADS = String(plan.blasThreads);
  trustedEnv.OPENBLAS_NUM_THREADS = String(plan.blasThreads);
  const tty = Deno.stderr.isTerminal();
  const staging = new Set<string>();
  let last: ClassProgress | undefined;
  const stopWatching = onInterrupt(async (signal) => {
    await removeFolders(staging);
    console.error(
      `\n${signal}: stopped after ${last?.done ?? 0} of ${last?.total ?? "?"} students; ` +
        `temporary folders removed; ${a.out}/class.md counts the students not reached. ` +
        `Run the same command again to resume.`,
    );
  });
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
    overrideIntegrity: a.overrideIntegrity,
    trusted: a.trusted,
    backend: a.backend,
    projectRoot: PROJECT_ROOT,
    forbiddenRoots: loaded.forbiddenRoots,
    trustedEnv,
    provenance: loaded.provenance,
    repeat: a.repeat,
    typecheck: !a.noTypecheck,
    onStaging: (dir, active) => active ? staging.add(dir) : staging.delete(dir),
    onProgress: (p) => {
      last = p;
      const line = progressLine(p, tty);
      if (tty) Deno.stderr.writeSync(new TextEncoder().encode(line));
      else console.error(line);
    },
  });
  stopWatching();
  if (tty) console.error("");
  for (const i of result.ignored) console.error(`ignored ${i}`);
  for (const r of result.renamed) {
    console.error(
      `folder "${printable(r.folder)}" graded as ${r.name} (its name is not a safe one)`,
    );
  }
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
