/**
 * Numerics modes: flag parsing, the fingerprint's verdict per machine kind,
 * and the fixed-order BLAS face (panel cuts at every transpose, SGEMV/SAXPY
 * against float32 references, bit for bit).
 */
import { assert, assertEquals, assertThrows } from "../deps/assert.ts";
import {
  CROSS_MACHINE_TOLERANCE,
  describeFingerprint,
  numericsFingerprint,
  parseCpuModel,
  parseNumericsMode,
} from "../compute/numerics.ts";
import {
  fixedOrderSaxpy,
  fixedOrderSgemv,
  PANEL,
  panelPlan,
  reproducibleBlas,
} from "../compute/blas/fixed_order.ts";
import type { BlasLibrary } from "../compute/blas/library.ts";
import { readCpuFlags, readFileViaLibc } from "../compute/cpu_features.ts";
import { Rng } from "../utils/rng.ts";

Deno.test("--numerics accepts reproducible and fast, and names the flag otherwise", () => {
  assertEquals(parseNumericsMode("reproducible"), "reproducible");
  assertEquals(parseNumericsMode(" FAST "), "fast");
  assertThrows(
    () => parseNumericsMode("exact"),
    Error,
    '--numerics: unknown mode "exact"; expected one of: reproducible, fast',
  );
});

Deno.test("the fingerprint says which machines give the reference bits", () => {
  const avx2 = new Set(["avx2", "fma", "avx"]);
  const haswell = { library: "libopenblas.so.0", coreType: "Haswell", threads: 1 };
  const ok = numericsFingerprint("reproducible", {
    flags: avx2,
    arch: "x86_64",
    cpuModel: "AMD EPYC 7B13",
    backend: "wasm-blas",
    blas: haswell,
  });
  assertEquals(ok.bitIdentical, true);
  assertEquals(ok.tolerance, undefined);
  assertEquals(ok.cpuFeatures, ["avx2", "fma"]);
  assert(describeFingerprint(ok).includes("kernel Haswell, 1 threads"), describeFingerprint(ok));
  const arm = numericsFingerprint("reproducible", {
    flags: new Set(["neon"]),
    arch: "aarch64",
    cpuModel: "Apple M2",
  });
  assertEquals(arm.bitIdentical, false);
  assertEquals(arm.tolerance, CROSS_MACHINE_TOLERANCE);
  assert(arm.note.includes("cannot reproduce"), arm.note);
  assert(arm.note.includes("0.5 percentage points"), arm.note);
  const old = numericsFingerprint("reproducible", { flags: new Set(["avx"]), arch: "x86_64" });
  assert(!old.bitIdentical && old.note.includes("without AVX2"), old.note);
  const skx = numericsFingerprint("reproducible", {
    flags: avx2,
    arch: "x86_64",
    blas: { ...haswell, coreType: "SkylakeX" },
  });
  assert(!skx.bitIdentical && skx.note.includes("SkylakeX"), skx.note);
  const fast = numericsFingerprint("fast", { flags: avx2, arch: "x86_64" });
  assert(!fast.bitIdentical && fast.note.includes("may differ from machine to machine"));
});

Deno.test("the CPU model comes from /proc/cpuinfo's model name line", () => {
  assertEquals(
    parseCpuModel("processor\t: 0\nmodel name\t: AMD EPYC 7B13 64-Core Processor\nflags : x\n"),
    "AMD EPYC 7B13 64-Core Processor",
  );
  assertEquals(parseCpuModel("processor : 0\n"), undefined);
});

Deno.test("panels depend on the shape alone: along the larger side, PANEL at a time", () => {
  assertEquals(panelPlan(512, 256), { rows: true, starts: [0, 256], size: 512 });
  assertEquals(panelPlan(128, 1000), { rows: false, starts: [0, 256, 512, 768], size: 1000 });
  assertEquals(panelPlan(10, 10).starts, [0]);
  assertEquals(PANEL, 256);
});

function seeded(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.next() * 2 - 1;
  return a;
}

/** A plain JS row-major SGEMM (float32 multiply, then add, in k order) standing in for a BLAS. */
function jsBlas(calls: number[][]): BlasLibrary {
  const f = Math.fround;
  return {
    library: "js",
    family: "openblas",
    coreType: "Haswell",
    threads: 1,
    timing: { enabled: false, ms: 0, calls: 0 },
    sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      calls.push([m, n, k]);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) {
            const av = tA ? a[p * lda + i] : a[i * lda + p];
            const bv = tB ? b[j * ldb + p] : b[p * ldb + j];
            s = f(s + f(av * bv));
          }
          const o = i * ldc + j;
          c[o] = beta === 0 ? f(alpha * s) : f(f(alpha * s) + f(beta * c[o]));
        }
      }
    },
    sgemv() {},
    saxpy() {},
    setThreads: () => true,
    close() {},
  };
}

Deno.test("reproducible SGEMM cuts into panels that give the whole product, every transpose", () => {
  for (const [m, n, k] of [[300, 40, 7], [40, 600, 9], [513, 513, 3]]) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const a = seeded(m * k, 1);
        const b = seeded(k * n, 2);
        const whole = seeded(m * n, 3);
        const cut = whole.slice();
        const calls: number[][] = [];
        const lda = tA ? m : k;
        const ldb = tB ? k : n;
        jsBlas([]).sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 1, whole, n);
        reproducibleBlas(jsBlas(calls)).sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 1, cut, n);
        assertEquals(cut, whole, `${m}x${n}x${k} tA=${tA} tB=${tB}`);
        assertEquals(calls.length, panelPlan(m, n).starts.length);
      }
    }
  }
});

Deno.test("fixed-order SGEMV and SAXPY equal float32 loops bit for bit", () => {
  const f = Math.fround;
  const [m, n] = [37, 19];
  const a = seeded(m * n, 4);
  for (const trans of [false, true]) {
    const x = seeded(trans ? m : n, 5);
    const y0 = seeded(trans ? n : m, 6);
    for (const [alpha, beta] of [[1, 0], [0.5, 1], [-2, 0.25]]) {
      const y = y0.slice();
      fixedOrderSgemv(trans, m, n, alpha, a, n, x, beta, y);
      const ref = new Float32Array(y0.length);
      for (let o = 0; o < ref.length; o++) {
        let s = 0;
        const len = trans ? m : n;
        for (let p = 0; p < len; p++) s = f(s + f((trans ? a[p * n + o] : a[o * n + p]) * x[p]));
        const scaled = f(alpha * s);
        ref[o] = beta === 0 ? scaled : f(scaled + f(beta * y0[o]));
      }
      assertEquals(y, ref, `trans=${trans} alpha=${alpha} beta=${beta}`);
    }
  }
  const x = seeded(100, 7);
  const y = seeded(100, 8);
  const ref = y.map((v, i) => f(v + f(0.3 * x[i])));
  fixedOrderSaxpy(100, 0.3, x, y);
  assertEquals(y, ref);
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
