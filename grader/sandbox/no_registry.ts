/**
 * Grading never contacts a registry: every `deno` the sandbox starts (the
 * module-graph check and the child) resolves packages from the project's
 * lockfile (the child with `--frozen --cached-only`: an import the lockfile
 * or the cache lacks is an error, never a lookup), and its HTTP(S) proxy is a closed local port, so anything Deno
 * would still fetch (a package's metadata missing from the cache, a `jsr:`
 * manifest) fails at once instead of waiting on the network. The packages
 * come from Deno's cache, filled by the documented install step
 * (`deno install --frozen`, run by Gradescope's `setup.sh`).
 *
 * @module
 */

/**
 * `deno run` flags that resolve from the lockfile only (the module-graph check
 * reads a copy of the lockfile instead, so that an unlisted import is refused
 * by name rather than failing the whole check).
 */
export const LOCKED_FLAGS: readonly string[] = ["--frozen"];

/** Extra `deno run` flag: remote modules and npm packages must already be in the cache. */
export const CACHED_ONLY_FLAG = "--cached-only";

/** A local port nothing listens on: connections to it are refused at once. */
const CLOSED_PROXY = "http://127.0.0.1:9";

/** Environment of every `deno` the sandbox starts: all traffic through a proxy that refuses it. */
export const NO_REGISTRY_ENV: Readonly<Record<string, string>> = {
  HTTPS_PROXY: CLOSED_PROXY,
  HTTP_PROXY: CLOSED_PROXY,
  https_proxy: CLOSED_PROXY,
  http_proxy: CLOSED_PROXY,
  ALL_PROXY: CLOSED_PROXY,
  NO_PROXY: "",
  no_proxy: "",
};

/** What a bounded `deno` run gave: its exit status, whether it was killed at its limit, its output. */
export interface DenoRun {
  /** The process exited with status 0 (false when it was killed at its limit). */
  ok: boolean;
  /** Killed at `timeoutSeconds`. */
  timedOut: boolean;
  /** Standard output, decoded. */
  stdout: string;
  /** Standard error, decoded. */
  stderr: string;
}

/**
 * Runs `deno ARGS` (this Deno) with the grader's no-registry environment
 * ({@link NO_REGISTRY_ENV} over `env`; with `clearEnv` nothing else is inherited) and kills it
 * after `timeoutSeconds`: the grader's static checks of a submission (its module graph, its type
 * check) start Deno only through here.
 */
export async function runDenoBounded(
  args: string[],
  opts: { timeoutSeconds: number; env: Record<string, string>; clearEnv?: boolean },
): Promise<DenoRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    clearEnv: opts.clearEnv ?? false,
    env: { ...opts.env, ...NO_REGISTRY_ENV },
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, opts.timeoutSeconds * 1000);
  try {
    const out = await child.output();
    const d = new TextDecoder();
    return {
      ok: out.success && !timedOut,
      timedOut,
      stdout: d.decode(out.stdout),
      stderr: d.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}
