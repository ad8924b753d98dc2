/**
 * Reproducible numerics: a 300-step training run (tests/numerics_hashes_main.ts,
 * deterministic generated data) must give the SHA-256 of its final weights and
 * test predictions committed below, on whatever x86-64 AVX2 machine runs it,
 * for any BLAS thread count and whatever OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
 * the environment sets. Each run is a subprocess (OpenBLAS is pinned once per
 * process, when loaded).
 *
 * Goldens produced on (and seen to hold on):
 * - Intel(R) Xeon(R) Processor, KVM guest (Sapphire/Emerald Rapids class,
 *   AVX-512, 2 MiB L2 per core; lscpu reports family 6 model 167), 2 cores,
 *   Deno 2.9.6 (V8 14.x), tfjs 4.22.0, Debian OpenBLAS 0.3.21, 2026-11-28.
 *
 * Regenerate (e.g. after a change to the training path) with
 *   deno run -A tests/numerics_hashes_main.ts && deno run -A tests/numerics_hashes_main.ts --backend wasm --epochs 3
 * and copy `weights`, `predictions` and `math` below (then record the CPU model here).
 *
 * On ARM or an x86-64 CPU without AVX2 the goldens cannot hold (the pinned
 * kernels do not exist there); those tests are then reported as ignored, with
 * the reason in their names.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { readCpuFlags } from "../compute/cpu_features.ts";
import { reproducibleCpu } from "../compute/numerics.ts";
import { mathHash } from "./numerics_hashes_main.ts";

/**
 * Reproducible mode, backend wasm-blas, 300 steps: trained by the fused step
 * (models/train/fused_step.ts, what trainMlp runs on wasm-blas; regenerated for it
 * on the machine below, 2026-11-29; again 2026-12-02 for the seed-stream table of
 * utils/seed_streams.ts, AMD EPYC).
 */
const GOLDEN_WASM_BLAS = {
  weights: "1a6f2316f7f3e927d4b1c20be33503f245264af34503a2c9bb6e6dabb9395d62",
  predictions: "23eae230763e21ab5b2f323a938375477ee86f0208ae955cc6ae00a64c12818d",
};
/** Reproducible mode, stock wasm backend (the sandbox's), 60 steps (`--epochs 3`). */
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
const ENV_KEYS = ["NOTMNIST_BLAS_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];

async function hashes(env: Record<string, string>, args: string[] = []): Promise<Hashes> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (!ENV_KEYS.includes(k)) clean[k] = v;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    // The task CLIs' permissions (no --allow-all: /proc/cpuinfo is then read through FFI).
    args: ["run", "--allow-read", "--allow-env", "--allow-ffi", "--allow-sys", SCRIPT, ...args],
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

const flags = readCpuFlags();
const cpu = reproducibleCpu(flags);
const cpuIgnored = cpu.ok ? "" : ` (ignored: ${cpu.reason})`;
// Whether a native BLAS is here at all (the wasm-blas goldens need one).
const blasProbe = cpu.ok ? await hashes({}).catch((e: Error) => e) : undefined;
const noBlas = blasProbe instanceof Error && /cannot start/.test(blasProbe.message);
const blasIgnored = cpuIgnored || (noBlas ? " (ignored: no BLAS library on this machine)" : "");

Deno.test(
  `reproducible wasm-blas training gives the golden weight and prediction hashes${blasIgnored}`,
  {
    ignore: blasIgnored !== "",
  },
  () => {
    if (blasProbe instanceof Error) throw blasProbe;
    const h = blasProbe!;
    assertEquals(h.backend, "wasm-blas");
    assert(h.bitIdentical, `fingerprint says not bit-identical: ${JSON.stringify(h)}`);
    assertEquals(
      { weights: h.weights, predictions: h.predictions },
      GOLDEN_WASM_BLAS,
      `this machine breaks bit-identity (${h.detail})`,
    );
  },
);

// Every kernel OPENBLAS_CORETYPE can force on this CPU, thread counts 1, 2 and 3, odd L2 sizes.
const variants: Record<string, string>[] = [
  { NOTMNIST_BLAS_THREADS: "1" },
  { NOTMNIST_BLAS_THREADS: "2", OPENBLAS_CORETYPE: "Haswell" },
  { NOTMNIST_BLAS_THREADS: "3", OPENBLAS_CORETYPE: "Sandybridge", OPENBLAS_L2_SIZE: "131072" },
  ...(flags?.has("avx512f")
    ? [{ NOTMNIST_BLAS_THREADS: "2", OPENBLAS_CORETYPE: "SkylakeX", OPENBLAS_L2_SIZE: "4194304" }]
    : []),
];

Deno.test(
  `same hashes for BLAS threads 1, 2 and 3, every OPENBLAS_CORETYPE and L2 size${blasIgnored}`,
  {
    ignore: blasIgnored !== "",
  },
  async () => {
    // Concurrent subprocesses: thread partitions also meet a loaded machine.
    const results = await Promise.all(variants.map((env) => hashes(env)));
    for (const [i, env] of variants.entries()) {
      const h = results[i];
      assert(
        h.detail?.includes("Haswell"),
        `${JSON.stringify(env)}: expected the pinned kernel, got ${h.detail}`,
      );
      assertEquals(
        { weights: h.weights, predictions: h.predictions },
        GOLDEN_WASM_BLAS,
        `${JSON.stringify(env)} changed the bits (${h.detail})`,
      );
    }
  },
);

Deno.test(`reproducible stock wasm training gives the golden hashes${cpuIgnored}`, {
  ignore: cpuIgnored !== "",
}, async () => {
  const h = await hashes({}, ["--backend", "wasm", "--epochs", "3"]);
  assertEquals(h.backend, "wasm");
  assertEquals({ weights: h.weights, predictions: h.predictions }, GOLDEN_WASM);
});

Deno.test("Math.exp and Math.log give the golden bits (V8's fdlibm port, not the host libm)", () => {
  assertEquals(mathHash(), GOLDEN_MATH);
});
