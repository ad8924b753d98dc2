/**
 * Grade reports: Gradescope's `results.json`, JUnit XML for CI, and a
 * Markdown summary for people, all rendered from one {@link GradeReport}.
 *
 * @module
 */
import { pctExplaining } from "../rubric/shown_digits.ts";
import { join } from "node:path";
import { atomicWrite, atomicWriteJson } from "../../utils/atomic_write.ts";
import { LETTERS } from "../../data/types.ts";
import type { GradeReport, TaskReport } from "./types.ts";
import { budgetLimits, LAB_TARGET } from "../rubric/rubric.ts";
import { pct } from "../../utils/format.ts";
import { escapeXml } from "../../utils/xml.ts";
import { mdCodeBlock, mdCodeSpan, mdPath, mdText } from "../../utils/markdown.ts";
import {
  describeFingerprint,
  isPortableEngine,
  NATIVE_INSTALL_HINT,
  type NumericsFingerprint,
} from "../../compute/numerics.ts";

/** The resource caps of a task's budget, for the report. */
function capsLine(t: TaskReport): string {
  const l = budgetLimits(t.budget);
  return `memory ${l.memoryMb} MiB, output folder ${l.outputMb} MiB, log ${l.logMb} MiB`;
}

/** Visibility of a Gradescope test or output. */
export type GradescopeVisibility = "hidden" | "after_due_date" | "after_published" | "visible";

/** One test in Gradescope's results.json. */
export interface GradescopeTest {
  /** Test name. */
  name: string;
  /** Points earned. */
  score: number;
  /** Points available. */
  max_score: number;
  /** Text shown to the student. */
  output: string;
  /** When the student sees it. */
  visibility: GradescopeVisibility;
  /** "passed" or "failed" (shown as a colour by Gradescope). */
  status: "passed" | "failed";
  /** Test number, e.g. "2.3". */
  number: string;
  /** Tags (task number, required). */
  tags: string[];
}

/** Gradescope's results.json (the fields this grader fills). */
export interface GradescopeResults {
  /** Total score. */
  score: number;
  /** Seconds the grading took. */
  execution_time: number;
  /** Text shown above the tests. */
  output: string;
  /** Visibility of the whole result. */
  visibility: GradescopeVisibility;
  /** Visibility of the autograder's stdout. */
  stdout_visibility: GradescopeVisibility;
  /** The tests. */
  tests: GradescopeTest[];
  /**
   * Extra data Gradescope keeps with the result: the numerics fingerprint and,
   * per task (`task1` ..) and run, each role's prediction digest
   * (`test:train:valid` SHA-256 of the float32 predictions, as report.json's
   * `tasks[].runs[].digests`).
   */
  extra_data?: {
    numerics: NumericsFingerprint;
    digests: Record<string, Record<string, string>[]>;
  };
}

/** Renders the Gradescope results object. */
export function toGradescope(report: GradeReport): GradescopeResults {
  const counters = new Map<number, number>();
  return {
    score: report.score,
    execution_time: Math.round(report.executionSeconds),
    output:
      `${
        report.passed ? "All required thresholds hold." : "Some required thresholds are missed."
      } ` +
      `Protocol ${report.protocol}, profile ${report.profile}, seed ${report.seed}. ` +
      protocolNote(report) + ` ${numericsNote(report.numerics)}`,
    visibility: "visible",
    stdout_visibility: "hidden",
    extra_data: {
      numerics: report.numerics,
      digests: Object.fromEntries(
        report.tasks.map((t) => [`task${t.task}`, t.runs.map((r) => r.digests)]),
      ),
    },
    tests: report.tests.map((t) => {
      const n = (counters.get(t.task) ?? 0) + 1;
      counters.set(t.task, n);
      return {
        name: t.name,
        score: t.score,
        max_score: t.maxScore,
        output: t.output,
        visibility: "visible",
        status: t.passed ? "passed" : "failed",
        number: `${t.task}.${n}`,
        tags: [`task${t.task}`, ...(t.required ? ["required"] : [])],
      };
    }),
  };
}

/**
 * One paragraph on the run's numerics: the mode, the fingerprint, and what it
 * means for comparing these numbers with another machine's.
 */
export function numericsNote(fp: NumericsFingerprint): string {
  const tail = fp.bitIdentical
    ? "These numbers are the reference bits because of the engine: any machine (x86-64 or " +
      "ARM64, any OS, any thread count) running the portable core gives the same ones."
    : fp.mode === "fast"
    ? (isPortableEngine(fp.blas) ? `No native library ran: ${NATIVE_INSTALL_HINT}. ` : "") +
      "Fast numerics: these numbers may differ from machine to machine" +
      (fp.tolerance === undefined
        ? "."
        : ` (by up to ${(fp.tolerance * 100).toFixed(1)} accuracy points).`)
    : `This run's engine does not give the reference bits; the rubric allows accuracies to ` +
      `differ from the reference machine's by up to ` +
      `${((fp.tolerance ?? 0) * 100).toFixed(1)} percentage points.`;
  return `Numerics: ${describeFingerprint(fp)}. ${tail}`;
}

function protocolNote(report: GradeReport): string {
  return report.protocol === "lab"
    ? `The lab's target ${pct(LAB_TARGET)} applies to this protocol (train on notMNIST_large, ` +
      `test on sanitized notMNIST_small).`
    : `The lab's ${
      pct(LAB_TARGET)
    } target belongs to the lab protocol (train on notMNIST_large); ` +
      `this run used the small protocol (grouped, stratified split of notMNIST_small), whose ` +
      `thresholds are lower and measured.`;
}

/** Renders JUnit XML: one testsuite per task, one testcase per graded test. */
export function toJUnit(report: GradeReport): string {
  const a = (s: string | number): string => escapeXml(String(s));
  const failures = report.tests.filter((t) => !t.passed && t.required).length;
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="notmnist-lab grade" tests="${report.tests.length}" failures="${failures}" ` +
    `errors="0" time="${report.executionSeconds.toFixed(3)}">`,
  ];
  for (const task of report.tasks) {
    const tf = task.tests.filter((t) => !t.passed && t.required).length;
    const wall = task.runs.reduce((s, r) => s + r.wallSeconds, 0);
    lines.push(
      `  <testsuite name="task${task.task}" tests="${task.tests.length}" failures="${tf}" errors="0" ` +
        `skipped="0" time="${wall.toFixed(3)}" timestamp="${a(report.startedAt)}">`,
      `    <properties>`,
      ...Object.entries({
        protocol: report.protocol,
        profile: report.profile,
        seed: report.seed,
        module: task.module,
        trusted: task.trusted,
        backend: task.runs[0]?.backend ?? "unknown",
        rubricHash: report.rubricHash,
        numerics: report.numerics.mode,
        numericsBitIdentical: report.numerics.bitIdentical,
        cpu: report.numerics.cpuModel,
      }).map(([k, v]) => `      <property name="${a(k)}" value="${a(String(v))}"/>`),
      `    </properties>`,
    );
    task.tests.forEach((t, i) => {
      const time = i === 0 ? wall : 0;
      lines.push(
        `    <testcase classname="grade.task${task.task}" name="${a(t.name)}" time="${
          time.toFixed(3)
        }">`,
      );
      if (!t.passed && t.required) {
        lines.push(
          `      <failure message="${a(t.output.split("\n")[0].slice(0, 500))}" type="${
            i === 0 ? "TaskError" : "ThresholdMissed"
          }">${a(t.output)}</failure>`,
        );
      }
      lines.push(
        `      <system-out>${a(`score ${t.score} / ${t.maxScore}\n${t.output}`)}</system-out>`,
        `    </testcase>`,
      );
    });
    lines.push(`  </testsuite>`);
  }
  const missing = new Set<number>(report.missingTasks ?? []);
  const notGraded = report.tests.filter((t) => missing.has(t.task));
  if (notGraded.length > 0) {
    lines.push(
      `  <testsuite name="not graded" tests="${notGraded.length}" failures="${notGraded.length}" ` +
        `errors="0" skipped="0" time="0.000" timestamp="${a(report.startedAt)}">`,
      ...notGraded.flatMap((t) => [
        `    <testcase classname="grade.task${t.task}" name="${a(t.name)}" time="0.000">`,
        `      <failure message="${a(t.output)}" type="NotGraded">${a(t.output)}</failure>`,
        `    </testcase>`,
      ]),
      `  </testsuite>`,
    );
  }
  lines.push(`</testsuites>`);
  return lines.join("\n") + "\n";
}

/** The summary's line naming the tasks this run did not grade (none: no line). */
export function missingTasksNote(report: GradeReport): string[] {
  const missing = report.missingTasks ?? [];
  if (missing.length === 0) return [];
  return [
    `**Not graded: ${missing.map((t) => `task ${t}`).join(", ")}** — 0 points each, so the ` +
    `result cannot be PASS without them.`,
    ``,
  ];
}

/** A table cell or inline text from anywhere (a submission included): {@link mdText}. */
const cell = mdText;

function taskRow(t: TaskReport): string {
  const run = t.runs[0];
  const main = run?.metrics.main;
  const wall = t.runs.reduce((s, r) => s + r.wallSeconds, 0);
  const th = t.thresholds;
  const acc = main ? pctExplaining(main.testAccuracy, [th.pass, th.fullCredit, th.floor]) : "—";
  return `| ${t.task} | ${cell(t.title)} | ${acc} | ` +
    `${pct(t.thresholds.pass)} | ${pct(t.thresholds.fullCredit)} | ${pct(LAB_TARGET)} | ` +
    `${t.score.toFixed(2)} / ${t.maxScore} | ${t.passed ? "PASS" : "**FAIL**"} | ${
      wall.toFixed(1)
    } s | ` +
    `${cell(run?.backend ?? "unknown")} |`;
}

/** Renders the Markdown summary (table, per-task details, reproducibility record). */
export function toMarkdown(report: GradeReport): string {
  const out: string[] = [];
  out.push(
    `# notMNIST lab — grade`,
    ``,
    `**Result: ${report.passed ? "PASS" : "FAIL"}** — ${
      report.score.toFixed(2)
    } / ${report.maxScore} points; ` +
      `protocol \`${report.protocol}\`, profile \`${report.profile}\`, seed ${report.seed}` +
      (report.repeat > 1 ? `, ${report.repeat} runs per task` : "") + `.`,
    ``,
    ...missingTasksNote(report),
    `> ${protocolNote(report)} ` +
      (report.splits.hidden === undefined
        ? `Accuracy is measured by the grader on the held-out test split ` +
          `(${report.splits.test} images, sanitized); tasks never see its labels.`
        : `Accuracy for credit is measured by the grader on the hidden test set ` +
          `(${report.splits.hidden} images no student has seen); the public test split ` +
          `(${report.splits.test} images) is reported beside it as feedback. Tasks never see ` +
          `test labels.`),
    ``,
    `> ${numericsNote(report.numerics)}`,
    ``,
    `| Task | | Test accuracy | Pass at | Full credit at | Target (lab) | Points | Result | Wall time | Backend |`,
    `|---|---|---|---|---|---|---|---|---|---|`,
    ...report.tasks.map(taskRow),
    ``,
  );
  for (const t of report.tasks) {
    out.push(
      `## Task ${t.task}: ${t.title}`,
      ``,
      `Module ${mdCodeSpan(t.module)} (${
        t.trusted ? "trusted: FFI allowed" : "sandboxed: permission-less Worker, no FFI in it"
      }); ` +
        `${t.budget.trainCount} training images, epochs ${t.budget.epochs ?? "task default"}, ` +
        `time limit ${t.budget.timeoutSeconds} s, caps: ${capsLine(t)}.`,
      ``,
    );
    const run = t.runs[0];
    const roles = Object.entries(run?.metrics ?? {});
    if (roles.length > 0) {
      out.push(
        `| Role | Model | Train | Valid | Test |`,
        `|---|---|---|---|---|`,
        ...roles.map(([role, m]) =>
          `| ${cell(role)} | ${cell(m.name)} | ${pct(m.trainAccuracy)} | ${
            pct(m.validAccuracy)
          } | ` +
          `${pct(m.testAccuracy)} |`
        ),
        ``,
      );
    }
    if (t.perClass) {
      out.push(
        `Per-letter test accuracy (main): ` +
          t.perClass.map((p, c) =>
            `${LETTERS[c]} ${Number.isFinite(p) ? (p * 100).toFixed(1) : "—"}`
          ).join(", "),
        ``,
      );
    }
    out.push(
      ...t.tests.map((x) =>
        `- ${x.passed ? "✅" : "❌"} **${cell(x.name)}** (${x.score.toFixed(2)} / ${x.maxScore}): ${
          cell(x.output.split("\n")[0])
        }`
      ),
      ``,
    );
    const errors = t.runs.filter((r) => r.error);
    for (const r of errors) {
      out.push(`Run ${r.run} failed:`, ``, ...mdCodeBlock(r.error ?? ""), ``);
    }
    for (const r of t.runs) {
      for (const [role, e] of Object.entries(r.roleErrors)) {
        if (role !== "main" || !r.error) {
          out.push(`- run ${r.run}, role ${cell(role)}: ${cell(e.split("\n")[0])}`);
        }
      }
    }
    if (errors.length > 0 && t.logTail.trim()) {
      out.push(
        ``,
        `Last output of the task:`,
        ``,
        ...mdCodeBlock(t.logTail.split("\n").slice(-15).join("\n")),
        ``,
      );
    }
    if (t.graderPictures.length > 0) {
      out.push(
        `The grader's pictures:`,
        ``,
        ...t.graderPictures.map((p) => `![${cell(p)}](${mdPath(p)})`),
        ``,
      );
    }
    if (t.pictures.length > 0) {
      out.push(
        `Pictures the task wrote (its own files, not the grader's):`,
        ``,
        ...t.pictures.map((p) => `- [${cell(p)}](${mdPath(p)})`),
        ``,
      );
    }
  }
  const p = report.provenance;
  out.push(
    `## Reproducibility`,
    ``,
    `- seed: ${report.seed}; runs per task: ${report.repeat}`,
    `- backends: ${cell(report.backends.join(", "))}`,
    `- numerics: ${report.numerics.mode}; engine ${report.numerics.engine}` +
      (report.numerics.blas?.threads === undefined
        ? ""
        : `, ${report.numerics.blas.threads} threads`) +
      `; CPU ${report.numerics.cpuModel} (${report.numerics.arch}` +
      `${report.numerics.cpuFeatures.length ? ` ${report.numerics.cpuFeatures.join(" ")}` : ""})` +
      `; bit-identical to the reference: ${
        report.numerics.bitIdentical ? "yes, because of the engine" : "no"
      }`,
    `- rubric: version ${report.rubricVersion}, sha256 \`${report.rubricHash}\``,
    `- splits: train ${report.splits.train}, valid ${report.splits.valid}, test ${report.splits.test} ` +
      `(train subset per task above)`,
  );
  if (p.versions) {
    out.push(
      `- deno ${p.versions.deno}, v8 ${p.versions.v8}, typescript ${p.versions.typescript}; ` +
        Object.entries(p.versions.packages).map(([k, v]) => `${k} ${v}`).join(", "),
    );
  }
  if (p.commit) out.push(`- commit: \`${p.commit}\``);
  if (p.dataDir) out.push(`- data folder: \`${p.dataDir}\``);
  for (const f of p.dataFiles ?? []) {
    out.push(`- \`${f.name}\`: ${f.bytes} bytes, sha256 \`${f.sha256}\``);
  }
  const perms = report.tasks.map((t) =>
    `task ${t.task}: ${mdCodeSpan((t.runs[0]?.permissions ?? []).join(" "))}`
  );
  out.push(`- sandbox permissions: ${perms.join("; ")}`, ``);
  return out.join("\n");
}

/** Writes results.json, junit.xml, summary.md and report.json (the full record) into `dir`. */
export async function writeReports(dir: string, report: GradeReport): Promise<string[]> {
  const paths = {
    results: join(dir, "results.json"),
    junit: join(dir, "junit.xml"),
    summary: join(dir, "summary.md"),
    full: join(dir, "report.json"),
  };
  await atomicWriteJson(paths.results, toGradescope(report));
  await atomicWrite(paths.junit, toJUnit(report));
  await atomicWrite(paths.summary, toMarkdown(report));
  await atomicWriteJson(paths.full, report);
  return Object.values(paths);
}
