/**
 * Atomic file writes: write to a temporary name beside the target, then rename,
 * so a reader (or a crash) never sees a half-written file under the final name.
 *
 * @module
 */
import { dirname, join } from "node:path";

function tempName(path: string): string {
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return join(dirname(path), `.${path.split("/").pop()}.${Deno.pid}.${rand}.tmp`);
}

/** Writes `data` to `path` atomically (temp file + rename), creating parent folders. */
export async function atomicWrite(path: string, data: Uint8Array | string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** Writes `value` as pretty-printed JSON to `path` atomically. */
export function atomicWriteJson(path: string, value: unknown): Promise<void> {
  return atomicWrite(path, JSON.stringify(value, null, 2) + "\n");
}
