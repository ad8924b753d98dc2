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

/**
 * `JSON.stringify` with every lone surrogate (which it writes as a `\\udXXX`
 * escape that strict parsers such as jq reject) replaced by U+FFFD.
 */
export function wellFormedJson(value: unknown, indent?: number): string {
  // JSON.stringify escapes only lone surrogates this way; an even run of backslashes before the
  // escape is text, not an escape.
  return JSON.stringify(value, null, indent).replace(
    /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g,
    "$1\\ufffd",
  );
}

/** Writes `value` as pretty-printed, well-formed ({@link wellFormedJson}) JSON to `path` atomically. */
export function atomicWriteJson(path: string, value: unknown): Promise<void> {
  return atomicWrite(path, wellFormedJson(value, 2) + "\n");
}
