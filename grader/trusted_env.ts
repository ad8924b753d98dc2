/**
 * The environment a grading entry point passes on to trusted task processes
 * (`deno task grade`, `deno task grade-class`).
 *
 * @module
 */
import { BLAS_ENV_NAMES } from "../compute/blas_env.ts";

/** Environment variables passed on to trusted task processes (native BLAS settings). */
export const TRUSTED_ENV_NAMES: readonly string[] = BLAS_ENV_NAMES;
