/**
 * Sandboxed versus trusted grading, and no native library versus OpenBLAS:
 * runs `deno task grade --profile quick` on the lab's own modules for tasks 1
 * and 4, trusted (`--only N`, reproducible, `NOTMNIST_BLAS_LIB=none`: no
 * native library), graded as a student's (`--task N=./tasks/taskN.ts`: the
 * permission-less Worker, engine served by its host) and trusted with
 * `--numerics fast` (native OpenBLAS), interleaved over `--rounds` rounds (the
 * order alternates each round), and prints per task
 * `ratio no_native_vs_openblas_fast task=N value=W` (trusted / fast) and
 * `ratio sandboxed_vs_trusted task=N value=X` (the median over rounds
 * of each round's sandboxed / trusted task wall-clock, from each report's
 * `wallSeconds`: the two runs of a round ran back to back under about the
 * same load) and whether the two
 * gave the same test accuracy and bit-identical predictions (same backend,
 * same seed).
 *
 * Usage: `deno task bench grade [--rounds=3] [--tasks=1,4]`
 * (needs `NOTMNIST_DIR`, as `deno task grade` does). Not a test: nothing
 * fails on a slow machine. The machine may be shared: compare figures from
 * one run only; the load average is printed with them.
 *
 * @module
 */
import { join } from "node:path";
import {
  intFlag,
  listFlag,
  parseFlags,
  parseInteger,
  switchFlag,
  usageLines,
} from "../deps/flags.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const GRADE_FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-net",
  "--allow-ffi",
  "--allow-sys",
  "--allow-run",
];

/** One measured grading run of one task. */
export interface GradeRun {
  /** Task number. */
  task: number;
  /**
   * `trusted` (the lab's own module in the task's isolate, reproducible, with
   * `NOTMNIST_BLAS_LIB=none`: no native library), `sandboxed` (graded Worker,
   * reproducible) or `fast` (trusted, `--numerics fast`: native OpenBLAS).
   */
  mode: "trusted" | "sandboxed" | "fast";
  /** The task's wall-clock seconds, as the grader measured its subprocess. */
  wallSeconds: number;
  /** Test accuracy of `main`. */
  testAccuracy: number;
  /** SHA-256 digests of the predictions. */
  digest: string;
  /** Backend reported by the run. */
  backend: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

async function cpuModel(): Promise<string> {
  try {
    const text = await Deno.readTextFile("/proc/cpuinfo");
    return /^model name\s*:\s*(.+)$/m.exec(text)?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Runs one grade of `task` in `mode`; returns its measurements. */
async function gradeOnce(task: number, mode: GradeRun["mode"]): Promise<GradeRun> {
  const out = await Deno.makeTempDir({ prefix: "grade-bench-" });
  try {
    const which = mode === "sandboxed"
      ? ["--task", `${task}=./tasks/task${task}.ts`]
      : ["--only", String(task), ...(mode === "fast" ? ["--numerics", "fast"] : [])];
    const cmd = new Deno.Command(Deno.execPath(), {
      args: ["run", ...GRADE_FLAGS, "grader/cli.ts", "--profile", "quick", ...which, "--out", out],
      cwd: ROOT,
      env: mode === "trusted" ? { NOTMNIST_BLAS_LIB: "none" } : {},
      stdout: "piped",
      stderr: "piped",
    });
    const res = await cmd.output();
    if (!res.success) {
      throw new Error(
        `grade (${mode}, task ${task}) failed:\n${new TextDecoder().decode(res.stderr)}` +
          new TextDecoder().decode(res.stdout).slice(-2000),
      );
    }
    const report = JSON.parse(await Deno.readTextFile(join(out, "report.json"))) as {
      tasks: {
        runs: {
          wallSeconds: number;
          backend?: string;
          error?: string;
          digests?: Record<string, string>;
          metrics: Record<string, { testAccuracy: number }>;
        }[];
      }[];
    };
    const run = report.tasks[0].runs[0];
    if (run.error) throw new Error(`grade (${mode}, task ${task}): ${run.error}`);
    return {
      task,
      mode,
      wallSeconds: run.wallSeconds,
      testAccuracy: run.metrics.main.testAccuracy,
      digest: run.digests?.main ?? "",
      backend: run.backend ?? "unknown",
    };
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
}

/** The flags of the grading benchmark. */
export const GRADE_BENCH_FLAGS = {
  rounds: intFlag({
    help: "rounds of trusted + sandboxed runs per task (the order alternates)",
    min: 1,
    max: 20,
    default: 3,
  }),
  tasks: listFlag({
    arg: "N,N",
    help: "tasks to grade",
    default: [1, 4],
    parse: (item, name) => parseInteger(item, name, 1, 4),
  }),
  help: switchFlag("this text", "h"),
};

if (import.meta.main) {
  const { values: flags } = parseFlags(Deno.args, GRADE_BENCH_FLAGS);
  if (flags.help) {
    console.log(["deno task bench grade [flags]", "", ...usageLines(GRADE_BENCH_FLAGS)].join("\n"));
    Deno.exit(0);
  }
  const rounds = flags.rounds;
  const tasks = flags.tasks;
  console.log(`cpu: ${await cpuModel()}; cores: ${navigator.hardwareConcurrency}`);
  const runs: GradeRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const task of tasks) {
      const order: GradeRun["mode"][] = round % 2 === 1
        ? ["trusted", "sandboxed", "fast"]
        : ["fast", "sandboxed", "trusted"];
      for (const mode of order) {
        const before = await loadAverage();
        const r = await gradeOnce(task, mode);
        runs.push(r);
        console.log(
          `round ${round} task ${task} ${mode.padEnd(9)} wall ${r.wallSeconds.toFixed(2)} s ` +
            `test acc ${r.testAccuracy.toFixed(4)} on ${r.backend} (load ${before})`,
        );
      }
    }
  }
  for (const task of tasks) {
    const of = (mode: GradeRun["mode"]) => runs.filter((r) => r.task === task && r.mode === mode);
    const trusted = of("trusted");
    const sandboxed = of("sandboxed");
    // Each round's two runs ran back to back under about the same load: their ratio is the
    // paired measure; the median over rounds is the figure, the ratio of the fastest runs a check.
    const paired = trusted.map((t, i) => sandboxed[i].wallSeconds / t.wallSeconds);
    const ratio = median(paired);
    const best = Math.min(...sandboxed.map((r) => r.wallSeconds)) /
      Math.min(...trusted.map((r) => r.wallSeconds));
    const fast = of("fast");
    const noNative = median(trusted.map((t, i) => t.wallSeconds / fast[i].wallSeconds));
    console.log(`ratio no_native_vs_openblas_fast task=${task} value=${noNative.toFixed(3)}`);
    const digests = new Set([...trusted, ...sandboxed].map((r) => r.digest));
    const accs = new Set([...trusted, ...sandboxed].map((r) => r.testAccuracy));
    console.log(`ratio sandboxed_vs_trusted task=${task} value=${ratio.toFixed(3)}`);
    console.log(
      `per-round ratios task=${task}: ${paired.map((r) => r.toFixed(3)).join(" ")}; ` +
        `fastest sandboxed / fastest trusted ${best.toFixed(3)}; median walls ` +
        `${median(sandboxed.map((r) => r.wallSeconds)).toFixed(2)} s / ` +
        `${median(trusted.map((r) => r.wallSeconds)).toFixed(2)} s`,
    );
    console.log(
      `same_test_accuracy task=${task} value=${accs.size === 1} ` +
        `(${[...accs].map((a) => a.toFixed(4)).join(", ")})`,
    );
    console.log(`same_predictions task=${task} value=${digests.size === 1}`);
  }
  console.log(`load average at the end: ${await loadAverage()}`);
}
