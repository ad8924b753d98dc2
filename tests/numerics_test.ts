/**
 * Numerics modes: flag parsing and the fingerprint's verdict per engine.
 */
import { assert, assertEquals, assertThrows } from "../deps/assert.ts";
import {
  CROSS_MACHINE_TOLERANCE,
  describeFingerprint,
  NATIVE_INSTALL_HINT,
  numericsFingerprint,
  parseCpuModel,
  parseNumericsMode,
  PORTABLE_ENGINE,
} from "../compute/numerics.ts";
import { readCpuFlags, readFileViaLibc } from "../compute/cpu_features.ts";
import { nativeMissingLine } from "../compute/backend.ts";
import { numericsNote } from "../grader/report/reports.ts";

Deno.test("--numerics accepts reproducible and fast, and names the flag otherwise", () => {
  assertEquals(parseNumericsMode("reproducible"), "reproducible");
  assertEquals(parseNumericsMode(" FAST "), "fast");
  assertThrows(
    () => parseNumericsMode("exact"),
    Error,
    '--numerics: unknown mode "exact"; expected one of: reproducible, fast',
  );
});

Deno.test("the fingerprint names the engine and says the bits are the reference's because of it", () => {
  const avx2 = new Set(["avx2", "fma", "avx"]);
  const portable = { library: PORTABLE_ENGINE, threads: 2 };
  const ok = numericsFingerprint("reproducible", {
    flags: avx2,
    arch: "x86_64",
    cpuModel: "AMD EPYC 7B13",
    backend: "wasm-blas",
    blas: portable,
  });
  assertEquals(ok.bitIdentical, true);
  assertEquals(ok.tolerance, undefined);
  assertEquals(ok.cpuFeatures, ["avx2", "fma"]);
  const line = describeFingerprint(ok);
  assert(line.includes(`engine ${PORTABLE_ENGINE} (the portable core), 2 threads`), line);
  assert(ok.note.includes("because of the engine"), ok.note);
  // ARM64 runs the same engine: the same verdict.
  const arm = numericsFingerprint("reproducible", {
    flags: new Set(["asimd"]),
    arch: "aarch64",
    cpuModel: "Apple M2",
    backend: "wasm-blas",
    blas: portable,
  });
  assertEquals(arm.bitIdentical, true);
  // No engine of ours (stock wasm, or no BLAS at all): never "yes".
  for (const backend of ["wasm", "cpu", undefined]) {
    const none = numericsFingerprint("reproducible", { flags: avx2, arch: "x86_64", backend });
    assertEquals(none.bitIdentical, false, `backend ${backend}`);
    assertEquals(none.tolerance, CROSS_MACHINE_TOLERANCE);
    assert(none.note.includes("not on the portable core"), none.note);
    assert(none.note.includes("0.5 percentage points"), none.note);
  }
  const native = numericsFingerprint("reproducible", {
    flags: avx2,
    arch: "x86_64",
    backend: "wasm-blas",
    blas: { library: "libopenblas.so.0", coreType: "SkylakeX", threads: 2 },
  });
  assert(!native.bitIdentical && native.engine.includes("SkylakeX"), native.engine);
  const fast = numericsFingerprint("fast", {
    flags: avx2,
    arch: "x86_64",
    blas: { library: "libopenblas.so.0", coreType: "SkylakeX" },
  });
  assert(!fast.bitIdentical && fast.note.includes("may differ from machine to machine"));
  assert(!fast.note.includes(NATIVE_INSTALL_HINT), fast.note);
  // Fast asked, no native library: said plainly, with how to install one.
  const fallback = numericsFingerprint("fast", {
    flags: avx2,
    arch: "x86_64",
    blas: portable,
    nativeMissing: "NOTMNIST_BLAS_LIB=none: no native library is used",
  });
  assert(fallback.note.includes(`ran on ${PORTABLE_ENGINE}`), fallback.note);
  assert(fallback.note.includes("NOTMNIST_BLAS_LIB=none"), fallback.note);
  // The run says it once, with how to install the native library (selectBackend's log).
  const said = nativeMissingLine("NOTMNIST_BLAS_LIB=none: no native library is used");
  assert(said.includes(NATIVE_INSTALL_HINT), said);
  assert(said.includes("apt-get install libopenblas0-pthread"), said);
  assert(said.includes("brew install openblas"), said);
  // And a fast report on the portable core says how to get the native one.
  assert(numericsNote(fallback).includes(NATIVE_INSTALL_HINT), numericsNote(fallback));
});

Deno.test("the CPU model comes from /proc/cpuinfo's model name line", () => {
  assertEquals(
    parseCpuModel("processor\t: 0\nmodel name\t: AMD EPYC 7B13 64-Core Processor\nflags : x\n"),
    "AMD EPYC 7B13 64-Core Processor",
  );
  assertEquals(parseCpuModel("processor : 0\n"), undefined);
});

Deno.test({
  name: "files Deno refuses (/proc/cpuinfo without --allow-all) are read through libc with FFI",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const file = await Deno.makeTempFile();
    try {
      const text = "model name\t: Test CPU\nflags\t\t: fpu avx2 fma\n".repeat(3000);
      await Deno.writeTextFile(file, text);
      assertEquals(readFileViaLibc(file), text);
      assertEquals(readFileViaLibc(`${file}.missing`), undefined);
      const flags = readCpuFlags();
      assert(flags === undefined || flags.size > 0);
    } finally {
      await Deno.remove(file);
    }
  },
});
