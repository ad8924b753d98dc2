/**
 * The request and result of one sandboxed run ({@link SandboxRequest},
 * {@link SandboxResult}): what the grader hands the sandbox and gets back.
 *
 * @module
 */
import type { ImageSet, Protocol } from "../../data/types.ts";
import type { BackendRequest } from "../../compute/backend_request.ts";
import type { RoleInfo, SandboxFailure } from "./protocol.ts";

/** Predictions of one role on each split, as the child wrote them (not yet validated). */
export interface RolePredictions {
  /** The role's name, history and config as reported by the child. */
  info: RoleInfo;
  /** Raw predictions per split (validated later by `evaluate.ts`). */
  predictions: { train: Float32Array; valid: Float32Array; test: Float32Array };
}

/** The outcome of `runSandboxed`. */
export interface SandboxResult {
  /** Set when the run failed as a whole. */
  failure?: SandboxFailure;
  /** Roles whose predictions arrived. */
  roles: Record<string, RolePredictions>;
  /** Per-role failures (e.g. predict threw for `logreg`). */
  roleErrors: Record<string, string>;
  /** Backend reported by the child, when it selected one. */
  backend?: { name: string; skipped: string[] };
  /** Seconds spent in `train()` as measured by the child. */
  trainSeconds?: number;
  /** Seconds spent predicting, as measured by the child. */
  predictSeconds?: number;
  /** Wall-clock seconds of the whole subprocess, measured by the parent. */
  wallSeconds: number;
  /** The last lines of the task's own output (stdout and stderr). */
  logTail: string;
  /** The subprocess's exit code (`null` when killed by a signal). */
  exitCode: number | null;
  /** The exact permission flags the child ran with (for the report). */
  permissions: string[];
  /** Largest resident memory of the child seen by the parent's polls, MiB. */
  peakRssMb?: number;
}

/** Resource caps of one run (MiB); `DEFAULT_LIMITS` for those absent. */
export interface SandboxLimits {
  /** Resident memory of the child process. */
  memoryMb?: number;
  /** Total size of the output folder. */
  outputMb?: number;
  /** Bytes of output (stdout + stderr) the parent takes in. */
  logMb?: number;
}

/** One sandboxed run. */
export interface SandboxRequest {
  /** Path (absolute or relative to the cwd) or file URL of the task module. */
  module: string;
  /** Training images handed to the task. */
  train: ImageSet;
  /** Validation images handed to the task. */
  valid: ImageSet;
  /** Test images only: labels stay with the caller. */
  testImages: { images: Uint8Array; count: number };
  /** `TaskInput.seed`. */
  seed: number;
  /** `TaskInput.epochs`. */
  epochs?: number;
  /** `TaskInput.batchSize`. */
  batchSize?: number;
  /** `TaskInput.protocol`: the data protocol of the splits. */
  protocol?: Protocol;
  /** The task's output folder (cleared first); the only place it may write. */
  outDir: string;
  /** Wall-clock limit for the whole subprocess, seconds. */
  timeoutSeconds: number;
  /** Runs the module in the child's main isolate with FFI, env and sys info: the lab's own tasks. */
  trusted: boolean;
  /** Backend selection done by the child before training; `null`/absent: none. */
  backend?: BackendRequest | null;
  /** Project root (holds deno.json); local modules must live here or beside the module. */
  projectRoot: string;
  /** Folders no imported module may come from (data dir, cache dir, out/). */
  forbiddenRoots?: string[];
  /** V8 heap limit for the child, MiB. */
  maxMemoryMb?: number;
  /** Resource caps enforced by the parent. */
  limits?: SandboxLimits;
  /** Serve graded code native BLAS from the child's main isolate (default true). */
  nativeBlas?: boolean;
  /** Receives every line the task prints (up to the log cap). */
  onLine?: (line: string) => void;
  /** BLAS settings passed to the child's environment (e.g. `NOTMNIST_BLAS_THREADS`). */
  trustedEnv?: Record<string, string>;
}
