/**
 * Numerics modes: `reproducible` (the same seed, data and config give
 * bit-identical weights and predictions on every x86-64 CPU with AVX2, for any
 * BLAS thread count and whatever `OPENBLAS_CORETYPE` / `OPENBLAS_L2_SIZE` the
 * environment sets) and `fast` (the fastest kernels this machine has; numbers
 * may differ from machine to machine). What was measured and why each piece is
 * pinned the way it is: docs/numerics.md.
 *
 * The mode is chosen per process: OpenBLAS reads its kernel choice once, when
 * it is loaded, so a process that loaded it in one mode cannot switch.
 *
 * ```ts
 * import { describeFingerprint, numericsFingerprint, parseNumericsMode } from "./numerics.ts";
 *
 * const mode = parseNumericsMode("reproducible");
 * const fp = numericsFingerprint(mode);
 * console.log(describeFingerprint(fp)); // e.g. "numerics reproducible; CPU Intel(R) Xeon(R) ..."
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

/**
 * The OpenBLAS kernel every AVX2 CPU runs in reproducible mode. `SkylakeX`
 * (AVX-512) is faster but exists only on some CPUs and gives other sums; the
 * `Haswell` kernels run on every x86-64 CPU with AVX2 and FMA, Intel or AMD.
 */
export const REPRODUCIBLE_CORE_TYPE = "Haswell";

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
  /** Library name or path. */
  library: string;
  /** OpenBLAS core type in use (kernel family), when known. */
  coreType?: string;
  /** Threads actually computing a product. */
  threads?: number;
}

/** The facts that decide whether a run's numbers can be reproduced elsewhere. */
export interface NumericsFingerprint {
  /** The mode the run used. */
  mode: NumericsMode;
  /** CPU model name (`/proc/cpuinfo`), or the architecture when unknown. */
  cpuModel: string;
  /** `Deno.build.arch`. */
  arch: string;
  /** Vector extensions that matter here: `avx2`, `fma`, `avx512f` (those present). */
  cpuFeatures: string[];
  /** The tfjs backend, when known. */
  backend?: string;
  /** The native BLAS, when the backend uses one. */
  blas?: BlasFacts;
  /**
   * Whether this run's numbers equal the reference machine's bit for bit:
   * true only in reproducible mode on x86-64 with AVX2+FMA and, with a native
   * BLAS, OpenBLAS running the {@link REPRODUCIBLE_CORE_TYPE} kernel.
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

/**
 * Whether a CPU with `flags` (undefined: unknown) on `arch` runs the pinned
 * reproducible path; the reason when it does not.
 */
export function reproducibleCpu(
  flags: Set<string> | undefined,
  arch: string = Deno.build.arch,
): { ok: true } | { ok: false; reason: string } {
  if (arch !== "x86_64") {
    return {
      ok: false,
      reason: `${arch} CPU: the reference bits come from x86-64 kernels (AVX2); ` +
        `this machine cannot reproduce them`,
    };
  }
  if (flags === undefined) {
    return { ok: false, reason: "CPU features unknown (cannot read /proc/cpuinfo)" };
  }
  if (!flags.has("avx2") || !flags.has("fma")) {
    return {
      ok: false,
      reason: "x86-64 CPU without AVX2/FMA: the pinned Haswell kernels cannot run here; " +
        "this machine cannot reproduce the reference bits",
    };
  }
  return { ok: true };
}

/** Options of {@link numericsFingerprint}. */
export interface FingerprintOptions {
  /** The tfjs backend in use (e.g. `wasm-blas`). */
  backend?: string;
  /** The native BLAS in use, if any. */
  blas?: BlasFacts;
  /** CPU flags (default: read from `/proc/cpuinfo`). */
  flags?: Set<string>;
  /** CPU model (default: read from `/proc/cpuinfo`). */
  cpuModel?: string;
  /** Architecture (default `Deno.build.arch`). */
  arch?: string;
  /** An extra reason the run is not reproducible (e.g. a backend that cannot be pinned). */
  problem?: string;
}

/** Builds the fingerprint of a run in `mode` on this machine. */
export function numericsFingerprint(
  mode: NumericsMode,
  opts: FingerprintOptions = {},
): NumericsFingerprint {
  const arch = opts.arch ?? Deno.build.arch;
  const flags = opts.flags ?? readCpuFlags();
  const model = opts.cpuModel ?? cpuModel() ?? `unknown ${arch} CPU`;
  const features = ["avx2", "fma", "avx512f"].filter((f) => flags?.has(f));
  const base = {
    mode,
    cpuModel: model,
    arch,
    cpuFeatures: features,
    ...(opts.backend === undefined ? {} : { backend: opts.backend }),
    ...(opts.blas === undefined ? {} : { blas: opts.blas }),
  };
  if (mode === "fast") {
    return {
      ...base,
      bitIdentical: false,
      note: "fast numerics: the fastest kernels of this machine; numbers may differ from " +
        "machine to machine",
      tolerance: CROSS_MACHINE_TOLERANCE,
    };
  }
  const cpu = reproducibleCpu(flags, arch);
  const problems = [
    ...(cpu.ok ? [] : [cpu.reason]),
    ...(opts.problem ? [opts.problem] : []),
    ...(opts.blas && opts.blas.coreType !== REPRODUCIBLE_CORE_TYPE
      ? [
        `BLAS ${opts.blas.library} runs ${opts.blas.coreType ?? "an unknown"} kernel, ` +
        `not OpenBLAS ${REPRODUCIBLE_CORE_TYPE}`,
      ]
      : []),
  ];
  if (problems.length > 0) {
    return {
      ...base,
      bitIdentical: false,
      note: `${problems.join("; ")}. Accuracies may differ from the reference machine's by up ` +
        `to ${(CROSS_MACHINE_TOLERANCE * 100).toFixed(1)} percentage points`,
      tolerance: CROSS_MACHINE_TOLERANCE,
    };
  }
  return {
    ...base,
    bitIdentical: true,
    note: "reproducible numerics: the same bits on every x86-64 CPU with AVX2 " +
      "(OpenBLAS Haswell kernel in fixed single-threaded panels, fixed-order reductions, " +
      "the wasm SIMD binary without threads)",
  };
}

/** One line: mode, CPU, BLAS + kernel + threads, and whether the bits are the reference's. */
export function describeFingerprint(fp: NumericsFingerprint): string {
  const blas = fp.blas
    ? `; BLAS ${fp.blas.library}${fp.blas.coreType ? ` kernel ${fp.blas.coreType}` : ""}` +
      (fp.blas.threads === undefined ? "" : `, ${fp.blas.threads} threads`)
    : "";
  return `numerics ${fp.mode}; CPU ${fp.cpuModel} (${fp.arch}` +
    (fp.cpuFeatures.length ? ` ${fp.cpuFeatures.join(" ")}` : "") + `)` +
    (fp.backend ? `; backend ${fp.backend}` : "") + blas +
    `; bit-identical to the reference: ${fp.bitIdentical ? "yes" : "NO"} (${fp.note})`;
}
