/**
 * The aarch64 Deno runner for the cross-architecture tests
 * (tests/numerics_arm64_test.ts, tests/portable_arm64_test.ts): prepared by
 * `bash ../shared/tools/arm64/setup.sh`, found at `$NOTMNIST_DENO_ARM64` or
 * `~/.cache/arm64-deno/deno-arm64` (the path `.ci/run` checks too), and a
 * way to run a script natively or emulated and read its output.
 *
 * @module
 */
import { assert } from "../deps/assert.ts";

/** Environment variable naming the aarch64 Deno runner. */
export const RUNNER_ENV = "NOTMNIST_DENO_ARM64";

/** The runner's path when it exists; otherwise prints why `test` is skipped and returns undefined. */
export function arm64Runner(test: string): string | undefined {
  const given = Deno.env.get(RUNNER_ENV);
  const home = Deno.env.get("HOME");
  const path = given ?? (home ? `${home}/.cache/arm64-deno/deno-arm64` : undefined);
  let found: string | undefined;
  try {
    found = path !== undefined && Deno.statSync(path).isFile ? path : undefined;
  } catch {
    found = undefined;
  }
  if (found === undefined) {
    console.log(
      `${test}: skipped, no aarch64 Deno runner (set ${RUNNER_ENV} or run ` +
        "`bash ../shared/tools/arm64/setup.sh` as root)",
    );
  }
  return found;
}

/** Runs `exe ARGS` (a Deno, native or the runner), asserts it succeeded, returns its trimmed stdout. */
export async function denoStdout(
  exe: string,
  args: string[],
  env?: Record<string, string>,
): Promise<string> {
  const out = await new Deno.Command(exe, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  assert(out.success, `${exe} failed: ${new TextDecoder().decode(out.stderr).slice(-800)}`);
  return new TextDecoder().decode(out.stdout).trim();
}
