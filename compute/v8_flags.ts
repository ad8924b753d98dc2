/**
 * The V8 flags the compute engine runs best with, in one place: every Deno
 * process this project starts for training gets them (the task launcher
 * compute/launch.ts, the grader's children, the benchmarks).
 *
 * `--experimental-wasm-revectorize` lets V8 fuse pairs of adjacent f32x4
 * operations into 256-bit AVX2 ones. It changes no bit: an f32x4 `mul` or
 * `add` rounds each lane alike at either width, and the portable engine's
 * order of operations is fixed by its code (compute/portable/gemm_plan.ts;
 * tests/portable_revec_test.ts compares the hashes with and without it). In
 * Deno, whose WebAssembly memories are bounds-checked in code, V8 fuses only
 * accesses that need no check (constant addresses inside the declared
 * memory), so the flag does not touch the memory checks of any module,
 * graded code's included. Only x86-64 builds of V8 know the flag (an aarch64
 * Deno refuses to start with it), so it is given on x86-64 only.
 *
 * @example
 * ```ts
 * import { engineV8Flags, withEngineFlags } from "./v8_flags.ts";
 * console.log(engineV8Flags("aarch64")); // []
 * console.log(withEngineFlags(["run", "main.ts"], "x86_64"));
 * // ["run", "--v8-flags=--experimental-wasm-revectorize", "main.ts"]
 * ```
 *
 * @module
 */

/** What `Deno.build.arch` can be. */
export type Arch = typeof Deno.build.arch;

/** V8's 128-to-256-bit revectorisation of WebAssembly SIMD. */
export const REVECTORIZE_FLAG = "--experimental-wasm-revectorize";

/**
 * The environment variable a launcher sets (to the V8 flags it gave) in the
 * processes it starts with the engine's flags, so that the engine knows which
 * register tile suits the code V8 will generate (compute/portable/gemm_plan.ts).
 * The flags cannot be read back from V8; a wrong value costs speed, never a bit.
 */
export const ENGINE_FLAGS_ENV = "NOTMNIST_ENGINE_V8_FLAGS";

/** The V8 flags for the engine on `arch` (the running Deno's by default). */
export function engineV8Flags(arch: Arch = Deno.build.arch): string[] {
  return arch === "x86_64" ? [REVECTORIZE_FLAG] : [];
}

/** The environment a launcher adds for a process it starts with {@link engineV8Flags}. */
export function engineEnv(arch: Arch = Deno.build.arch): Record<string, string> {
  const flags = engineV8Flags(arch);
  return flags.length === 0 ? {} : { [ENGINE_FLAGS_ENV]: flags.join(",") };
}

/**
 * Whether this process's launcher says it gave V8 the revectorisation flag
 * (false where the variable cannot be read: a graded Worker is told by its parent).
 */
export function launchedRevectorized(): boolean {
  try {
    const state = Deno.permissions.querySync({ name: "env", variable: ENGINE_FLAGS_ENV }).state;
    if (state !== "granted") return false;
    return (Deno.env.get(ENGINE_FLAGS_ENV) ?? "").split(",").includes(REVECTORIZE_FLAG);
  } catch {
    return false;
  }
}

/**
 * `--v8-flags=...` holding `extra` and the engine's flags, or nothing when
 * both are empty (Deno takes one `--v8-flags`: merge every V8 flag here).
 */
export function v8FlagsArg(extra: string[] = [], arch: Arch = Deno.build.arch): string[] {
  const flags = [...extra, ...engineV8Flags(arch)];
  return flags.length === 0 ? [] : [`--v8-flags=${flags.join(",")}`];
}

/**
 * A Deno command line (`["run", ...flags, script, ...args]`, or `test`,
 * `bench`) with the engine's flags inserted after the subcommand.
 */
export function withEngineFlags(args: string[], arch: Arch = Deno.build.arch): string[] {
  if (args.length === 0) return args;
  return [args[0], ...v8FlagsArg([], arch), ...args.slice(1)];
}
