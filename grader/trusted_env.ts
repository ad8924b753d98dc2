/**
 * The environment a grading entry point passes on to trusted task processes
 * (`deno task grade`, `deno task grade-class`).
 *
 * @module
 */

/** Environment variables passed on to trusted task processes (native BLAS settings). */
export const TRUSTED_ENV_NAMES: readonly string[] = [
  "NOTMNIST_BLAS_THREADS",
  "NOTMNIST_BLAS_LIBRARY",
  "OPENBLAS_CORETYPE",
  "OPENBLAS_NUM_THREADS",
];
