/**
 * CPU feature detection used to pick an OpenBLAS core type. OpenBLAS 0.3.21
 * (Debian 12) does not recognise recent Xeon models and falls back to its
 * generic "Prescott" kernels, several times slower than the AVX-512 ones; the
 * fix is `OPENBLAS_CORETYPE`, which must be in the environment before the
 * library is loaded.
 *
 * @module
 */

/**
 * Reads `path` through the C library (`fopen`/`fread` via Deno FFI). Deno 2.9
 * refuses `/proc/cpuinfo` to anything short of `--allow-all`, even with
 * `--allow-read=/proc/cpuinfo`; a process granted `--allow-ffi` can read it
 * this way. `undefined` without FFI permission, off Linux, or on any error.
 */
export function readFileViaLibc(path: string, maxBytes = 1 << 20): string | undefined {
  if (Deno.build.os !== "linux" || typeof Deno?.dlopen !== "function") return undefined;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  } catch {
    return undefined;
  }
  let lib;
  try {
    lib = Deno.dlopen("libc.so.6", {
      fopen: { parameters: ["buffer", "buffer"], result: "pointer" },
      fread: { parameters: ["buffer", "usize", "usize", "pointer"], result: "usize" },
      fclose: { parameters: ["pointer"], result: "i32" },
    });
  } catch {
    return undefined;
  }
  try {
    const enc = new TextEncoder();
    const fp = lib.symbols.fopen(enc.encode(path + "\0"), enc.encode("r\0"));
    if (fp === null) return undefined;
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      while (total < maxBytes) {
        const buf = new Uint8Array(65536);
        const n = Number(lib.symbols.fread(buf, 1n, BigInt(buf.length), fp));
        if (n <= 0) break;
        chunks.push(buf.subarray(0, n));
        total += n;
      }
    } finally {
      lib.symbols.fclose(fp);
    }
    const all = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    return new TextDecoder().decode(all);
  } catch {
    return undefined;
  } finally {
    lib.close();
  }
}

/** The text of `/proc/cpuinfo`: read directly, else through libc (FFI); `undefined` when neither works. */
export function readCpuInfo(path = "/proc/cpuinfo"): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return readFileViaLibc(path);
  }
}

/** Reads the CPU flags of the first processor in `/proc/cpuinfo`; `undefined` when unreadable. */
export function readCpuFlags(path = "/proc/cpuinfo"): Set<string> | undefined {
  const text = readCpuInfo(path);
  return text === undefined ? undefined : parseCpuFlags(text);
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
