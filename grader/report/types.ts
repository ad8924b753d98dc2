/**
 * The grade report's types: one run of a task, everything reported about a
 * task, and the whole grade. `grade.ts` fills them; `reports.ts` renders them.
 *
 * @module
 */
import type { Protocol } from "../../data/types.ts";
import type { EpochRecord } from "../../models/epoch_record.ts";
import type { FileRecord, Versions } from "./provenance.ts";
import type { NumericsFingerprint } from "../../compute/numerics.ts";
import type { Budget, Profile, TaskNumber, Thresholds } from "../rubric/rubric.ts";
import type { PredictionFailureKind } from "../evaluate.ts";
import type { FailureKind } from "../sandbox/mod.ts";
import type { RoleMetrics, TestResult } from "../rubric/score.ts";
import type { IntegrityRecord } from "../rubric/integrity.ts";

/**
 * Why a run failed as a whole: the sandbox's kind, or what was wrong with the
 * `main` model's predictions.
 */
export type RunFailureKind = FailureKind | PredictionFailureKind;

/** Where the grade came from, recorded in the report as-is. */
export interface GradeProvenance {
  /** The data folder. */
  dataDir?: string;
  /** The data files with their sizes and SHA-256. */
  dataFiles?: FileRecord[];
  /** The data layer's split summary. */
  dataSummary?: unknown;
  /** Deno, V8, TypeScript and package versions. */
  versions?: Versions;
  /** The git commit of the project. */
  commit?: string;
}

/** One run of one task. */
export interface RunRecord {
  /** 1-based run number. */
  run: number;
  /** Failure classification when the run failed as a whole. */
  failureKind?: RunFailureKind;
  /** Failure message. */
  error?: string;
  /** Per-role failures. */
  roleErrors: Record<string, string>;
  /** Metrics per role. */
  metrics: Record<string, RoleMetrics>;
  /** SHA-256 of each role's test/train/valid predictions (for the repeat check). */
  digests: Record<string, string>;
  /** Backend the run used, when known. */
  backend?: string;
  /** Wall seconds of the sandboxed process. */
  wallSeconds: number;
  /** Seconds in `train()`. */
  trainSeconds?: number;
  /** Sandbox permission flags. */
  permissions: string[];
}

/** Everything reported about one task. */
export interface TaskReport {
  /** Task number. */
  task: TaskNumber;
  /** Rubric title. */
  title: string;
  /** Module graded (as given). */
  module: string;
  /** Whether it ran trusted (FFI allowed). */
  trusted: boolean;
  /** The thresholds applied. */
  thresholds: Thresholds;
  /** The budget handed (train size actually used, epochs). */
  budget: Budget & { trainCount: number };
  /** Points available. */
  maxScore: number;
  /** Points earned. */
  score: number;
  /** Whether every required test of the task passed. */
  passed: boolean;
  /** Runs (one per repeat). */
  runs: RunRecord[];
  /** Per-role names, histories and configs from the first run. */
  models: Record<string, { name: string; history: EpochRecord[]; config: Record<string, unknown> }>;
  /** Test confusion matrix of `main` (first run). */
  confusion?: number[][];
  /** Per-letter test accuracy of `main` (first run). */
  perClass?: number[];
  /** Pictures found in the task's output folder (the task's own files), relative to the report folder. */
  pictures: string[];
  /** The grader's own pictures (written where graded code cannot write), relative to the report folder. */
  graderPictures: string[];
  /** The task's output folder, relative to the report folder. */
  outDir: string;
  /** Last lines of the task's output (first failing run, else first run). */
  logTail: string;
  /** The integrity checks' numbers and flags (absent: not checked, e.g. the task failed). */
  integrity?: IntegrityRecord;
  /** The task's graded tests. */
  tests: TestResult[];
}

/** The whole grade. */
export interface GradeReport {
  /** Report format version. */
  version: 1;
  /** ISO start time. */
  startedAt: string;
  /** Data protocol used. */
  protocol: Protocol;
  /** Profile used. */
  profile: Profile;
  /** Seed handed to every task. */
  seed: number;
  /** Runs per task. */
  repeat: number;
  /** SHA-256 of the rubric's canonical JSON. */
  rubricHash: string;
  /** Rubric version. */
  rubricVersion: number;
  /** Split sizes (`hidden`: the hidden test set, when one was graded). */
  splits: { train: number; valid: number; test: number; hidden?: number };
  /** Backends used by the tasks (distinct, in order of appearance). */
  backends: string[];
  /** Numerics mode and fingerprint: CPU, BLAS, kernel, threads, whether the bits are the reference's. */
  numerics: NumericsFingerprint;
  /** Provenance (data files, versions, commit). */
  provenance: GradeProvenance;
  /** Per-task reports. */
  tasks: TaskReport[];
  /** Rubric tasks this run did not grade (0 points each; the report cannot pass). */
  missingTasks?: TaskNumber[];
  /** All tests, in task order. */
  tests: TestResult[];
  /** Points earned. */
  score: number;
  /** Points available. */
  maxScore: number;
  /** Whether every required test passed (the exit code). */
  passed: boolean;
  /** Total wall-clock seconds. */
  executionSeconds: number;
}
