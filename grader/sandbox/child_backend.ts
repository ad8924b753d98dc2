/**
 * Backend selection inside the sandboxed child, before the task trains: the
 * same order as everywhere else (`compute/backend.ts`). In graded code's Worker
 * the `wasm-blas` backend is the one registered on the main isolate's remote
 * BLAS; without one it is skipped with its reason and the wasm backend is used.
 * The numerics mode comes from the grader (`--numerics`) through the header.
 *
 * @module
 */
import { selectBackend } from "../../compute/backend.ts";
import type { BackendRequest } from "../../compute/backend_request.ts";

/**
 * Selects the tfjs backend (`choice.force` forces one) and returns its name
 * and the skipped ones with reasons.
 */
export async function selectChildBackend(
  choice: BackendRequest | null | undefined,
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
