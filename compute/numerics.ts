/**
 * Numerics modes: `reproducible` (the same seed, data and config give
 * bit-identical weights and predictions on every machine: x86-64 or ARM64,
 * any OS, any thread count, with or without a native BLAS, because every
 * matrix product runs on the portable WebAssembly SIMD core of
 * compute/portable/ and everything else on tfjs's single-threaded wasm SIMD
 * binary) and `fast` (the fastest kernels this machine has: OpenBLAS, or
 * Accelerate on macOS; numbers may differ from machine to machine). What was
 * measured: docs/portable.md, docs/numerics.md.
 *
 * ```ts
 * import { describeFingerprint, numericsFingerprint, parseNumericsMode } from "./numerics.ts";
 *
 * const mode = parseNumericsMode("reproducible");
 * const fp = numericsFingerprint(mode);
 * console.log(describeFingerprint(fp)); // e.g. "numerics reproducible; engine ...; CPU ..."
 * ```
 *
 * @module
 */
import { readCpuFlags, readCpuInfo } from "./cpu_features.ts";

/** The numerics modes, the default for grading first. */
export const NUMERICS_MODES: readonly ["reproducible", "fast"] = ["reproducible", "fast"] as const;

/** One of {@link NUMERICS_MODES}. */
export type NumericsMode = typeof NUMERICS_MODES[number];

/** The mode used when none is given (grading, the task CLIs, the library). */
export const DEFAULT_NUMERICS: NumericsMode = "reproducible";

/** The name the portable WebAssembly SIMD core (compute/portable/) reports as its library. */
export const PORTABLE_ENGINE = "portable-wasm-simd";

/** How to get the faster native library `fast` mode uses, said when it is missing. */
export const NATIVE_INSTALL_HINT: string =
  "install OpenBLAS for the faster native engine: apt-get install libopenblas0-pthread " +
  "(Debian/Ubuntu), brew install openblas (macOS)";

/**
 * How far a test accuracy measured on a machine that cannot reproduce the
 * reference bits may differ from the reference machine's (absolute, as a
 * fraction: 0.005 = 0.5 percentage points). Measured spread across machines
 * and backends of the lab's own tasks: up to 0.22 points (issue 12); the
 * tolerance doubles it. The rubric's thresholds are applied as measured; this
 * number says how much a self-check on such a machine can be trusted.
 */
export const CROSS_MACHINE_TOLERANCE = 0.005;

/** Parses a `--numerics` value; throws an error naming the flag and the valid values. */
export function parseNumericsMode(s: string, flag = "--numerics"): NumericsMode {
  const v = s.trim().toLowerCase();
  const found = NUMERICS_MODES.find((m) => m === v);
  if (found === undefined) {
    throw new Error(`${flag}: unknown mode "${s}"; expected one of: ${NUMERICS_MODES.join(", ")}`);
  }
  return found;
}

/** What the BLAS of a process reports about itself, for the fingerprint. */
export interface BlasFacts {
  /** Library name or path ({@link PORTABLE_ENGINE} for the portable core). */
  library: string;
  /** OpenBLAS core type in use (kernel family), when known (native only). */
  coreType?: string;
  /** Threads actually computing a product. */
  threads?: number;
}

/** The facts that decide whether a run's numbers can be reproduced elsewhere. */
export interface NumericsFingerprint {
  /** The mode the run used. */
  mode: NumericsMode;
  /** The engine that produced the products ({@link engineName}). */
  engine: string;
  /** CPU model name (`/proc/cpuinfo`), or the architecture when unknown. */
  cpuModel: string;
  /** `Deno.build.arch`. */
  arch: string;
  /** Vector extensions of the CPU (`avx2`, `fma`, `avx512f`, `asimd`: those present). */
  cpuFeatures: string[];
  /** The tfjs backend, when known. */
  backend?: string;
  /** The native BLAS, when the backend uses one. */
  blas?: BlasFacts;
  /**
   * Whether this run's numbers are the reference bits: true only in
   * reproducible mode with every product on the portable core
   * ({@link PORTABLE_ENGINE}) and no unpinned backend.
   */
  bitIdentical: boolean;
  /** One line for people: why or why not. */
  note: string;
  /** Allowed absolute accuracy difference from the reference when not bit-identical. */
  tolerance?: number;
}

/** The `model name` line of a `/proc/cpuinfo` text, if any. */
export function parseCpuModel(cpuinfo: string): string | undefined {
  const line = cpuinfo.split("\n").find((l) => /^model name\s*:/.test(l));
  return line === undefined ? undefined : line.slice(line.indexOf(":") + 1).trim();
}

/** This machine's CPU model, or `undefined` when it cannot be read (no permission, not Linux). */
export function cpuModel(path = "/proc/cpuinfo"): string | undefined {
  const text = readCpuInfo(path);
  return text === undefined ? undefined : parseCpuModel(text);
}

/** Options of {@link numericsFingerprint}. */
export interface FingerprintOptions {
  /** The tfjs backend in use (e.g. `wasm-blas`). */
  backend?: string;
  /** The engine behind the backend's products (the portable core or a native BLAS), if any. */
  blas?: BlasFacts;
  /** CPU flags (default: read from `/proc/cpuinfo`). */
  flags?: Set<string>;
  /** CPU model (default: read from `/proc/cpuinfo`). */
  cpuModel?: string;
  /** Architecture (default `Deno.build.arch`). */
  arch?: string;
  /** An extra reason the run is not reproducible (e.g. a backend that cannot be pinned). */
  problem?: string;
  /** In `fast` mode: why no native library runs (the portable core then does). */
  nativeMissing?: string;
}

/** Whether `blas` is the portable WebAssembly SIMD core. */
export function isPortableEngine(blas: BlasFacts | undefined): boolean {
  return blas?.library === PORTABLE_ENGINE;
}

/** The engine that produced a run's products, for people. */
export function engineName(backend: string | undefined, blas: BlasFacts | undefined): string {
  if (blas !== undefined) {
    return isPortableEngine(blas)
      ? `${PORTABLE_ENGINE} (the portable core)`
      : `native BLAS ${blas.library}${blas.coreType ? ` kernel ${blas.coreType}` : ""}`;
  }
  if (backend === undefined) return "unknown";
  const name = backend.split(/[ ,]/)[0];
  return name === "wasm"
    ? "stock tfjs wasm (XNNPACK)"
    : name === "cpu"
    ? "stock tfjs cpu (JavaScript)"
    : `tfjs backend ${name}`;
}

/** Builds the fingerprint of a run in `mode` on this machine. */
export function numericsFingerprint(
  mode: NumericsMode,
  opts: FingerprintOptions = {},
): NumericsFingerprint {
  const arch = opts.arch ?? Deno.build.arch;
  const flags = opts.flags ?? readCpuFlags();
  const model = opts.cpuModel ?? cpuModel() ?? `unknown ${arch} CPU`;
  const features = ["avx2", "fma", "avx512f", "asimd"].filter((f) => flags?.has(f));
  const engine = engineName(opts.backend, opts.blas);
  const base = {
    mode,
    engine,
    cpuModel: model,
    arch,
    cpuFeatures: features,
    ...(opts.backend === undefined ? {} : { backend: opts.backend }),
    ...(opts.blas === undefined ? {} : { blas: opts.blas }),
  };
  if (mode === "fast") {
    const missing = opts.nativeMissing ??
      (isPortableEngine(opts.blas) ? "none was loaded" : undefined);
    return {
      ...base,
      bitIdentical: false,
      note: (missing
        ? `fast numerics asked, but no native library runs here (${missing}): ` +
          `the products ran on ${engine} instead; `
        : `fast numerics on ${engine}: `) +
        "numbers may differ from machine to machine",
      tolerance: CROSS_MACHINE_TOLERANCE,
    };
  }
  const problems = [
    ...(opts.problem ? [opts.problem] : []),
    ...(isPortableEngine(opts.blas) ? [] : [
      `the products ran on ${engine}, not on the portable core (${PORTABLE_ENGINE}) that ` +
      `defines the reference bits`,
    ]),
  ];
  if (problems.length > 0) {
    return {
      ...base,
      bitIdentical: false,
      note: `${problems.join("; ")}. Accuracies may differ from the reference bits' by up ` +
        `to ${(CROSS_MACHINE_TOLERANCE * 100).toFixed(1)} percentage points`,
      tolerance: CROSS_MACHINE_TOLERANCE,
    };
  }
  return {
    ...base,
    bitIdentical: true,
    note: `the reference bits because of the engine: every product ran on ${PORTABLE_ENGINE} ` +
      "(plain f32x4 multiply and add, a summation order fixed by the shapes, threads that " +
      "split the output) and the rest on tfjs's single-threaded wasm SIMD binary: the same " +
      "bits on x86-64 and ARM64, any OS, any thread count",
  };
}

/** One line: mode, engine, CPU, backend, threads, and whether the bits are the reference's. */
export function describeFingerprint(fp: NumericsFingerprint): string {
  const threads = fp.blas?.threads === undefined ? "" : `, ${fp.blas.threads} threads`;
  return `numerics ${fp.mode}; engine ${fp.engine}${threads}; CPU ${fp.cpuModel} (${fp.arch}` +
    (fp.cpuFeatures.length ? ` ${fp.cpuFeatures.join(" ")}` : "") + `)` +
    (fp.backend ? `; backend ${fp.backend}` : "") +
    `; bit-identical to the reference: ${fp.bitIdentical ? "yes" : "NO"} (${fp.note})`;
}
