/**
 * CPU feature detection used to pick an OpenBLAS core type. OpenBLAS 0.3.21
 * (Debian 12) does not recognise recent Xeon models and falls back to its
 * generic "Prescott" kernels, several times slower than the AVX-512 ones; the
 * fix is `OPENBLAS_CORETYPE`, which must be in the environment before the
 * library is loaded.
 *
 * @module
 */

/** Reads the CPU flags of the first processor in `/proc/cpuinfo`; `undefined` when unreadable. */
export function readCpuFlags(path = "/proc/cpuinfo"): Set<string> | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
  return parseCpuFlags(text);
}

/** Parses the `flags` line of a `/proc/cpuinfo` text into a set; `undefined` when absent. */
export function parseCpuFlags(cpuinfo: string): Set<string> | undefined {
  const line = cpuinfo.split("\n").find((l) => /^flags\s*:/.test(l));
  if (line === undefined) return undefined;
  return new Set(line.slice(line.indexOf(":") + 1).trim().split(/\s+/));
}

/**
 * The OpenBLAS core type that fits a CPU with `flags`, or `undefined` when no
 * vector extension beyond SSE is present (OpenBLAS' own choice is then fine).
 * AVX-512 (F, BW, VL, DQ) gives `SkylakeX`, AVX2 with FMA gives `Haswell`, AVX
 * gives `Sandybridge`.
 */
export function coreTypeForFlags(flags: Set<string>): string | undefined {
  if (["avx512f", "avx512bw", "avx512vl", "avx512dq"].every((f) => flags.has(f))) {
    return "SkylakeX";
  }
  if (flags.has("avx2") && flags.has("fma")) return "Haswell";
  if (flags.has("avx")) return "Sandybridge";
  return undefined;
}
