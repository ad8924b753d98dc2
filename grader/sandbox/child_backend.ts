/**
 * Backend selection inside the sandboxed child, before the task trains: the
 * same order as everywhere else (`models/backend.ts`). In graded code's Worker
 * the `wasm-blas` backend is the one registered on the main isolate's remote
 * BLAS; without one it is skipped with its reason and the wasm backend is used.
 * The numerics mode comes from the grader (`--numerics`) through the header.
 *
 * @module
 */
import { selectBackend } from "../../models/backend.ts";
import type { NumericsMode } from "../../models/numerics.ts";

/**
 * Selects the tfjs backend (`choice.force` forces one) and returns its name
 * and the skipped ones with reasons.
 */
export async function selectChildBackend(
  choice: { force?: string; numerics?: NumericsMode } | null | undefined,
): Promise<{ name: string; skipped: string[] }> {
  const picked = await selectBackend({
    force: choice?.force,
    numerics: choice?.numerics,
    log: (line) => console.log(line),
  });
  return {
    name: picked.detail ? `${picked.name} (${picked.detail})` : picked.name,
    skipped: picked.skipped.map((s) => `${s.name}: ${s.reason}`),
  };
}
