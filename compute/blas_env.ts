/**
 * The one list of environment variables that steer the native BLAS: what the
 * library loader reads (`NOTMNIST_BLAS_LIB`, `NOTMNIST_BLAS_THREADS`) and
 * what OpenBLAS itself reads (`OPENBLAS_CORETYPE`, `OPENBLAS_NUM_THREADS`).
 * The grader forwards exactly {@link BLAS_ENV_NAMES} to trusted task processes
 * and lets the sandboxed child's main isolate read exactly these.
 *
 * ```ts
 * import { BLAS_ENV_NAMES, BLAS_LIB_ENV } from "./compute/blas_env.ts";
 *
 * console.log(BLAS_ENV_NAMES.includes(BLAS_LIB_ENV)); // true
 * ```
 *
 * @module
 */

/** Environment variable naming the BLAS shared library to load (a path or a loader name). */
export const BLAS_LIB_ENV = "NOTMNIST_BLAS_LIB";
/** Environment variable with the number of BLAS threads (default: the number of cores). */
export const BLAS_THREADS_ENV = "NOTMNIST_BLAS_THREADS";
/** OpenBLAS's own choice of kernel family (pinned in `reproducible` numerics mode). */
export const OPENBLAS_CORETYPE_ENV = "OPENBLAS_CORETYPE";
/** OpenBLAS's own thread count (read by OpenBLAS when it loads). */
export const OPENBLAS_NUM_THREADS_ENV = "OPENBLAS_NUM_THREADS";

/** Every BLAS environment variable, the only list: forwarded to task processes, readable by the child. */
export const BLAS_ENV_NAMES: readonly string[] = [
  BLAS_THREADS_ENV,
  BLAS_LIB_ENV,
  OPENBLAS_CORETYPE_ENV,
  OPENBLAS_NUM_THREADS_ENV,
];
