/**
 * Persistent web storage, made unavailable to a sandboxed run. Deno keeps the
 * Cache API's store (reachable from a Worker whatever its permissions, and
 * outside every cap of the fence) under
 * `<DENO_DIR>/location_data/web_cache/<sha256 of the origin>`, the origin
 * being `--location`'s or, without one, the config file's: so every run of
 * every student would share one store. Each run gets its own origin
 * ({@link runOrigin}), and the grader puts a read-only *file* where that
 * origin's store would be ({@link blockWebCache}): `caches.open` then fails
 * inside the run, nothing is written, and the file is removed after it.
 *
 * The other stores a Deno 2.9.6 Worker could reach are absent there:
 * `localStorage`/`sessionStorage` (main isolate only), `Deno.openKv` (needs
 * `--unstable-kv`, never given), `indexedDB` (not implemented);
 * `BroadcastChannel` reaches only isolates of the same process (one run).
 * `tests/grader_sandbox_test.ts` checks each of them on a run.
 *
 * @module
 */
import { join } from "node:path";
import { createHash } from "node:crypto";

/** The origin of one run (`--location`): a name under `.invalid`, never resolvable, unique per token. */
export function runOrigin(token: string): string {
  return `http://${token}.run.invalid`;
}

/** Where Deno would keep the Cache API store of `origin`. */
export function webCachePath(denoDir: string, origin: string): string {
  const hash = createHash("sha256").update(origin).digest("hex");
  return join(denoDir, "location_data", "web_cache", hash);
}

/** Puts a read-only file at `path` (a run's Cache API store), so the store cannot be created. */
export async function blockWebCache(path: string): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeFile(path, new Uint8Array(0), { createNew: true, mode: 0o444 });
}

/** Removes what is at `path` after the run (the blocking file; anything else found there too). */
export async function unblockWebCache(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch(() => {});
}
