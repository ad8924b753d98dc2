/**
 * Backend selection inside the sandboxed child, before the task trains: the
 * same order as everywhere else (`models/backend.ts`). Without FFI permission
 * (untrusted code) the native-BLAS backend is skipped with its reason and the
 * wasm backend is used.
 *
 * @module
 */
import { selectBackend } from "../models/backend.ts";
import type { ChildHeader } from "./child.ts";

/**
 * Selects the tfjs backend for the child (`header.backend.force` forces one)
 * and returns its name and the skipped ones with reasons.
 */
export async function selectChildBackend(
  header: ChildHeader,
): Promise<{ name: string; skipped: string[] }> {
  const choice = await selectBackend({
    force: header.backend?.force,
    log: (line) => console.log(line),
  });
  return {
    name: choice.detail ? `${choice.name} (${choice.detail})` : choice.name,
    skipped: choice.skipped.map((s) => `${s.name}: ${s.reason}`),
  };
}
