/**
 * Training throughput benchmark: samples/s and GFLOP/s of one SGD (or
 * momentum) step of model a (784-1024-1024-10 relu) and model c (784-128-10
 * relu) at batch 128 and 512 on every tfjs backend available (cpu, wasm,
 * wasm-blas), against PyTorch on the same models and batches in the same run
 * (bench/pytorch_peer.py, when a python3 with torch is found), and against two
 * ceilings measured in the same run: a native FMA loop (when a C compiler is
 * present) and raw `cblas_sgemm` on a 2048^3 product.
 *
 * Also the lab's real recipe (bench/recipe_bench.ts): `SMALL_RECIPE` for
 * `--recipe-epochs` epochs on the real small training split (needs
 * `NOTMNIST_DIR`), `trainMlp` against the PyTorch peer doing the same recipe.
 * Backend `fused` is the fused training step (models/train/fused_step.ts) that
 * `trainMlp` uses on wasm-blas; `wasm-blas` is the tfjs path on the same BLAS.
 *
 * Usage: `deno run -A bench/train_bench.ts [--steps 30] [--slow-steps 2] [--rounds 3]
 *   [--models a,c] [--batches 128,512] [--opts sgd,momentum]
 *   [--backends cpu,wasm,wasm-blas,fused] [--recipe-epochs 2] [--no-recipe]
 *   [--no-pytorch] [--profile] [--json FILE]`
 *
 * Not a test: nothing fails on a slow machine. The machine may be shared:
 * compare figures from one run only.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "../compute/cpu_backend.ts";
import "@tensorflow/tfjs-backend-wasm";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  intFlag,
  listFlag,
  parseFlags,
  parseInteger,
  stringFlag,
  switchFlag,
  usageLines,
} from "../deps/flags.ts";
import { Rng } from "../utils/rng.ts";
import { registerWasmBlasBackend, WASM_BLAS, wasmBlasLibrary } from "../compute/wasm_blas/mod.ts";
import type { BlasLibrary } from "../compute/wasm_blas/mod.ts";
import {
  benchRecipe,
  recipeData,
  timeFused,
  timeRecipe,
  torchRecipeRequest,
} from "./recipe_bench.ts";

/** Layer sizes of the benchmarked models. */
export const MODELS: Record<string, number[]> = {
  a: [784, 1024, 1024, 10],
  c: [784, 128, 10],
};

/** One measured row. */
export interface BenchRow {
  /** Model name (a key of {@link MODELS}). */
  model: string;
  /** Minibatch size. */
  batch: number;
  /** Optimizer: sgd or momentum. */
  opt: string;
  /** Backend name (tfjs backend, or `pytorch`). */
  backend: string;
  /** Training samples per second. */
  samplesPerS: number;
  /** Useful matmul GFLOP/s (see {@link trainFlopsPerSample}). */
  gflops: number;
  /** Extra detail (PyTorch thread setting, steps). */
  note?: string;
}

/**
 * Matmul FLOPs of one training sample: forward `2 * in * out` per layer,
 * weight gradient `2 * in * out`, input gradient `2 * in * out` for every
 * layer but the first (the input needs no gradient). Bias, activation and
 * optimizer work are not counted.
 */
export function trainFlopsPerSample(sizes: number[]): number {
  let f = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const mac = sizes[l] * sizes[l + 1];
    f += (l === 0 ? 4 : 6) * mac;
  }
  return f;
}

function randomData(rng: Rng, batch: number, sizes: number[]): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const n = sizes[0];
  const classes = sizes[sizes.length - 1];
  const xs = new Float32Array(batch * n);
  for (let i = 0; i < xs.length; i++) xs[i] = rng.nextUint32() / 2 ** 32;
  const labels = new Int32Array(batch);
  for (let i = 0; i < batch; i++) labels[i] = rng.nextUint32() % classes;
  const x = tf.tensor2d(xs, [batch, n]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, "int32"), classes) as tf.Tensor2D);
  return { x, y };
}

function buildModel(sizes: number[], seed: number): tfl.Sequential {
  const layers: tfl.layers.Layer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    layers.push(tfl.layers.dense({
      inputShape: l === 0 ? [sizes[0]] : undefined,
      units: sizes[l + 1],
      activation: l + 2 < sizes.length ? "relu" : "linear",
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + l }),
    }));
  }
  return tfl.sequential({ layers });
}

/**
 * Times `steps` training steps (after `warmup` steps) of a tfjs-layers model
 * on `backend`: `optimizer.minimize` of the softmax cross-entropy, reading the
 * loss back every step as a training loop does. Returns samples/s.
 */
export async function timeTfjs(
  backend: string,
  sizes: number[],
  batch: number,
  opt: string,
  steps: number,
  warmup: number,
): Promise<number> {
  await tf.setBackend(backend);
  const model = buildModel(sizes, 7);
  const { x, y } = randomData(new Rng(3), batch, sizes);
  const optimizer = opt === "sgd" ? tf.train.sgd(0.01) : tf.train.momentum(0.01, 0.9);
  const step = async (): Promise<number> => {
    const loss = optimizer.minimize(() => {
      const logits = model.apply(x, { training: true }) as tf.Tensor;
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    }, true) as tf.Scalar;
    const v = (await loss.data())[0];
    loss.dispose();
    return v;
  };
  for (let i = 0; i < warmup; i++) await step();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const dt = (performance.now() - t0) / 1000;
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
  return (batch * steps) / dt;
}

/** Milliseconds spent per kernel name, filled while kernel timers are installed. */
export type KernelTimes = Map<string, { ms: number; calls: number }>;

/**
 * Wraps every kernel registered for `backend` with a timer adding into the
 * returned map (kernels are synchronous on the wasm backends, so this is their
 * real cost; the time outside kernels is tfjs' own JS: tape, shapes, disposal).
 */
export function installKernelTimers(backend: string): { times: KernelTimes; restore: () => void } {
  const times: KernelTimes = new Map();
  const originals = tf.getKernelsForBackend(backend);
  for (const k of originals) {
    const inner = k.kernelFunc;
    const name = k.kernelName;
    tf.unregisterKernel(name, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (params) => {
        const t0 = performance.now();
        const out = inner(params);
        const e = times.get(name) ?? { ms: 0, calls: 0 };
        e.ms += performance.now() - t0;
        e.calls++;
        times.set(name, e);
        return out;
      },
    });
  }
  const restore = (): void => {
    for (const k of originals) {
      tf.unregisterKernel(k.kernelName, backend);
      tf.registerKernel(k);
    }
  };
  return { times, restore };
}

/** GFLOP/s of `blas` SGEMM on an `n x n x n` product (best of `reps`), on JS memory. */
export function sgemmGflops(blas: BlasLibrary, n: number, reps: number): number {
  const a = new Float32Array(n * n).fill(0.5);
  const b = new Float32Array(n * n).fill(0.25);
  const c = new Float32Array(n * n);
  blas.sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    blas.sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * n * n * n) / (best / 1000) / 1e9;
}

/**
 * Samples/s when a training step is only its matmuls (forward, weight and
 * input gradients, the same transposes tfjs uses) on raw SGEMM: the ceiling of
 * any framework on this BLAS.
 */
export function rawMatmulSamplesPerS(
  blas: BlasLibrary,
  sizes: number[],
  batch: number,
  steps: number,
): number {
  const acts = sizes.map((s) => new Float32Array(batch * s).fill(0.01));
  const grads = sizes.map((s) => new Float32Array(batch * s).fill(0.01));
  const ws = sizes.slice(1).map((s, l) => new Float32Array(sizes[l] * s).fill(0.01));
  const gws = ws.map((w) => new Float32Array(w.length));
  const step = (): void => {
    for (let l = 0; l + 1 < sizes.length; l++) {
      const [i, o] = [sizes[l], sizes[l + 1]];
      blas.sgemm(false, false, batch, o, i, 1, acts[l], i, ws[l], o, 0, acts[l + 1], o);
    }
    for (let l = sizes.length - 2; l >= 0; l--) {
      const [i, o] = [sizes[l], sizes[l + 1]];
      blas.sgemm(true, false, i, o, batch, 1, acts[l], i, grads[l + 1], o, 0, gws[l], o);
      if (l > 0) blas.sgemm(false, true, batch, i, o, 1, grads[l + 1], o, ws[l], o, 0, grads[l], i);
    }
  };
  for (let i = 0; i < 3; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  return (batch * steps) / ((performance.now() - t0) / 1000);
}

const FMA_C = `
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
/* One native vector register per accumulator: 512-bit with AVX-512 (32
   registers), 256-bit with AVX (16 registers), else 128-bit. A vector wider
   than the machine's is split by the compiler and its accumulators spill. */
#if defined(__AVX512F__)
#define LANES 16
#define ACC 12
#elif defined(__AVX__)
#define LANES 8
#define ACC 10
#else
#define LANES 4
#define ACC 8
#endif
typedef float vec __attribute__((vector_size(LANES * 4)));
static long iters = 20000000;
static void *run(void *out) {
  vec acc[ACC]; vec a, b;
  for (int i = 0; i < LANES; i++) { a[i] = 0.999999f; b[i] = 1e-7f; }
  for (int j = 0; j < ACC; j++) acc[j] = a * (float)j;
  for (long i = 0; i < iters; i++)
    for (int j = 0; j < ACC; j++) acc[j] = acc[j] * a + b;
  float s = 0; for (int j = 0; j < ACC; j++) for (int i = 0; i < LANES; i++) s += acc[j][i];
  *(float *)out = s; return 0;
}
int main(int argc, char **argv) {
  int t = argc > 1 ? atoi(argv[1]) : 1;
  pthread_t th[256]; float out[256]; struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < t; i++) pthread_create(&th[i], 0, run, &out[i]);
  for (int i = 0; i < t; i++) pthread_join(th[i], 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
  printf("%f %f %d\\n", 2.0 * LANES * ACC * iters * t / s / 1e9, out[0], LANES * 32);
  return 0;
}
`;

/**
 * FP32 FMA peak in GFLOP/s over `threads` threads, from a small C loop built
 * with the system compiler (`cc -O3 -march=native`) on vectors of the
 * machine's native width (512-bit with AVX-512, 256-bit with AVX/AVX2);
 * `undefined` when no compiler is available.
 */
export async function fmaPeakGflops(threads: number): Promise<number | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "fma_peak_" });
  try {
    await Deno.writeTextFile(`${dir}/fma.c`, FMA_C);
    const build = await new Deno.Command("cc", {
      args: ["-O3", "-march=native", "-pthread", "-o", `${dir}/fma`, `${dir}/fma.c`],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!build.success) return undefined;
    let best = 0;
    for (let r = 0; r < 2; r++) {
      const run = await new Deno.Command(`${dir}/fma`, { args: [String(threads)] }).output();
      if (!run.success) return undefined;
      best = Math.max(best, Number(new TextDecoder().decode(run.stdout).split(" ")[0]));
    }
    return best;
  } catch {
    return undefined;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** One PyTorch thread setting, served by a long-lived bench/pytorch_peer.py process. */
export interface TorchServer {
  /** The setting, e.g. `torch_threads=1 OPENBLAS_NUM_THREADS=2 OPENBLAS_CORETYPE=SkylakeX`. */
  config: string;
  /** Runs one measurement in the server; samples/s. */
  measure(model: string, batch: number, opt: string, steps: number): Promise<number>;
  /** Trains the recipe (a `recipe` request of pytorch_peer.py); samples/s and the SGD variant used. */
  recipe(request: Record<string, unknown>): Promise<{ samplesPerS: number; note: string }>;
  /** Ends the server process. */
  close(): Promise<void>;
}

async function pythonWithTorch(): Promise<string | undefined> {
  for (const py of ["python3", "/usr/bin/python3"]) {
    try {
      const r = await new Deno.Command(py, {
        args: ["-c", "import torch"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (r.success) return py;
    } catch {
      // not installed
    }
  }
  return undefined;
}

function lineReader(stream: ReadableStream<Uint8Array>): () => Promise<string | undefined> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return async () => {
    while (!buf.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      buf += value;
    }
    const i = buf.indexOf("\n");
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return line;
  };
}

/**
 * Starts one PyTorch server per thread setting: torch threads 1 or 2 x
 * `OPENBLAS_NUM_THREADS` 1 or 2, with `OPENBLAS_CORETYPE=SkylakeX` where the
 * CPU has AVX-512 and the user has not set it, plus (AVX-512) torch threads 1
 * with `ATEN_CPU_CAPABILITY=avx512`. Returns the servers, or why
 * there are none.
 */
export async function startTorchServers(): Promise<
  { ok: true; torch: string; servers: TorchServer[] } | { ok: false; reason: string }
> {
  const py = await pythonWithTorch();
  if (py === undefined) return { ok: false, reason: "no python3 with torch found" };
  const script = new URL("./pytorch_peer.py", import.meta.url).pathname;
  const env: Record<string, string> = {};
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  if (!Deno.env.get("OPENBLAS_CORETYPE") && /^flags\s*:.*\bavx512f\b/m.test(cpuinfo)) {
    env.OPENBLAS_CORETYPE = "SkylakeX";
  }
  const servers: TorchServer[] = [];
  let torch = "";
  // Torch 1.13 (Debian) dispatches its elementwise kernels to AVX2 by default
  // even on AVX-512 CPUs; ATEN_CPU_CAPABILITY=avx512 is tried there too.
  const avx512 = /^flags\s*:.*\bavx512f\b/m.test(cpuinfo);
  const settings: [number, number, string | undefined][] = [
    [1, 1, undefined],
    [1, 2, undefined],
    [2, 1, undefined],
    [2, 2, undefined],
    ...(avx512 ? [[1, 1, "avx512"], [1, 2, "avx512"]] as [number, number, string][] : []),
  ];
  for (const [torchThreads, blasThreads, capability] of settings) {
    const config = `torch_threads=${torchThreads} OPENBLAS_NUM_THREADS=${blasThreads} ` +
      `OPENBLAS_CORETYPE=${
        env.OPENBLAS_CORETYPE ?? Deno.env.get("OPENBLAS_CORETYPE") ?? "(auto)"
      }` + (capability ? ` ATEN_CPU_CAPABILITY=${capability}` : "");
    const child = new Deno.Command(py, {
      args: [script, "--serve", "--torch-threads", String(torchThreads)],
      env: {
        ...env,
        OPENBLAS_NUM_THREADS: String(blasThreads),
        OMP_NUM_THREADS: String(torchThreads),
        ...(capability ? { ATEN_CPU_CAPABILITY: capability } : {}),
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const next = lineReader(child.stdout);
    const writer = child.stdin.getWriter();
    const hello = await next();
    if (hello === undefined) {
      await writer.close().catch(() => {});
      await child.status;
      return { ok: false, reason: `pytorch_peer.py --serve did not start (${config})` };
    }
    torch = (JSON.parse(hello) as { torch: string }).torch;
    const ask = async (
      request: Record<string, unknown>,
    ): Promise<{ samplesPerS: number; note: string }> => {
      await writer.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
      const line = await next();
      if (line === undefined) throw new Error(`pytorch server exited (${config})`);
      const r = JSON.parse(line) as { samples_per_s?: number; note?: string; error?: string };
      if (r.samples_per_s === undefined) throw new Error(`pytorch server: ${r.error}`);
      return { samplesPerS: r.samples_per_s, note: r.note ?? "" };
    };
    servers.push({
      config,
      measure: async (model, batch, opt, steps) =>
        (await ask({ model, batch, opt, steps })).samplesPerS,
      recipe: (recipe) => ask({ recipe }),
      async close() {
        await writer.close().catch(() => {});
        await child.status;
      },
    });
  }
  return { ok: true, torch, servers };
}

/** The flags of the training benchmark. */
export const TRAIN_BENCH_FLAGS = {
  steps: intFlag({ help: "timed steps per measurement", min: 1, max: 100000, default: 30 }),
  "slow-steps": intFlag({
    help: "timed steps on the slow (cpu) backend",
    min: 1,
    max: 100000,
    default: 2,
  }),
  rounds: intFlag({ help: "rounds (the best one is kept)", min: 1, max: 100, default: 3 }),
  models: listFlag({
    arg: "a,c",
    help: "models to time",
    default: ["a", "c"],
    parse: (m, name) => {
      if (!(m in MODELS)) throw new Error(`--${name}: unknown model "${m}"; known: a, c`);
      return m;
    },
  }),
  batches: listFlag({
    arg: "N,N",
    help: "batch sizes",
    default: [128, 512],
    parse: (b, name) => parseInteger(b, name, 1),
  }),
  opts: listFlag({
    arg: "sgd,momentum",
    help: "optimizers",
    default: ["sgd", "momentum"],
    parse: (o, name) => {
      if (o !== "sgd" && o !== "momentum") throw new Error(`--${name}: unknown optimizer "${o}"`);
      return o;
    },
  }),
  backends: listFlag({
    arg: "LIST",
    help: "backends: tfjs backends, and fused (the fused training step on wasm-blas's BLAS)",
    default: ["cpu", "wasm", WASM_BLAS, "fused"],
    parse: (b) => b,
  }),
  "recipe-epochs": intFlag({
    help: "epochs of the lab's recipe (SMALL_RECIPE) on the real small training split",
    min: 1,
    max: 1000,
    default: 2,
  }),
  "no-recipe": switchFlag("skip the recipe rows (they need NOTMNIST_DIR)"),
  "no-pytorch": switchFlag("skip the PyTorch peer"),
  profile: switchFlag("time the wasm-blas kernels and BLAS calls in the first round"),
  json: stringFlag({ arg: "FILE", help: "also write the results as JSON to FILE" }),
  help: switchFlag("this text", "h"),
};

function fmt(n: number, digits = 0): string {
  return n.toFixed(digits).padStart(9);
}

/** Keeps the best (highest samples/s) row per model/batch/opt/backend. */
function keepBest(rows: BenchRow[], r: BenchRow): void {
  const i = rows.findIndex((x) =>
    x.model === r.model && x.batch === r.batch && x.opt === r.opt && x.backend === r.backend
  );
  if (i < 0) rows.push(r);
  else if (r.samplesPerS > rows[i].samplesPerS) rows[i] = r;
}

async function main(args: string[]): Promise<void> {
  const { values: flags } = parseFlags(args, TRAIN_BENCH_FLAGS);
  if (flags.help) {
    console.log(
      ["deno run -A bench/train_bench.ts [flags]", "", ...usageLines(TRAIN_BENCH_FLAGS)].join("\n"),
    );
    return;
  }
  const { steps, slowSteps, rounds, models, batches, opts, backends, recipeEpochs } = flags;

  const probe = await registerWasmBlasBackend();
  const blas = wasmBlasLibrary();
  const cores = navigator.hardwareConcurrency;
  console.log(
    `# train_bench: ${cores} cores, deno ${Deno.version.deno}, tfjs ${tf.version_core}; ` +
      `wasm-blas: ${
        probe.ok
          ? `${probe.library} threads=${probe.threads ?? "?"} core=${probe.coreType ?? "-"}`
          : `unavailable (${probe.reason})`
      }`,
  );
  const torch = flags.noPytorch
    ? { ok: false as const, reason: "--no-pytorch" }
    : await startTorchServers();
  console.log(
    `# pytorch: ${
      torch.ok ? `torch ${torch.torch}, ${torch.servers.length} thread settings` : torch.reason
    }`,
  );

  // The machine may be shared: the FMA peak is the best of runs on every core
  // at the start and at the end (a one-thread run is printed for reference; it
  // runs at a higher turbo clock, so `cores` x it overstates the peak).
  const fmaRuns: number[] = [];
  const fmaOne: number[] = [];
  const measurePeaks = async (): Promise<void> => {
    const all = await fmaPeakGflops(cores);
    const one = await fmaPeakGflops(1);
    if (all !== undefined) fmaRuns.push(all);
    if (one !== undefined) fmaOne.push(one);
  };
  await measurePeaks();
  const sgemmPeak = blas ? sgemmGflops(blas, 2048, 5) : undefined;
  // BLAS thread counts tried for wasm-blas (PyTorch's settings are swept too).
  const blasThreads = [...new Set([probe.threads ?? cores, 1])];

  const rows: BenchRow[] = [];
  const t0 = performance.now();
  for (const model of models) {
    const sizes = MODELS[model];
    const flops = trainFlopsPerSample(sizes);
    const fastSteps = model === "a" ? steps : steps * 4;
    const row = (
      batch: number,
      opt: string,
      backend: string,
      sps: number,
      note: string,
    ): BenchRow => ({
      model,
      batch,
      opt,
      backend,
      samplesPerS: sps,
      gflops: (sps * flops) / 1e9,
      note,
    });
    for (const batch of batches) {
      for (const opt of opts) {
        for (const backend of backends.filter((b) => b === "cpu" || b === "wasm")) {
          const sps = await timeTfjs(backend, sizes, batch, opt, slowSteps, 1);
          keepBest(rows, row(batch, opt, backend, sps, `${slowSteps} steps`));
        }
        // Interleaved rounds: wasm-blas, raw sgemm and every PyTorch setting
        // measured one after the other, best of `rounds` kept, so a change in
        // the machine's load hits them alike.
        for (let r = 0; r < rounds; r++) {
          if (blas && backends.includes(WASM_BLAS)) {
            for (const th of blasThreads) {
              blas.setThreads(th);
              const profile = flags.profile && r === 0;
              const timers = profile ? installKernelTimers(WASM_BLAS) : undefined;
              Object.assign(blas.timing, { enabled: profile, ms: 0, calls: 0 });
              const tStart = performance.now();
              const sps = await timeTfjs(WASM_BLAS, sizes, batch, opt, fastSteps, 3);
              if (timers) {
                printProfile(
                  timers.times,
                  performance.now() - tStart,
                  blas.timing.ms,
                  fastSteps + 3,
                  `${model}/${batch}/${opt} threads=${th}`,
                );
              }
              blas.timing.enabled = false;
              timers?.restore();
              keepBest(
                rows,
                row(batch, opt, WASM_BLAS, sps, `${fastSteps} steps, BLAS threads=${th}`),
              );
              if (backends.includes("fused")) {
                await tf.setBackend(WASM_BLAS);
                const f = timeFused(blas, sizes, batch, opt, fastSteps, 3);
                keepBest(
                  rows,
                  row(batch, opt, "fused", f, `${fastSteps} steps, BLAS threads=${th}`),
                );
              }
              const raw = rawMatmulSamplesPerS(blas, sizes, batch, fastSteps);
              keepBest(rows, row(batch, "-", "raw-sgemm", raw, `matmuls only, BLAS threads=${th}`));
            }
            blas.setThreads(probe.threads ?? cores);
          }
          if (torch.ok) {
            for (const server of torch.servers) {
              const sps = await server.measure(model, batch, opt, fastSteps);
              keepBest(rows, row(batch, opt, "pytorch", sps, server.config));
            }
          }
        }
      }
    }
  }
  // The recipe: trainMlp (fused step, and the tfjs path for reference) and
  // PyTorch on the real small training split, interleaved like the rows above.
  const data = flags.noRecipe
    ? { ok: false as const, reason: "--no-recipe" }
    : blas
    ? await recipeData()
    : { ok: false as const, reason: "no BLAS (wasm-blas unavailable)" };
  if (data.ok && blas) {
    const config = benchRecipe(recipeEpochs);
    const flops = trainFlopsPerSample([784, ...config.spec.hidden.map((h) => h.units), 10]);
    const steps = recipeEpochs * Math.ceil(data.train.count / config.batchSize);
    const row = (backend: string, sps: number, note: string): BenchRow => ({
      model: "recipe",
      batch: config.batchSize,
      opt: "nesterov",
      backend,
      samplesPerS: sps,
      gflops: (sps * flops) / 1e9,
      note: `${steps} steps, ${note}`,
    });
    await tf.setBackend(WASM_BLAS);
    const request = torchRecipeRequest(config, data.path, data.train.count);
    for (let r = 0; r < rounds; r++) {
      for (const th of blasThreads) {
        blas.setThreads(th);
        const sps = await timeRecipe(data.train, config, true);
        keepBest(rows, row("fused", sps, `trainMlp, BLAS threads=${th}`));
      }
      blas.setThreads(probe.threads ?? cores);
      if (backends.includes(WASM_BLAS)) {
        const sps = await timeRecipe(data.train, config, false);
        keepBest(rows, row(WASM_BLAS, sps, "trainMlp tfjs path (fusedStep: false)"));
      }
      if (torch.ok) {
        for (const server of torch.servers) {
          const t = await server.recipe(request);
          keepBest(rows, row("pytorch", t.samplesPerS, `${server.config} ${t.note}`));
        }
      }
    }
    await Deno.remove(data.path).catch(() => {});
  } else {
    console.log(`# recipe: skipped (${data.ok ? "no BLAS" : data.reason})`);
  }
  if (torch.ok) { for (const server of torch.servers) await server.close(); }
  const seconds = (performance.now() - t0) / 1000;
  await measurePeaks();
  const fma = fmaRuns.length > 0 ? Math.max(...fmaRuns) : undefined;
  const list = (v: number[]): string => v.map((x) => x.toFixed(0)).join(", ");
  console.log(
    `# peaks: FP32 FMA loop ${fma === undefined ? "n/a (no C compiler)" : fma.toFixed(0)} ` +
      `GFLOP/s (best ${cores}-thread run of: ${list(fmaRuns)}; 1-thread: ${list(fmaOne)}); ` +
      `cblas_sgemm 2048^3 ${sgemmPeak?.toFixed(0) ?? "n/a"} GFLOP/s`,
  );
  // A measured rate above the FMA loop's means the loop under-measured (e.g. a
  // noisy run): the peak is then the best rate seen, so no fraction exceeds 1.
  const best = Math.max(sgemmPeak ?? 0, ...rows.map((r) => r.gflops));
  const peak = fma === undefined ? sgemmPeak : Math.max(fma, best);
  const peakLabel = fma !== undefined ? "fma_peak" : "sgemm_peak";
  if (fma !== undefined && best > fma) {
    console.log(
      `# note: a measured ${best.toFixed(0)} GFLOP/s exceeds the FMA loop's ${fma.toFixed(0)}; ` +
        `fractions use ${best.toFixed(0)}`,
    );
  }
  console.log(
    `# measured in ${seconds.toFixed(0)} s (best of ${rounds} interleaved rounds for ` +
      `wasm-blas, raw-sgemm, pytorch)`,
  );
  console.log(`model batch opt      backend    samples/s   GFLOP/s  ${peakLabel}  note`);
  for (const r of rows) {
    const frac = peak ? (r.gflops / peak).toFixed(3) : "n/a";
    console.log(
      `${r.model.padEnd(5)} ${String(r.batch).padEnd(5)} ${r.opt.padEnd(8)} ${
        r.backend.padEnd(10)
      }` +
        `${fmt(r.samplesPerS)} ${fmt(r.gflops, 1)}  ${frac.padStart(8)}  ${r.note ?? ""}`,
    );
  }
  if (torch.ok) {
    for (const r of rows) {
      if (r.backend === "pytorch" || r.backend === "raw-sgemm") continue;
      const p = rows.find((t) =>
        t.backend === "pytorch" && t.model === r.model && t.batch === r.batch && t.opt === r.opt
      );
      if (!p) continue;
      const key = `model=${r.model} batch=${r.batch} opt=${r.opt} backend=${r.backend}`;
      console.log(`ratio ${key} vs_pytorch=${(r.samplesPerS / p.samplesPerS).toFixed(2)}`);
      if (peak) {
        console.log(
          `peak_fraction ${key} of=${peakLabel} fraction=${(r.gflops / peak).toFixed(3)}`,
        );
      }
    }
    // The goals of issue 13, one line per model and batch: the fused step
    // (what trainMlp runs on wasm-blas) against the best PyTorch setting, the
    // worse of the optimizers.
    const goals = new Map<string, number>();
    for (const r of rows) {
      if (r.backend !== "fused") continue;
      const p = rows.find((t) =>
        t.backend === "pytorch" && t.model === r.model && t.batch === r.batch && t.opt === r.opt
      );
      if (!p) continue;
      const key = `model=${r.model} batch=${r.batch}`;
      goals.set(key, Math.min(goals.get(key) ?? Infinity, r.samplesPerS / p.samplesPerS));
    }
    for (const [key, x] of goals) console.log(`ratio ${key} vs_pytorch=${x.toFixed(2)}`);
  }
  const jsonPath = flags.json;
  if (jsonPath) {
    await Deno.writeTextFile(
      jsonPath,
      JSON.stringify(
        {
          probe,
          fmaPeakGflops: fma,
          fmaRuns,
          fmaOneThread: fmaOne,
          sgemmPeakGflops: sgemmPeak,
          rows,
        },
        null,
        2,
      ) +
        "\n",
    );
  }
}

function printProfile(
  times: KernelTimes,
  totalMs: number,
  blasMs: number,
  steps: number,
  what: string,
): void {
  const perStep = (ms: number): string => (ms / steps).toFixed(2);
  const sorted = [...times.entries()].sort((x, y) => y[1].ms - x[1].ms);
  const inKernels = sorted.reduce((acc, [, v]) => acc + v.ms, 0);
  console.log(
    `# profile wasm-blas ${what}: ms/step total ${perStep(totalMs)}: in BLAS calls ` +
      `${perStep(blasMs)} (all threads), JS thread in kernels otherwise ` +
      `${perStep(inKernels - blasMs)}, outside kernels (tfjs) ${perStep(totalMs - inKernels)}. ` +
      `Per kernel (deferred products count in the kernel that consumes them):`,
  );
  for (const [name, v] of sorted.slice(0, 12)) {
    console.log(
      `#   ${name.padEnd(20)} ${perStep(v.ms).padStart(8)} ms/step  ${
        (v.calls / steps).toFixed(1)
      } calls/step`,
    );
  }
}

if (import.meta.main) {
  await main(Deno.args);
}
