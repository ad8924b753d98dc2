/**
 * The grader's parent-child protocol in one place: the files the parent hands
 * to the sandboxed process, the lines that process prints back, the messages
 * between that process's main isolate and the Worker running graded code, the
 * failure kinds and the exit codes. Shared by `grader/sandbox/run.ts` (parent),
 * `grader/sandbox/child.ts` (the child's main isolate) and `grader/sandbox/child_worker.ts`
 * (the Worker).
 *
 * Everything that arrives from the Worker or from the child process is
 * untrusted: receivers copy it, check it, then use it.
 *
 * @module
 */
import type { Protocol } from "../../data/types.ts";
import type { EpochRecord } from "../../tasks/types.ts";
import type { BackendRequest } from "../../compute/backend_request.ts";
import type { BlasFamily } from "../../compute/blas/library.ts";
import { fileURLToPath } from "node:url";

/** The portable core's folder (graded code's Worker may read it: its threads load from there). */
export const PORTABLE_DIR: string = fileURLToPath(
  new URL("../../compute/portable/", import.meta.url),
);

/** Prefix of a protocol line on the child's stdout (ASCII record separator + tag), then the run's token. */
export const MESSAGE_MARK = "\u001egrader:";

/** Exit codes of the child process. */
export const EXIT = {
  /** Predictions written, all said. */
  ok: 0,
  /** The child reported an error message before exiting. */
  reported: 3,
} as const;

/** Files in the data folder the parent hands to the child. */
export const FILES = {
  /** The {@link ChildHeader}. */
  header: "header.json",
  /** The {@link TestHeader}, written only after training. */
  testHeader: "test.json",
  /** Test images (no labels), written only after training. */
  testImages: "test_images.u8",
} as const;

/** File name of a split's images or labels in the data folder. */
export function splitFile(split: "train" | "valid", what: "images" | "labels"): string {
  return `${split}_${what}.u8`;
}

/** File name of role `role`'s predictions on split `split` in the predictions folder. */
export function predictionFile(role: string, split: "train" | "valid" | "test"): string {
  return `pred_${role}_${split}.f32`;
}

/** Role names the grader accepts (they become file names). */
export const ROLE_NAME = /^[A-Za-z0-9_-]{1,40}$/;

/** Settings the parent writes to the data folder as `header.json` (read by the main isolate only). */
export interface ChildHeader {
  /** Seed for `TaskInput.seed`. */
  seed: number;
  /** `TaskInput.epochs`, when the profile sets one. */
  epochs?: number;
  /** `TaskInput.batchSize`, when set. */
  batchSize?: number;
  /** `TaskInput.protocol`, when known. */
  protocol?: Protocol;
  /** Image counts of the splits written beside the header. */
  counts: { train: number; valid: number };
  /** Backend the child selects before training (`undefined`/`null`: the task selects its own). */
  backend?: BackendRequest | null;
  /**
   * Secret of this run: protocol lines carry it after {@link MESSAGE_MARK}, so
   * graded code (which cannot read this file) cannot forge them.
   */
  token: string;
  /**
   * Present for graded (untrusted) code: it runs in a Worker with no
   * permissions but read/write of its output folder; the main isolate serves
   * it native BLAS when it can load one.
   */
  worker?: {
    /** Paths of tfjs-backend-wasm's binaries (the main isolate reads them for the Worker). */
    wasmFiles: Record<string, string>;
    /** Whether the main isolate may load a native BLAS to serve the Worker. */
    blas: boolean;
    /** The Worker's module files (checked by the parent): the Worker may read these. */
    moduleFiles: string[];
  };
}

/** The test images the parent hands over after readiness (`test.json`). */
export interface TestHeader {
  /** Number of test images in `test_images.u8`. */
  count: number;
}

/** Per-role description sent with the readiness message. */
export interface RoleInfo {
  /** The model's name. */
  name: string;
  /** Training history (possibly trimmed). */
  history: EpochRecord[];
  /** Model configuration (JSON-serialisable). */
  config: Record<string, unknown>;
}

/** Stages at which the child reports an error. */
export type ErrorStage = "setup" | "import" | "contract" | "train" | "predict";

/** Messages from the child process to the parent (protocol lines on stdout). */
export type ChildMessage =
  | { type: "started" }
  | { type: "backend"; name: string; skipped: string[] }
  | { type: "ready"; roles: Record<string, RoleInfo>; trainSeconds: number }
  | {
    type: "done";
    predictSeconds: number;
    roleErrors: Record<string, RoleError>;
  }
  | {
    type: "error";
    stage: ErrorStage;
    errorName: string;
    errorKind: ErrorKind;
    message: string;
  };

/** What went wrong in a sandboxed run. */
export type FailureKind =
  | "import"
  | "contract"
  | "exception"
  | "permission"
  | "timeout"
  | "crash"
  | "forbidden-import"
  | "unlisted-import"
  | "import-timeout"
  | "setup"
  | "memory"
  | "output"
  | "log";

/** A failed sandboxed run: a kind for the report and a message for the student. */
export interface SandboxFailure {
  /** Classification of the failure. */
  kind: FailureKind;
  /** Human-readable explanation, including the task's own error message. */
  message: string;
}

/** Data handed to the Worker at start (structured clone; buffers transferred). */
export interface WorkerStart {
  /** Message tag. */
  type: "start";
  /** Task input settings. */
  seed: number;
  /** `TaskInput.epochs`. */
  epochs?: number;
  /** `TaskInput.batchSize`. */
  batchSize?: number;
  /** `TaskInput.protocol`. */
  protocol?: Protocol;
  /** The task's output folder. */
  outDir: string;
  /** Training split. */
  train: { images: Uint8Array; labels: Uint8Array; count: number };
  /** Validation split. */
  valid: { images: Uint8Array; labels: Uint8Array; count: number };
  /** tfjs-backend-wasm binaries by file name. */
  wasm: Record<string, Uint8Array>;
  /** Backend to select before training, when the grader forces one (`null`: the task's choice). */
  backend: BackendRequest | null;
  /**
   * The private port of the protocol (transferred): every later message goes
   * over it, never over the Worker's global channel, which graded code can use.
   */
  port: MessagePort;
  /**
   * Reproducible numerics: the Worker runs the portable core itself, with
   * these threads (its arrays then live in the engine's memory: no copies) and
   * the wide register tile when V8 revectorises (speed only: the same bits).
   */
  engine?: { threads: number; wide: boolean };
  /** Remote BLAS channel and the served library's description, when one is served. */
  blas?: {
    buffer: SharedArrayBuffer;
    library: string;
    family: BlasFamily;
    coreType?: string;
    threads?: number;
  };
}

/** Messages from the main isolate to the Worker. */
export type MainToWorker =
  | WorkerStart
  | { type: "predict"; test: { images: Uint8Array; count: number } };

/**
 * Messages from the Worker to the main isolate, over the private port of
 * {@link WorkerStart} (untrusted: copied and checked on arrival; times are
 * measured by the main isolate, between `training` and `ready`, `predict` and
 * `done`).
 */
export type WorkerToMain =
  | { type: "backend"; name: string; skipped: string[] }
  | { type: "training" }
  | { type: "ready"; roles: Record<string, RoleInfo> }
  | { type: "prediction"; role: string; split: "train" | "valid" | "test"; values: Float32Array }
  | { type: "role-error"; role: string; message: string; errorKind: ErrorKind }
  | { type: "heap"; memory: WebAssembly.Memory }
  | { type: "done" }
  | { type: "error"; stage: ErrorStage; errorName: string; errorKind: ErrorKind; message: string };

/**
 * What kind of error a task raised, decided where the error is caught (see
 * `errorKindOf` in `task_output.ts`) and carried by the messages, so no
 * receiver reads it back out of the message text.
 */
export type ErrorKind = "permission" | "exception";

/** A role whose predictions failed: the message and its {@link ErrorKind}. */
export interface RoleError {
  /** What happened, for the report. */
  message: string;
  /** Whether it was a permission error. */
  errorKind: ErrorKind;
}

/** `value` as an {@link ErrorKind} (anything else from an untrusted sender is an exception). */
export function checkedErrorKind(value: unknown): ErrorKind {
  return value === "permission" ? "permission" : "exception";
}

/**
 * Permissions of the Worker that runs graded code: read/write of its output
 * folder, read of its own module files (a Worker checks read permission even
 * for static imports), nothing else.
 */
export function workerPermissions(
  outDir: string,
  moduleFiles: string[] = [],
): Deno.PermissionOptionsObject {
  return {
    // The portable core's thread Workers load compute/portable/gemm_worker.ts and its imports.
    read: [outDir, PORTABLE_DIR, ...moduleFiles],
    write: [outDir],
    env: false,
    ffi: false,
    import: false,
    net: false,
    run: false,
    sys: false,
  };
}
