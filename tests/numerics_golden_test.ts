/**
 * Reproducible numerics: a 300-step training run (tests/numerics_hashes_main.ts,
 * deterministic generated data) must give the SHA-256 of its final weights and
 * test predictions committed below, on whatever machine runs it: every product
 * runs on the portable WebAssembly SIMD core (compute/portable/), so neither
 * the host, the thread count, nor whether a native BLAS is installed can
 * change a bit. Each run is a subprocess (one engine per process).
 *
 * Goldens produced on (and seen to hold on), 2026-12-02: AMD EPYC (2 vCPUs),
 * Deno 2.9.6, tfjs 4.22.0: with OpenBLAS 0.3.21 installed, with
 * `NOTMNIST_BLAS_LIB=none` and no `--allow-ffi`, engine threads 1, 2 and 4;
 * a short run of the same network also under emulated aarch64
 * (tests/numerics_arm64_test.ts).
 *
 * Regenerate (e.g. after a change to the training path) with
 *   deno run -A tests/numerics_hashes_main.ts && deno run -A tests/numerics_hashes_main.ts --backend wasm --epochs 3
 * and copy `weights`, `predictions` and `math` below (then record the CPU model here).
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { mathHash } from "./numerics_hashes_main.ts";

/**
 * Reproducible mode, backend wasm-blas on the portable core, 300 steps:
 * trained by the fused step (models/train/fused_step.ts, what trainMlp runs
 * on wasm-blas).
 */
const GOLDEN_WASM_BLAS = {
  weights: "6df0121c7125157b0586286fae0cd331678da7cdd5d5bb483e9067e29ad9588e",
  predictions: "fb14998a2946780fee4fac6c13b9aeed2d961618f0a3889f30eb45a5fb32f840",
};
/** Reproducible mode, stock wasm backend, 60 steps (`--epochs 3`): not the reference engine. */
const GOLDEN_WASM = {
  weights: "24dc1ab02006b565bd2d95b04181b3c074626246df13817b700b40281f9e6025",
  predictions: "175c7f6635d37cf4f7d36c0e75d1902fec4ebee2482908668b89ef44eb87043a",
};
/** `Math.exp` / `Math.log` over a fixed grid (V8's software fdlibm port). */
const GOLDEN_MATH = "990abfd71ba13acbb27265ff203804556f740e4c2ffc7c149ebc73422877c784";

interface Hashes {
  backend: string;
  detail?: string;
  bitIdentical: boolean;
  weights: string;
  predictions: string;
  math: string;
}

const SCRIPT = new URL("./numerics_hashes_main.ts", import.meta.url).pathname;
const ENV_KEYS = ["NOTMNIST_BLAS_THREADS", "NOTMNIST_BLAS_LIB", "OPENBLAS_CORETYPE"];
/** The task CLIs' permissions (no --allow-all: /proc/cpuinfo is then read through FFI). */
const WITH_FFI = ["--allow-read", "--allow-env", "--allow-ffi", "--allow-sys"];

async function hashes(
  env: Record<string, string>,
  args: string[] = [],
  perms: string[] = WITH_FFI,
): Promise<Hashes> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (!ENV_KEYS.includes(k)) clean[k] = v;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...perms, SCRIPT, ...args],
    env: { ...clean, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `hash run ${JSON.stringify(env)} ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return JSON.parse(text.split("\n").pop() ?? "") as Hashes;
}

Deno.test("reproducible wasm-blas training gives the golden weight and prediction hashes", async () => {
  const h = await hashes({});
  assertEquals(h.backend, "wasm-blas");
  assert(h.detail?.startsWith("portable-wasm-simd"), `not the portable core: ${h.detail}`);
  assert(h.bitIdentical, `fingerprint says not bit-identical: ${JSON.stringify(h)}`);
  assertEquals({ weights: h.weights, predictions: h.predictions }, GOLDEN_WASM_BLAS);
});

// Engine threads 1, 2 and 4; no native library at all (and no FFI); an OpenBLAS kernel forced.
const variants: { env: Record<string, string>; perms?: string[] }[] = [
  { env: { NOTMNIST_BLAS_THREADS: "1" } },
  { env: { NOTMNIST_BLAS_THREADS: "2", OPENBLAS_CORETYPE: "Sandybridge" } },
  { env: { NOTMNIST_BLAS_THREADS: "4" } },
  { env: { NOTMNIST_BLAS_LIB: "none" }, perms: ["--allow-read", "--allow-env", "--allow-sys"] },
];

Deno.test("same hashes for engine threads 1, 2 and 4, and with no native library or FFI", async () => {
  // Concurrent subprocesses: thread splits also meet a loaded machine.
  const results = await Promise.all(variants.map((v) => hashes(v.env, [], v.perms)));
  for (const [i, v] of variants.entries()) {
    const h = results[i];
    assert(h.bitIdentical, `${JSON.stringify(v)}: fingerprint says not bit-identical`);
    assertEquals(
      { weights: h.weights, predictions: h.predictions },
      GOLDEN_WASM_BLAS,
      `${JSON.stringify(v)} changed the bits (${h.detail})`,
    );
  }
});

Deno.test("reproducible stock wasm training gives its golden hashes (and says they are not the reference)", async () => {
  const h = await hashes({}, ["--backend", "wasm", "--epochs", "3"]);
  assertEquals(h.backend, "wasm");
  assertEquals(h.bitIdentical, false);
  assertEquals({ weights: h.weights, predictions: h.predictions }, GOLDEN_WASM);
});

Deno.test("Math.exp and Math.log give the golden bits (V8's fdlibm port, not the host libm)", () => {
  assertEquals(mathHash(), GOLDEN_MATH);
});
