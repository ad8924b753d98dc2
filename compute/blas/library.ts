/**
 * Finding and loading a native BLAS through Deno FFI: the library search
 * (env override, ordinary Debian/Ubuntu/macOS names), the OpenBLAS core-type
 * choice, thread control, and typed wrappers of the few CBLAS routines the
 * `wasm-blas` backend calls.
 *
 * @module
 */
import { coreTypeForFlags, readCpuFlags } from "../cpu_features.ts";
import { BLAS_LIB_ENV, BLAS_THREADS_ENV, OPENBLAS_CORETYPE_ENV } from "../blas_env.ts";

export { BLAS_LIB_ENV, BLAS_THREADS_ENV } from "../blas_env.ts";

/** The {@link BLAS_LIB_ENV} value (or `library` option) that means: load no native library. */
export const NO_NATIVE_BLAS = "none";

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  cblas_sgemv: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  cblas_saxpy: {
    parameters: ["i32", "f32", "buffer", "i32", "buffer", "i32"],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
  bli_thread_set_num_threads: { parameters: ["i64"], result: "void", optional: true },
} as const;

/** Time spent inside BLAS calls, accumulated while `enabled` (for profiles). */
export interface BlasTiming {
  /** Whether calls are timed (off by default). */
  enabled: boolean;
  /** Milliseconds inside BLAS calls since the last reset. */
  ms: number;
  /** Number of BLAS calls since the last reset. */
  calls: number;
}

/** Which family a loaded BLAS belongs to (decides how threads are set). */
export type BlasFamily = "openblas" | "blis" | "cblas" | "portable";

/**
 * A BLAS with the routines the backend uses (row-major CBLAS): a native one
 * loaded here, or the portable core (compute/portable/, family `portable`).
 */
export interface BlasLibrary {
  /** The name or path it was loaded from. */
  readonly library: string;
  /** Library family, detected from its exported symbols. */
  readonly family: BlasFamily;
  /** OpenBLAS core type actually in use (from `openblas_get_corename`), if known. */
  readonly coreType?: string;
  /** Number of threads the library was asked to use (`undefined` for a generic CBLAS). */
  readonly threads?: number;
  /**
   * `C = alpha * op(A) * op(B) + beta * C`, row-major, with `op` the optional transpose;
   * `m x n` output, inner size `k`, leading dimensions `lda`, `ldb`, `ldc`.
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /** `y = alpha * op(A) * x + beta * y` for a row-major `m x n` matrix `A`. */
  sgemv(
    transA: boolean,
    m: number,
    n: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    x: Float32Array,
    beta: number,
    y: Float32Array,
  ): void;
  /** `y += alpha * x` over `n` contiguous elements. */
  saxpy(n: number, alpha: number, x: Float32Array, y: Float32Array): void;
  /** Call timing (set `enabled`, read and reset `ms` / `calls`). */
  readonly timing: BlasTiming;
  /** Sets the thread count where the library allows it; returns whether it could. */
  setThreads(threads: number): boolean;
  /** Unloads the library. */
  close(): void;
}

/** The result of trying to load a BLAS: the library, or why none could be loaded. */
export type BlasLoadResult =
  | {
    ok: true;
    blas: BlasLibrary;
    coreTypeSetByUs: boolean;
  }
  | { ok: false; reason: string };

/** Options for {@link loadBlas}. */
export interface LoadBlasOptions {
  /** A library name or path; overrides the env variable and the search list. */
  library?: string;
  /** BLAS thread count; default `NOTMNIST_BLAS_THREADS`, else the number of cores. */
  threads?: number;
}

/** The library names tried in order when no override is given, for the current OS. */
export function defaultBlasCandidates(os: typeof Deno.build.os = Deno.build.os): string[] {
  if (os === "darwin") {
    return [
      "/System/Library/Frameworks/Accelerate.framework/Accelerate",
      "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
      "/usr/local/opt/openblas/lib/libopenblas.dylib",
      "libopenblas.dylib",
      "libblis.dylib",
    ];
  }
  if (os === "windows") return ["libopenblas.dll", "openblas.dll"];
  return [
    "libopenblas.so.0",
    "libopenblas.so",
    "libblis.so.4",
    "libblis.so",
    "libcblas.so.3",
    "libblas.so.3",
    "libblas.so",
  ];
}

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Default BLAS thread count: `NOTMNIST_BLAS_THREADS` when valid, else the number of cores. */
export function defaultBlasThreads(): number {
  const raw = envGet(BLAS_THREADS_ENV);
  if (raw !== undefined && raw.trim() !== "") {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 1 && n <= 1024) return n;
    throw new Error(`${BLAS_THREADS_ENV} expects an integer in [1, 1024], got "${raw}"`);
  }
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/**
 * Sets `OPENBLAS_CORETYPE` from the CPU's features when the user has not set
 * it. Returns the value set, or `undefined` when nothing was set.
 */
export function chooseOpenBlasCoreType(): string | undefined {
  if (envGet(OPENBLAS_CORETYPE_ENV)) return undefined;
  const flags = readCpuFlags();
  if (flags === undefined) return undefined;
  const core = coreTypeForFlags(flags);
  if (core === undefined) return undefined;
  try {
    Deno.env.set(OPENBLAS_CORETYPE_ENV, core);
  } catch {
    return undefined;
  }
  return core;
}

function ffiPermissionProblem(): string | undefined {
  if (typeof Deno?.dlopen !== "function") return "Deno.dlopen is not available in this runtime";
  try {
    const state = Deno.permissions.querySync({ name: "ffi" }).state;
    if (state !== "granted") return "FFI is not permitted (run deno with --allow-ffi)";
  } catch {
    // Older runtimes without querySync: find out at dlopen.
  }
  return undefined;
}

function errorLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0].replace(/^(Could not open library: )+/, "");
}

/**
 * Loads a native BLAS. Never throws for a missing library or missing
 * permission: returns `{ok: false, reason}` with one line saying why.
 */
export function loadBlas(opts: LoadBlasOptions = {}): BlasLoadResult {
  const permission = ffiPermissionProblem();
  if (permission !== undefined) return { ok: false, reason: permission };
  let threads: number;
  try {
    threads = opts.threads ?? defaultBlasThreads();
  } catch (err) {
    return { ok: false, reason: errorLine(err) };
  }
  if (!Number.isInteger(threads) || threads < 1) {
    return { ok: false, reason: `BLAS threads must be a positive integer, got ${threads}` };
  }
  const override = opts.library ?? envGet(BLAS_LIB_ENV);
  if (override?.trim().toLowerCase() === NO_NATIVE_BLAS) {
    const source = opts.library ? "library option" : BLAS_LIB_ENV;
    return { ok: false, reason: `${source}=${NO_NATIVE_BLAS}: no native library is used` };
  }
  const candidates = override ? [override] : defaultBlasCandidates();
  const coreSet = chooseOpenBlasCoreType();
  const failures: string[] = [];
  for (const name of candidates) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(name, SYMBOLS);
    } catch (err) {
      failures.push(`${name}: ${errorLine(err)}`);
      continue;
    }
    const blas = wrap(name, lib, threads);
    return { ok: true, blas, coreTypeSetByUs: coreSet !== undefined };
  }
  if (override) {
    const source = opts.library ? "library option" : BLAS_LIB_ENV;
    const why = failures[0].slice(override.length + 2);
    return { ok: false, reason: `cannot load BLAS from ${source} "${override}": ${why}` };
  }
  return {
    ok: false,
    reason: `no CBLAS library found (tried ${candidates.join(", ")}); ` +
      `install libopenblas0-pthread or set ${BLAS_LIB_ENV}`,
  };
}

function wrap(
  name: string,
  lib: Deno.DynamicLibrary<typeof SYMBOLS>,
  threads: number,
): BlasLibrary {
  const s = lib.symbols;
  const family: BlasFamily = s.openblas_set_num_threads
    ? "openblas"
    : s.bli_thread_set_num_threads
    ? "blis"
    : "cblas";
  const setThreads = (n: number): boolean => {
    if (s.openblas_set_num_threads) {
      s.openblas_set_num_threads(n);
      return true;
    }
    if (s.bli_thread_set_num_threads) {
      s.bli_thread_set_num_threads(BigInt(n));
      return true;
    }
    return false;
  };
  const threadsSet = setThreads(threads) ? threads : undefined;
  let coreType: string | undefined;
  if (s.openblas_get_corename) {
    const p = s.openblas_get_corename();
    if (p !== null) coreType = new Deno.UnsafePointerView(p).getCString();
  }
  const gemm = s.cblas_sgemm;
  const timing: BlasTiming = { enabled: false, ms: 0, calls: 0 };
  const timed = <A extends unknown[]>(f: (...args: A) => void) => (...args: A): void => {
    if (!timing.enabled) return f(...args);
    const t0 = performance.now();
    f(...args);
    timing.ms += performance.now() - t0;
    timing.calls++;
  };
  return {
    library: name,
    family,
    coreType,
    threads: threadsSet,
    timing,
    sgemm: timed((transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc): void => {
      gemm(
        ROW_MAJOR,
        transA ? TRANS : NO_TRANS,
        transB ? TRANS : NO_TRANS,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
      );
    }),
    sgemv: timed((transA, m, n, alpha, a, lda, x, beta, y): void => {
      s.cblas_sgemv(ROW_MAJOR, transA ? TRANS : NO_TRANS, m, n, alpha, a, lda, x, 1, beta, y, 1);
    }),
    saxpy: timed((n, alpha, x, y): void => {
      s.cblas_saxpy(n, alpha, x, 1, y, 1);
    }),
    setThreads,
    close(): void {
      lib.close();
    },
  };
}
