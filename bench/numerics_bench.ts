/**
 * The cost of reproducible numerics: training samples/s of the recipes'
 * networks in `reproducible` mode over `fast` mode, on the `wasm-blas`
 * backend. The mode is fixed per process (OpenBLAS reads its kernel choice
 * when loaded), so every measurement is a child process; the two modes
 * alternate, several rounds, best kept per side, so that a change in the
 * machine's load hits both alike.
 *
 * `deno run -A bench/numerics_bench.ts [--rounds N] [--steps N] [--threads N] [--fast-coretype NAME]` (or
 * `deno task bench numerics`) prints, per recipe,
 * `ratio reproducible_vs_fast model=recipe value=X` (samples/s reproducible /
 * fast; `model=recipe` is SMALL_RECIPE, the recipe graded under the small
 * protocol; `model=lab_recipe` is LAB_RECIPE). `--fast-coretype Haswell`
 * gives the fast side the kernel an AVX2-only CPU (e.g. AMD Zen 3) would pick,
 * to see the cost there on an AVX-512 machine.
 *
 * @module
 */
import {
  choiceFlag,
  intFlag,
  parseFlags,
  stringFlag,
  switchFlag,
  usageLines,
} from "../deps/flags.ts";
import { NUMERICS_MODES } from "../compute/numerics.ts";

const RECIPES = ["recipe", "lab_recipe"] as const;
type RecipeName = typeof RECIPES[number];

interface ChildResult {
  samplesPerSecond: number;
  detail: string;
}

/**
 * Runs in the child: trains `steps` steps as 6 short epochs and prints the
 * best epoch's samples/s after the first (warm-up) one: on a shared machine
 * the best window is the one least disturbed by other jobs.
 */
async function child(mode: string, recipe: RecipeName, steps: number): Promise<void> {
  await import("@tensorflow/tfjs-layers");
  const { selectBackend } = await import("../compute/backend.ts");
  const { parseNumericsMode } = await import("../compute/numerics.ts");
  const { LAB_RECIPE, SMALL_RECIPE } = await import("../models/recipes.ts");
  const { trainMlp } = await import("../models/train/train.ts");
  const { toySet } = await import("../tests/toy_data.ts");
  const choice = await selectBackend({ force: "wasm-blas", numerics: parseNumericsMode(mode) });
  const base = recipe === "recipe" ? SMALL_RECIPE : LAB_RECIPE;
  const epochs = 6;
  const perEpoch = Math.max(1, Math.ceil(steps / epochs));
  const train = toySet(perEpoch * base.batchSize, 5);
  const valid = toySet(64, 6);
  const r = await trainMlp(train, valid, { ...base, epochs, averageLast: 1, augmentShift: 0 }, {
    progress: false,
  });
  const sps = Math.max(...r.history.slice(1).map((h) => h.samplesPerSecond));
  r.model.dispose();
  console.log(JSON.stringify({ samplesPerSecond: sps, detail: choice.detail ?? "" }));
}

async function measure(
  mode: string,
  recipe: RecipeName,
  steps: number,
  threads: number | undefined,
  fastCore: string | undefined,
): Promise<ChildResult> {
  const env: Record<string, string> = threads === undefined
    ? {}
    : { NOTMNIST_BLAS_THREADS: String(threads) };
  if (mode === "fast" && fastCore !== undefined) env.OPENBLAS_CORETYPE = fastCore;
  const out = await new Deno.Command(Deno.execPath(), {
    env,
    args: [
      "run",
      "-A",
      import.meta.filename ?? new URL(import.meta.url).pathname,
      "--child",
      mode,
      "--recipe",
      recipe,
      "--steps",
      String(steps),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (!out.success) {
    throw new Error(`child ${mode} ${recipe} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text) as ChildResult;
}

/** The flags of the numerics bench, each declared once. */
export const NUMERICS_BENCH_FLAGS = {
  rounds: intFlag({ help: "rounds (each runs both modes)", min: 1, max: 20, default: 5 }),
  steps: intFlag({
    help: "training steps per child (6 epochs)",
    min: 6,
    max: 100_000,
    default: 120,
  }),
  threads: intFlag({
    help: "BLAS threads of the children",
    min: 1,
    max: 64,
    shownDefault: "cores",
  }),
  "fast-coretype": stringFlag({
    arg: "NAME",
    help: "OPENBLAS_CORETYPE of the fast side (Haswell: what an AVX2-only CPU runs)",
  }),
  child: choiceFlag({
    choices: NUMERICS_MODES,
    help: "internal: measure one mode in this process",
  }),
  recipe: choiceFlag({ choices: RECIPES, default: "recipe", help: "internal: the child's recipe" }),
  help: switchFlag("this text", "h"),
};

if (import.meta.main) {
  const { values: flags } = parseFlags(Deno.args, NUMERICS_BENCH_FLAGS);
  const { fastCoretype: fastCore, threads, steps, rounds } = flags;
  if (flags.help) {
    console.log(
      ["deno run -A bench/numerics_bench.ts [flags]", "", ...usageLines(NUMERICS_BENCH_FLAGS)]
        .join("\n"),
    );
  } else if (flags.child !== undefined) {
    await child(flags.child, flags.recipe, steps);
  } else {
    const cpu = (() => {
      try {
        const l = Deno.readTextFileSync("/proc/cpuinfo").split("\n")
          .find((x) => x.startsWith("model name"));
        return l?.split(":")[1].trim() ?? Deno.build.arch;
      } catch {
        return Deno.build.arch;
      }
    })();
    console.log(
      `numerics bench: ${cpu}, ${navigator.hardwareConcurrency} cores, ${steps} steps, ` +
        `BLAS threads ${threads ?? "default"}`,
    );
    for (const recipe of RECIPES) {
      const best: Record<string, ChildResult> = {};
      const paired: number[] = [];
      for (let r = 0; r < rounds; r++) {
        // Alternate which mode goes first, so neither always runs on a warmer machine.
        const order = r % 2 === 0 ? ["reproducible", "fast"] : ["fast", "reproducible"];
        const got: Record<string, number> = {};
        for (const m of order) {
          const res = await measure(m, recipe, steps, threads, fastCore);
          console.log(
            `  round ${r + 1} ${recipe} ${m}: ${Math.round(res.samplesPerSecond)} samples/s ` +
              `(${res.detail})`,
          );
          got[m] = res.samplesPerSecond;
          if (!best[m] || res.samplesPerSecond > best[m].samplesPerSecond) best[m] = res;
        }
        paired.push(got.reproducible / got.fast);
      }
      // The headline is the median of the rounds' ratios (each of two neighbouring runs):
      // steadier than best-of-each-side when the machine's load drifts.
      const sorted = [...paired].sort((a, b) => a - b);
      const ratio = sorted.length % 2
        ? sorted[(sorted.length - 1) / 2]
        : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
      const bestRatio = best.reproducible.samplesPerSecond / best.fast.samplesPerSecond;
      console.log(
        `  ${recipe}: per-round ratios ${paired.map((x) => x.toFixed(2)).join(" ")}; ` +
          `best-of-each-side ratio ${bestRatio.toFixed(2)}`,
      );
      console.log(`ratio reproducible_vs_fast model=${recipe} value=${ratio.toFixed(2)}`);
    }
  }
}
