/**
 * Grading a whole class: one folder per student, each holding any of
 * `task1.ts` .. `task4.ts` plus local helper modules. Every student is copied
 * into a fresh staging folder (regular files only, bounded in number, size and
 * depth), hashed, graded with {@link grade} (the sandboxed grader, unchanged)
 * and written to `<out>/<student>/` (results.json, junit.xml, summary.md,
 * report.json, pictures). A gradebook row per student is written atomically
 * beside it, and `<out>/gradebook.csv` and `<out>/class.md` are rebuilt from
 * the rows after every student, so an interrupted batch leaves consistent
 * files and a rerun skips every student whose submission, rubric, settings and
 * data hashes are unchanged and whose report exists.
 *
 * ```ts ignore
 * import { gradeClass } from "@notmnist/lab/grader/class";
 *
 * const result = await gradeClass({ classDir: "class", outDir: "out/class", jobs: 2, ... });
 * console.log(result.rows.map((r) => `${r.student} ${r.total}`));
 * ```
 *
 * @module
 */
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { atomicWrite, atomicWriteJson } from "../../utils/atomic_write.ts";
import { stageSubmission } from "../intake/stage.ts";
import { grade, type GradeData, type GradeOptions } from "../grade.ts";
import type { GradeProvenance, GradeReport } from "../report/types.ts";
import { writeReports } from "../report/reports.ts";
import {
  canonicalJson,
  type Profile,
  RUBRIC,
  type Rubric,
  rubricHash,
  TASK_NUMBERS,
  taskPoints,
  taskRubric,
} from "../rubric/rubric.ts";
import { scoreHistogramSvg } from "../../models/pictures.ts";
import { classMarkdown, gradebookCsv, type GradebookRow, rowOf } from "./gradebook.ts";
import { type StudentFolder, studentFolders } from "./student_names.ts";
import { printable } from "../../utils/printable.ts";
import { skeletonHashes, taskFingerprints } from "./similarity.ts";
import { nondeterministicTasks } from "./repeat_flags.ts";
import { foreignImports } from "../intake/foreign_imports.ts";
import { typecheckSubmission } from "../intake/typecheck.ts";

export { STUDENT_NAME } from "./student_names.ts";

/** What the class run reports per student as it goes. */
export interface ClassProgress {
  /** The student just finished. */
  student: string;
  /** Its row. */
  row: GradebookRow;
  /** Whether it was skipped (unchanged since the last run). */
  skipped: boolean;
  /** Students finished so far (skipped included). */
  done: number;
  /** Students in the class. */
  total: number;
  /** Students actually graded so far in this run. */
  graded: number;
  /** Seconds since the run started. */
  elapsedSeconds: number;
}

/** Options of {@link gradeClass}. */
export interface ClassGradeOptions {
  /** Folder with one sub-folder per student. */
  classDir: string;
  /** Output folder. */
  outDir: string;
  /** Students graded at a time (>= 1). */
  jobs: number;
  /** Profile. */
  profile: Profile;
  /** The data (loaded once for the whole class). */
  data: GradeData;
  /** SHA-256 identifying the data (see `loadGradeData`). */
  dataSha256: string;
  /** Rubric (default {@link RUBRIC}). */
  rubric?: Rubric;
  /** Seed (default the rubric's). */
  seed?: number;
  /** Train-size override. */
  trainSize?: number;
  /** Epochs override. */
  epochs?: number;
  /** Time-limit multiplier. */
  timeoutScale?: number;
  /** Teacher override of the integrity flags: reported, credit kept. */
  overrideIntegrity?: boolean;
  /** Whether student modules may use FFI (off by default: students are untrusted). */
  trusted?: boolean;
  /** Backend forced in every task. */
  backend?: string;
  /** Project root (holds deno.json). */
  projectRoot: string;
  /** Folders graded code may not import from (data, cache); the class and out folders are added. */
  forbiddenRoots?: string[];
  /** Environment for trusted children (BLAS threads per job). */
  trustedEnv?: Record<string, string>;
  /** Provenance recorded in every report. */
  provenance?: GradeProvenance;
  /** Called after every student. */
  onProgress?: (p: ClassProgress) => void;
  /** Runs per task (> 1: students whose predictions differ between runs are flagged). */
  repeat?: number;
  /** Whether to type-check every submission with `deno check` (default true). */
  typecheck?: boolean;
  /** Told when a staging folder is created (`true`) and removed (`false`), to clean up on a kill. */
  onStaging?: (dir: string, active: boolean) => void;
  /** The grade function (tests inject failures); default {@link grade}. */
  gradeFn?: (options: GradeOptions) => Promise<GradeReport>;
}

/** The outcome of {@link gradeClass}. */
export interface ClassResult {
  /** One row per student, sorted by name. */
  rows: GradebookRow[];
  /** Students graded in this run. */
  graded: string[];
  /** Students skipped as unchanged. */
  skipped: string[];
  /** Entries of the class folder that are not folders, with the reason (names escaped). */
  ignored: string[];
  /** Folders graded under a safe name other than their own (`student_names.ts`). */
  renamed: StudentFolder[];
  /** Files written. */
  files: { gradebook: string; classReport: string; histogram: string };
}

/** SHA-256 of the canonical JSON of `value`. */
export function sha256Json(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

async function readRow(path: string): Promise<GradebookRow | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as GradebookRow;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Lists the student folders of `classDir`, every one with its safe name
 * (sorted by it; `student_names.ts`), and the entries that are not folders
 * (names escaped).
 */
export async function listStudents(
  classDir: string,
): Promise<{ students: StudentFolder[]; ignored: string[] }> {
  const folders: string[] = [];
  const ignored: string[] = [];
  for await (const e of Deno.readDir(classDir)) {
    if (e.name.startsWith(".")) continue;
    if (!e.isDirectory) ignored.push(`${printable(e.name)}: not a folder`);
    else folders.push(e.name);
  }
  return { students: studentFolders(folders), ignored: ignored.sort() };
}

/**
 * Grades every student of `options.classDir`, `options.jobs` at a time; never
 * stops because one student's modules or grading fail (such a row carries
 * `error` and is retried on the next run).
 */
export async function gradeClass(options: ClassGradeOptions): Promise<ClassResult> {
  const started = performance.now();
  const classDir = resolve(options.classDir);
  const outDir = resolve(options.outDir);
  const rubric = options.rubric ?? RUBRIC;
  const gradeFn = options.gradeFn ?? grade;
  if (!(Number.isInteger(options.jobs) && options.jobs >= 1)) {
    throw new Error(`jobs must be a positive integer, got ${options.jobs}`);
  }
  const { students, ignored } = await listStudents(classDir);
  await Deno.mkdir(outDir, { recursive: true });
  const rHash = await rubricHash(rubric);
  const settings = sha256Json({
    rubric: rHash,
    profile: options.profile,
    seed: options.seed ?? rubric.seed,
    trainSize: options.trainSize,
    epochs: options.epochs,
    timeoutScale: options.timeoutScale,
    overrideIntegrity: options.overrideIntegrity ?? false,
    trusted: options.trusted ?? false,
    backend: options.backend,
    // BLAS settings change the bits (e.g. the thread count), so they are part of the settings.
    blas: options.trustedEnv ?? {},
    repeat: (options.repeat ?? 1) > 1 ? options.repeat : undefined,
    typecheck: options.typecheck === false ? false : undefined,
  });
  const skeletons = await skeletonHashes(options.projectRoot);
  const files = {
    gradebook: join(outDir, "gradebook.csv"),
    classReport: join(outDir, "class.md"),
    histogram: join(outDir, "class_scores.svg"),
  };
  const rows = new Map<string, GradebookRow>();
  const graded: string[] = [];
  const skipped: string[] = [];
  let writing: Promise<void> = Promise.resolve();
  const publish = (): Promise<void> => {
    writing = writing.then(async () => {
      const all = [...rows.values()];
      await atomicWrite(files.gradebook, gradebookCsv(all));
      await atomicWrite(
        files.histogram,
        scoreHistogramSvg(
          all.filter((r) => !r.error).map((r) => r.total),
          all[0]?.maxTotal ?? 100,
          `Class scores (${all.length} students, profile ${options.profile})`,
        ),
      );
      await atomicWrite(
        files.classReport,
        classMarkdown(all, "class_scores.svg", students.length),
      );
    });
    return writing;
  };

  const one = async ({ folder, name: student }: StudentFolder): Promise<void> => {
    const studentOut = join(outDir, student);
    const rowPath = join(studentOut, "gradebook_row.json");
    const t0 = performance.now();
    const stage = await Deno.makeTempDir({ prefix: `notmnist-class-${student}-` });
    options.onStaging?.(stage, true);
    let row: GradebookRow;
    let wasSkipped = false;
    try {
      const staged = await stageSubmission(join(classDir, folder), stage);
      const hashes = {
        submission: staged.sha256,
        rubric: rHash,
        settings,
        data: options.dataSha256,
      };
      const previous = await readRow(rowPath);
      if (
        previous && !previous.error && previous.submissionSha256 === hashes.submission &&
        previous.rubricSha256 === hashes.rubric && previous.settingsSha256 === hashes.settings &&
        previous.dataSha256 === hashes.data && await exists(join(studentOut, "report.json"))
      ) {
        row = previous;
        wasSkipped = true;
      } else {
        await Deno.remove(studentOut, { recursive: true }).catch(() => {});
        const logLines: string[] = staged.skipped.map((s) => `not copied: ${s}`);
        const findings = [
          ...await foreignImports(staged.dir, staged.files, staged.tasks, student),
          ...(options.typecheck === false ? [] : await typecheckSubmission(
            staged.dir,
            staged.tasks,
            join(options.projectRoot, "deno.json"),
          )),
        ];
        const report = await gradeFn({
          data: options.data,
          tasks: staged.tasks.map((task) => ({
            task,
            module: join(staged.dir, `task${task}.ts`),
            trusted: options.trusted ?? false,
            findings: findings.filter((f) => f.task === task),
          })),
          repeat: options.repeat,
          profile: options.profile,
          rubric,
          seed: options.seed,
          outDir: studentOut,
          projectRoot: options.projectRoot,
          backend: { force: options.backend },
          forbiddenRoots: [...(options.forbiddenRoots ?? []), classDir, outDir],
          trainSize: options.trainSize,
          epochs: options.epochs,
          timeoutScale: options.timeoutScale,
          overrideIntegrity: options.overrideIntegrity,
          trustedEnv: options.trustedEnv,
          log: (l) => logLines.push(l),
          provenance: options.provenance,
        });
        await writeReports(studentOut, report);
        await atomicWrite(join(studentOut, "grade.log"), logLines.join("\n") + "\n");
        row = rowOf(student, report, hashes, (performance.now() - t0) / 1000, rubric);
        if (folder !== student) row.folder = folder;
        const prints = await taskFingerprints(staged.dir, staged.tasks);
        for (const t of staged.tasks) {
          if (skeletons.has(prints[t]?.normalizedSha256 ?? "")) delete prints[t];
        }
        row.files = prints;
        row.nondeterministic = nondeterministicTasks(report);
      }
    } catch (err) {
      row = {
        student,
        points: { 1: 0, 2: 0, 3: 0, 4: 0 },
        status: { 1: "missing", 2: "missing", 3: "missing", 4: "missing" },
        total: 0,
        maxTotal: TASK_NUMBERS.reduce((s, t) => s + taskPoints(taskRubric(t, rubric)), 0),
        wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
        backend: "",
        numericsFingerprint: "",
        submissionSha256: "",
        rubricSha256: rHash,
        settingsSha256: settings,
        dataSha256: options.dataSha256,
        failedChecks: [],
        error: ((err as Error).message ?? String(err)).split("\n")[0],
        gradedAt: new Date().toISOString(),
        ...(folder !== student ? { folder } : {}),
      };
    } finally {
      await Deno.remove(stage, { recursive: true }).catch(() => {});
      options.onStaging?.(stage, false);
    }
    if (!wasSkipped) {
      await atomicWriteJson(rowPath, row);
      graded.push(student);
    } else skipped.push(student);
    rows.set(student, row);
    // counted now: another job may finish while this one publishes
    const done = rows.size;
    const gradedSoFar = graded.length;
    await publish();
    options.onProgress?.({
      student,
      row,
      skipped: wasSkipped,
      done,
      total: students.length,
      graded: gradedSoFar,
      elapsedSeconds: (performance.now() - started) / 1000,
    });
  };

  await publish(); // class.md exists from the start: a stopped run says who was not reached
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < students.length) await one(students[next++]);
  };
  await Promise.all(
    Array.from({ length: Math.min(options.jobs, Math.max(1, students.length)) }, worker),
  );
  await publish();
  return {
    rows: students.map((s) => rows.get(s.name)!),
    graded,
    skipped,
    ignored,
    renamed: students.filter((s) => s.folder !== s.name),
    files,
  };
}
