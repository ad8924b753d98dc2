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
