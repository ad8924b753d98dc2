/**
 * The names of the backends, fastest first, and the parser of a `--backend`
 * value. Kept apart from the selection itself (backend.ts), which loads tfjs
 * and its backends, so command-line parsing stays light.
 *
 * @module
 */

/** The backends, fastest first: the order in which {@link selectBackend} tries them. */
export const BACKEND_ORDER: readonly ["tfjs-node-gpu", "tfjs-node", "wasm-blas", "wasm", "cpu"] = [
  "tfjs-node-gpu",
  "tfjs-node",
  "wasm-blas",
  "wasm",
  "cpu",
] as const;

/** One of {@link BACKEND_ORDER}. */
export type BackendName = typeof BACKEND_ORDER[number];

/** Parses a `--backend` value; throws an error listing the valid names on anything else. */
export function parseBackendName(s: string): BackendName {
  const name = s.trim().toLowerCase();
  const found = BACKEND_ORDER.find((b) => b === name);
  if (found === undefined) {
    throw new Error(
      `--backend: unknown backend "${s}"; expected one of: ${BACKEND_ORDER.join(", ")}`,
    );
  }
  return found;
}
