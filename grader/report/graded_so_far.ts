/**
 * A report folder shared by several self-checks (`deno task grade --task 4=...`
 * today, `--task 1=...` tomorrow, both into out/grade): each run first clears
 * the folders of the tasks it grades (no stale pictures or models of an older
 * run), records each graded task in `<out>/taskN/graded.json`, and rebuilds
 * `<out>/all_tasks.md`, the summary of every task graded so far, out of the
 * whole rubric, naming the tasks not graded yet.
 *
 * @module
 */
import { join } from "node:path";
import { atomicWrite, atomicWriteJson } from "../../utils/atomic_write.ts";
import { type Rubric, TASK_NUMBERS, type TaskNumber, taskPoints } from "../rubric/rubric.ts";
import type { GradeReport } from "./types.ts";

/** One task's line of the graded-so-far summary (`<out>/taskN/graded.json`). */
export interface GradedTask {
  /** Task number. */
  task: TaskNumber;
  /** Points earned. */
  score: number;
  /** Points available. */
  maxScore: number;
  /** Whether every required test of the task passed. */
  passed: boolean;
  /** The module graded. */
  module: string;
  /** Profile and protocol of that run. */
  profile: string;
  /** Protocol of that run. */
  protocol: string;
  /** When that run started (ISO). */
  gradedAt: string;
}

/** File name of a task's record inside its folder. */
export const GRADED_TASK_FILE = "graded.json";
/** File name of the summary of every task graded so far. */
export const ALL_TASKS_FILE = "all_tasks.md";

/** Removes `<out>/taskN` and `<out>/taskN.runK` of the tasks about to be graded. */
export async function clearTaskFolders(
  outDir: string,
  tasks: readonly TaskNumber[],
): Promise<void> {
  let names: string[] = [];
  try {
    names = (await Array.fromAsync(Deno.readDir(outDir))).map((e) => e.name);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^task([1-4])(\.run\d+)?$/.exec(name);
    if (m && tasks.includes(Number(m[1]) as TaskNumber)) {
      await Deno.remove(join(outDir, name), { recursive: true });
    }
  }
}

/** Writes `<out>/taskN/graded.json` for every task of `report`. */
export async function recordGradedTasks(outDir: string, report: GradeReport): Promise<void> {
  for (const t of report.tasks) {
    const entry: GradedTask = {
      task: t.task as TaskNumber,
      score: t.score,
      maxScore: t.maxScore,
      passed: t.passed,
      module: t.module,
      profile: report.profile,
      protocol: report.protocol,
      gradedAt: report.startedAt,
    };
    await atomicWriteJson(join(outDir, `task${t.task}`, GRADED_TASK_FILE), entry);
  }
}

/** Reads the graded.json of every task folder in `outDir` (unreadable ones are left out). */
export async function readGradedTasks(outDir: string): Promise<GradedTask[]> {
  const out: GradedTask[] = [];
  for (const task of TASK_NUMBERS) {
    try {
      const text = await Deno.readTextFile(join(outDir, `task${task}`, GRADED_TASK_FILE));
      out.push(JSON.parse(text) as GradedTask);
    } catch {
      // not graded yet (or not by this version of the grader)
    }
  }
  return out;
}

/** The summary of every task graded so far, out of the whole rubric. */
export function allTasksMarkdown(graded: readonly GradedTask[], rubric: Rubric): string {
  const byTask = new Map(graded.map((g) => [g.task, g]));
  const max = rubric.tasks.reduce((s, t) => s + taskPoints(t), 0);
  const score = graded.reduce((s, g) => s + g.score, 0);
  const missing = rubric.tasks.filter((t) => !byTask.has(t.task)).map((t) => t.task);
  const profiles = new Set(graded.map((g) => `${g.profile}/${g.protocol}`));
  const passed = missing.length === 0 && graded.every((g) => g.passed) && profiles.size <= 1;
  const lines = [
    `# notMNIST lab — every task graded so far`,
    ``,
    `**Result: ${passed ? "PASS" : "FAIL"}** — ${score.toFixed(2)} / ${max} points` +
    (missing.length > 0
      ? `; not graded yet: ${missing.map((t) => `task ${t}`).join(", ")} (0 points each)`
      : "") +
    (profiles.size > 1 ? `; the tasks were graded under different profiles` : "") + `.`,
    ``,
    `| Task | Points | Result | Profile | Graded at | Module |`,
    `|---|---|---|---|---|---|`,
  ];
  for (const t of rubric.tasks) {
    const g = byTask.get(t.task);
    lines.push(
      g
        ? `| ${t.task} | ${g.score.toFixed(2)} / ${g.maxScore} | ${g.passed ? "PASS" : "FAIL"} | ` +
          `${g.profile} (${g.protocol}) | ${g.gradedAt} | \`${g.module.replace(/[`|\n]/g, "_")}\` |`
        : `| ${t.task} | 0.00 / ${taskPoints(t)} | not graded | | | |`,
    );
  }
  return lines.join("\n") + "\n";
}

/** Records `report`'s tasks and rebuilds `<out>/all_tasks.md`; returns its path. */
export async function writeAllTasks(
  outDir: string,
  report: GradeReport,
  rubric: Rubric,
): Promise<string> {
  await recordGradedTasks(outDir, report);
  const path = join(outDir, ALL_TASKS_FILE);
  await atomicWrite(path, allTasksMarkdown(await readGradedTasks(outDir), rubric));
  return path;
}
