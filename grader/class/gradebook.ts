/**
 * The class gradebook: one row per student (also the resume record), and its
 * renderings, `gradebook.csv` (spreadsheet-safe cells) and `class.md` (score
 * statistics, the histogram, failures by check and per student).
 *
 * @module
 */
import type { GradeReport } from "../report/types.ts";
import {
  RUBRIC,
  type Rubric,
  TASK_NUMBERS,
  type TaskNumber,
  taskPoints,
  taskRubric,
} from "../rubric/rubric.ts";
import { describeFingerprint } from "../../compute/numerics.ts";
import { mdPath, mdText } from "../../utils/markdown.ts";
import { printable } from "../../utils/printable.ts";
import { createHash } from "node:crypto";
import { type FileFingerprint, similarityGroups, similarTo } from "./similarity.ts";
import { integrityStatus } from "../rubric/integrity.ts";

/** Status of one task in the gradebook. */
export type TaskStatus =
  | "pass"
  | "below threshold"
  | `failed: ${string}`
  | `flagged${string}`
  | "missing";

/** One row of the gradebook (also the resume record, `<out>/<student>/gradebook_row.json`). */
export interface GradebookRow {
  /** The student's safe name (the folder name, or one derived from it: `student_names.ts`). */
  student: string;
  /** The student folder's raw name, when it differs from `student`. */
  folder?: string;
  /** Points per task (0 for a missing task). */
  points: Record<TaskNumber, number>;
  /** Status per task. */
  status: Record<TaskNumber, TaskStatus>;
  /** Points earned. */
  total: number;
  /** Points available (all four tasks). */
  maxTotal: number;
  /** Wall-clock seconds of this student's grading. */
  wallSeconds: number;
  /** Backends the tasks ran on (`+`-joined; "unknown" only when no task reported one). */
  backend: string;
  /** The report's numerics fingerprint, when the report carries one ("" otherwise). */
  numericsFingerprint: string;
  /** SHA-256 of the staged submission. */
  submissionSha256: string;
  /** SHA-256 of the rubric. */
  rubricSha256: string;
  /** SHA-256 of the grading settings (rubric hash, profile, seed, overrides). */
  settingsSha256: string;
  /** SHA-256 of the data (archive hashes, protocol, split sizes). */
  dataSha256: string;
  /** Names of the tests that failed. */
  failedChecks: string[];
  /** Set when grading this student failed on the grader's side (the row is retried). */
  error?: string;
  /** ISO time of grading. */
  gradedAt: string;
  /** Hashes of the task files, skeletons left out (grader/class/similarity.ts). */
  files?: Partial<Record<TaskNumber, FileFingerprint>>;
  /** Tasks whose repeated runs (`--repeat`) gave different predictions. */
  nondeterministic?: TaskNumber[];
}

/** A short id of a numerics fingerprint (8 hex digits of its SHA-256; "" for none). */
export function numericsId(fingerprint: string): string {
  return fingerprint === ""
    ? ""
    : createHash("sha256").update(fingerprint).digest("hex").slice(0, 8);
}

/**
 * The gradebook's numerics column: the report's fingerprint as one line
 * (mode, CPU, BLAS kernel and threads, bit-identity), "" for a report
 * without one (an old report), so the column stays empty rather than invented.
 */
export function gradebookNumerics(report: GradeReport): string {
  return report.numerics ? describeFingerprint(report.numerics) : "";
}

/** The gradebook row of a report (missing tasks get 0 points and status `missing`). */
export function rowOf(
  student: string,
  report: GradeReport,
  hashes: { submission: string; rubric: string; settings: string; data: string },
  wallSeconds: number,
  rubric: Rubric = RUBRIC,
): GradebookRow {
  const points = {} as Record<TaskNumber, number>;
  const status = {} as Record<TaskNumber, TaskStatus>;
  for (const task of TASK_NUMBERS) {
    const t = report.tasks.find((x) => x.task === task);
    points[task] = t ? t.score : 0;
    if (!t) status[task] = "missing";
    else if (t.runs.some((r) => r.failureKind)) {
      status[task] = `failed: ${t.runs.find((r) => r.failureKind)?.failureKind}`;
    } else {
      status[task] = integrityStatus(t.integrity) ??
        (t.passed ? "pass" : "below threshold");
    }
  }
  return {
    student,
    points,
    status,
    total: report.score,
    maxTotal: TASK_NUMBERS.reduce((s, t) => s + taskPoints(taskRubric(t, rubric)), 0),
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    backend:
      (report.backends.filter((b) => b !== "unknown").length > 0
        ? report.backends.filter((b) => b !== "unknown")
        : report.backends).join("+"),
    numericsFingerprint: gradebookNumerics(report),
    submissionSha256: hashes.submission,
    rubricSha256: hashes.rubric,
    settingsSha256: hashes.settings,
    dataSha256: hashes.data,
    failedChecks: report.tests.filter((t) => !t.passed).map((t) => t.name),
    gradedAt: new Date().toISOString(),
  };
}

/** The gradebook's CSV header. */
export const GRADEBOOK_COLUMNS: readonly string[] = [
  "student",
  ...TASK_NUMBERS.map((t) => `task${t}_points`),
  "total",
  "max_total",
  ...TASK_NUMBERS.map((t) => `task${t}_status`),
  "wall_seconds",
  "backend",
  "numerics_id",
  "submission_sha256",
  "folder",
  "similar_to",
  "nondeterministic",
];

function csvCell(value: string | number): string {
  const s = String(value);
  // A leading =, +, - or @ (after blanks: a tab or CR can lead one) would be a formula in a
  // spreadsheet: quote it as text. A `;` or tab is a separator in some locales: the cell is
  // quoted then, so a `;=...` inside it never starts a cell of its own.
  const safe = /^\s*[=+\-@]/.test(s) || /^[\t\r]/.test(s) ? `'${s}` : s;
  return /[",;\t\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Renders the gradebook (rows sorted by student) as CSV. */
export function gradebookCsv(rows: GradebookRow[]): string {
  const lines = [GRADEBOOK_COLUMNS.join(",")];
  const groups = similarityGroups(rows);
  for (const r of [...rows].sort((a, b) => (a.student < b.student ? -1 : 1))) {
    lines.push(
      [
        r.student,
        ...TASK_NUMBERS.map((t) => r.points[t].toFixed(2)),
        r.total.toFixed(2),
        r.maxTotal,
        ...TASK_NUMBERS.map((t) => r.error ? `error: ${r.error}` : r.status[t]),
        r.wallSeconds.toFixed(1),
        r.backend,
        numericsId(r.numericsFingerprint),
        r.submissionSha256,
        r.folder === undefined ? "" : printable(r.folder),
        similarTo(r.student, groups),
        (r.nondeterministic ?? []).map((t) => `task${t}`).join(" "),
      ].map(csvCell).join(","),
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Renders `class.md`: score statistics, the histogram, failures by check,
 * identical and nondeterministic submissions, the numerics fingerprints and
 * per student. `students` is the class size: students without a row yet (not
 * reached: still to come, or the run was stopped) are counted as such.
 */
export function classMarkdown(
  rows: GradebookRow[],
  histogram: string,
  students: number = rows.length,
): string {
  const totals = rows.filter((r) => !r.error).map((r) => r.total).sort((a, b) => a - b);
  const max = rows[0]?.maxTotal ?? 100;
  const mean = totals.reduce((a, b) => a + b, 0) / Math.max(1, totals.length);
  const median = totals.length === 0
    ? NaN
    : totals.length % 2
    ? totals[(totals.length - 1) / 2]
    : (totals[totals.length / 2 - 1] + totals[totals.length / 2]) / 2;
  const checks = new Map<string, number>();
  for (const r of rows) for (const c of r.failedChecks) checks.set(c, (checks.get(c) ?? 0) + 1);
  const kinds = new Map<string, number>();
  for (const r of rows) {
    for (const t of TASK_NUMBERS) {
      const s = r.status[t];
      if (s !== "pass") kinds.set(s, (kinds.get(s) ?? 0) + 1);
    }
  }
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "—");
  const out = [
    `# Class grade`,
    ``,
    `${Math.max(students, rows.length)} students; ${totals.length} graded` +
    (rows.length > totals.length
      ? `, ${rows.length - totals.length} failed on the grader's side`
      : "") +
    (students > rows.length
      ? `, ${students - rows.length} not reached (still to come, or the run was stopped)`
      : "") +
    `. Total points: mean ${f(mean)}, median ${f(median)}, min ${f(totals[0] ?? NaN)}, ` +
    `max ${f(totals[totals.length - 1] ?? NaN)} (of ${max}).`,
    ``,
    `![score distribution](${histogram})`,
    ``,
    `## Checks that failed most often`,
    ``,
  ];
  const sorted = [...checks.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (sorted.length === 0) out.push(`No check failed.`);
  else {
    out.push(`| Check | Students |`, `|---|---|`);
    for (const [name, n] of sorted.slice(0, 15)) {
      out.push(`| ${mdText(name)} | ${n} |`);
    }
  }
  out.push(``, `## Task outcomes other than pass`, ``);
  if (kinds.size === 0) out.push(`Every task of every student passed.`);
  else {
    out.push(`| Status | Tasks |`, `|---|---|`);
    for (const [k, n] of [...kinds.entries()].sort((a, b) => b[1] - a[1])) {
      out.push(`| ${mdText(k)} | ${n} |`);
    }
  }
  out.push(...flagSections(rows));
  out.push(
    ``,
    `## Students`,
    ``,
    `| Student | ${TASK_NUMBERS.map((t) => `Task ${t}`).join(" | ")} | Total | Wall | Numerics |`,
    `|---|${TASK_NUMBERS.map(() => "---|").join("")}---|---|---|`,
  );
  for (const r of [...rows].sort((a, b) => (a.student < b.student ? -1 : 1))) {
    out.push(
      `| [${mdText(r.student)}](${mdPath(r.student)}/summary.md)${
        r.folder === undefined ? "" : ` (folder "${mdText(printable(r.folder))}")`
      } | ${
        TASK_NUMBERS.map((t) => `${r.points[t].toFixed(1)} (${r.error ? "error" : r.status[t]})`)
          .join(" | ")
      } | ${r.total.toFixed(2)} | ${r.wallSeconds.toFixed(1)} s | ${
        numericsId(r.numericsFingerprint) || "—"
      } |`,
    );
  }
  return out.join("\n") + "\n";
}

/** class.md's sections on copies, nondeterminism and the numerics fingerprints. */
function flagSections(rows: GradebookRow[]): string[] {
  const out = [``, `## Identical and near-identical submissions`, ``];
  const groups = similarityGroups(rows);
  if (groups.length === 0) out.push(`No two students share a task file (skeletons left out).`);
  else {
    out.push(`| Task | Kind | Students |`, `|---|---|---|`);
    for (const g of groups) {
      out.push(`| ${g.task} | ${g.kind} | ${g.students.map(mdText).join(", ")} |`);
    }
  }
  out.push(``, `## Nondeterministic submissions`, ``);
  const nondet = rows.filter((r) => (r.nondeterministic ?? []).length > 0);
  if (nondet.length === 0) {
    out.push(
      `None flagged (predictions are compared between runs only with \`--repeat 2\` or more).`,
    );
  } else {
    for (const r of nondet) {
      out.push(
        `- ${mdText(r.student)}: predictions differ between repeated runs of ${
          (r.nondeterministic ?? []).map((t) => `task ${t}`).join(", ")
        }`,
      );
    }
  }
  out.push(``, `## Numerics fingerprints`, ``);
  const prints = [...new Set(rows.map((r) => r.numericsFingerprint).filter((f) => f !== ""))];
  if (prints.length === 0) out.push(`No report carries a numerics fingerprint.`);
  for (const fp of prints.sort()) {
    const n = rows.filter((r) => r.numericsFingerprint === fp).length;
    out.push(`- \`${numericsId(fp)}\` (${n} students): ${mdText(fp)}`);
  }
  return out;
}
