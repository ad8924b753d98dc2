/**
 * What a caller asks of backend selection, as one value: a forced backend
 * (`--backend`) and the numerics mode (`--numerics`). The grader hands it to
 * the sandboxed child as is; {@link SelectBackendOptions} extends it.
 *
 * @module
 */
import type { NumericsMode } from "./numerics.ts";

/** A backend request: the backend to force (else the order is tried) and the numerics mode. */
export interface BackendRequest {
  /** Backend name to use instead of trying the order (from `--backend`). */
  force?: string;
  /** Numerics mode (`--numerics`; default `reproducible`). One per process. */
  numerics?: NumericsMode;
}
