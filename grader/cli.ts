/**
 * `deno task grade`: grades the lab's four tasks (or a student's modules) on
 * the real data and writes out/grade/{results.json, junit.xml, summary.md,
 * report.json}. Exit code 0 only when every required threshold holds; 1 when
 * one is missed; 2 on a usage or data error. See docs/grader.md.
 *
 * @module
 */
import { basename, join } from "node:path";
import { loadSplits, resolveCacheDir, resolveDataDir } from "../data.ts";
import { type GradeArgs, HELP, parseGradeArgs } from "./args.ts";
import { PROJECT_ROOT } from "./project.ts";
import { TRUSTED_ENV_NAMES } from "./trusted_env.ts";
import { grade, type TaskSpec } from "./grade.ts";
import { dataLoadAdvice } from "./grade_data.ts";
import { typecheckTask } from "./intake/typecheck.ts";
import type { GradeReport } from "./report/types.ts";
import { writeReports } from "./report/reports.ts";
import { LAB_TARGET, RUBRIC } from "./rubric/rubric.ts";
import { dataFileRecords, type FileRecord, gitCommit, versions } from "./report/provenance.ts";
import { pct } from "../utils/format.ts";
import { type HiddenTest, loadHiddenTest } from "./hidden_test.ts";
import { pctExplaining } from "./rubric/shown_digits.ts";
import { clearTaskFolders, writeAllTasks } from "./report/graded_so_far.ts";

function envOrUndefined(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** The console table printed at the end of a grade. */
export function summaryTable(report: GradeReport): string[] {
  const lines = [
    `protocol ${report.protocol} (${pct(LAB_TARGET)} is the lab-protocol target), ` +
    `profile ${report.profile}, seed ${report.seed}`,
    "task  test acc  pass at  full at  target  points        result  wall      backend",
  ];
  for (const t of report.tasks) {
    const main = t.runs[0]?.metrics.main;
    const wall = t.runs.reduce((s, r) => s + r.wallSeconds, 0);
    lines.push(
      `${String(t.task).padEnd(6)}${
        (main
          ? pctExplaining(main.testAccuracy, [t.thresholds.pass, t.thresholds.fullCredit])
          : "—").padEnd(10)
      }` +
        `${pct(t.thresholds.pass).padEnd(9)}${pct(t.thresholds.fullCredit).padEnd(9)}` +
        `${pct(LAB_TARGET).padEnd(8)}${`${t.score.toFixed(2)} / ${t.maxScore}`.padEnd(14)}` +
        `${(t.passed ? "PASS" : "FAIL").padEnd(8)}${`${wall.toFixed(1)} s`.padEnd(10)}` +
        `${t.runs[0]?.backend ?? "unknown"}`,
    );
    for (const test of t.tests.filter((x) => !x.passed)) {
      lines.push(`      ✗ ${test.name}: ${test.output.split("\n")[0]}`);
    }
  }
  lines.push(
    `score ${report.score.toFixed(2)} / ${report.maxScore}: ${report.passed ? "PASS" : "FAIL"} ` +
      `(${report.executionSeconds.toFixed(1)} s)` +
      ((report.missingTasks ?? []).length > 0
        ? `; not graded: ${(report.missingTasks ?? []).map((t) => `task ${t}`).join(", ")}`
        : ""),
  );
  return lines;
}

/** `tasks` with the type errors `deno check` finds in each module as intake findings. */
async function withTypeErrors(tasks: TaskSpec[], log: (line: string) => void): Promise<TaskSpec[]> {
  const out: TaskSpec[] = [];
  for (const t of tasks) {
    log(`task ${t.task}: deno check ${t.module}`);
    const found = await typecheckTask(t.task, t.module, join(PROJECT_ROOT, "deno.json"));
    if (found) log(`task ${t.task}: ${found.message.split("\n").slice(0, 4).join("\n  ")}`);
    out.push(found ? { ...t, findings: [...(t.findings ?? []), found] } : t);
  }
  return out;
}

/** Runs the grader CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let a: GradeArgs | "help";
  try {
    a = parseGradeArgs(args);
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (a === "help") {
    console.log(HELP);
    return 0;
  }
  const log = (line: string): void => console.log(line);

  let splits: Awaited<ReturnType<typeof loadSplits>>;
  let dataDir: string;
  let cacheDir: string;
  try {
    dataDir = resolveDataDir(a.dataDir);
    cacheDir = await resolveCacheDir(dataDir, a.cacheDir);
    splits = await loadSplits({
      dataDir,
      cacheDir,
      protocol: a.protocol,
      sanitize: true,
      download: a.download,
      log,
    });
  } catch (err) {
    console.error(
      `error: could not load the notMNIST data: ${(err as Error).message}` +
        dataLoadAdvice(err, a.download),
    );
    return 2;
  }

  let hidden: HiddenTest | undefined;
  try {
    hidden = a.hiddenTest === undefined ? undefined : await loadHiddenTest(a.hiddenTest, log);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return 2;
  }
  const forbiddenRoots = [dataDir, cacheDir, ...(hidden ? [hidden.forbidden] : [])];
  const dataFiles: FileRecord[] = splits.summary.sources.map((src) => ({
    path: src.path,
    name: basename(src.path),
    bytes: src.bytes,
    sha256: src.sha256 ?? "(folder: not hashed)",
  }));
  const trustedEnv: Record<string, string> = {};
  for (const name of TRUSTED_ENV_NAMES) {
    const v = envOrUndefined(name);
    if (v !== undefined) trustedEnv[name] = v;
  }
  log(
    `grading ${a.tasks.map((t) => `task ${t.task}`).join(", ")}: protocol ${splits.protocol}, ` +
      `profile ${a.profile}, seed ${a.seed ?? RUBRIC.seed}` +
      (a.repeat > 1 ? `, ${a.repeat} runs each` : "") +
      (a.studentMode && !a.tasks[0].trusted
        ? " (sandboxed: a Worker without permissions, native BLAS served to it)"
        : ""),
  );
  await clearTaskFolders(a.out, a.tasks.map((t) => t.task));
  // A student's modules are type-checked first: type errors are shown, as the teacher sees them.
  const tasks = a.studentMode ? await withTypeErrors(a.tasks, log) : a.tasks;
  let report: GradeReport;
  try {
    report = await grade({
      data: {
        protocol: splits.protocol,
        train: splits.train,
        valid: splits.valid,
        test: splits.test,
        hidden: hidden?.set,
      },
      tasks,
      profile: a.profile,
      seed: a.seed,
      repeat: a.repeat,
      outDir: a.out,
      projectRoot: PROJECT_ROOT,
      backend: { force: a.backend, numerics: a.numerics },
      numerics: a.numerics,
      forbiddenRoots,
      trainSize: a.trainSize,
      epochs: a.epochs,
      timeoutScale: a.timeoutScale,
      trustedEnv,
      log,
      verbose: a.verbose,
      overrideIntegrity: a.overrideIntegrity,
      provenance: {
        dataDir,
        dataFiles: [
          ...(dataFiles.length > 0 ? dataFiles : await dataFileRecords(dataDir)),
          ...(hidden ? [hidden.record] : []),
        ],
        dataSummary: splits.summary,
        versions: await versions(join(PROJECT_ROOT, "deno.json")),
        commit: await gitCommit(PROJECT_ROOT),
      },
    });
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return 2;
  }
  const written = await writeReports(a.out, report);
  const allTasks = await writeAllTasks(a.out, report, RUBRIC);
  log("");
  for (const line of summaryTable(report)) log(line);
  log(`reports: ${written.join(", ")}; every task graded so far: ${allTasks}`);
  // The exit code covers the tasks graded in this run (a self-check of one task, one
  // classroom test per task); the report's own result also counts the missing tasks.
  return report.tasks.every((t) => t.passed) ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
