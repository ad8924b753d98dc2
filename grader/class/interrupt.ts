/**
 * Stopping a class run cleanly: on SIGINT (Ctrl-C) or SIGTERM the staging
 * folders still in use are removed, a line says how far the run got, and
 * the process exits with 130 (SIGINT) or 143 (SIGTERM). class.md is already
 * on disk (it is rewritten after every student and counts the students not
 * reached), so a rerun resumes where the run stopped.
 *
 * @module
 */

/** The signals a class run stops on, with their exit codes. */
export const STOP_SIGNALS: Record<"SIGINT" | "SIGTERM", number> = { SIGINT: 130, SIGTERM: 143 };

/** Removes every folder of `folders` (missing ones are fine). */
export async function removeFolders(folders: Iterable<string>): Promise<void> {
  for (const dir of [...folders]) await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/**
 * Calls `cleanup` on the first SIGINT or SIGTERM, then exits with the
 * signal's code; returns a function that stops listening. Signals are not
 * listened to where the platform has none (Windows SIGTERM).
 */
export function onInterrupt(
  cleanup: (signal: keyof typeof STOP_SIGNALS) => Promise<void>,
  exit: (code: number) => void = Deno.exit,
): () => void {
  const listeners: [Deno.Signal, () => void][] = [];
  let stopping = false;
  for (const [signal, code] of Object.entries(STOP_SIGNALS) as [Deno.Signal, number][]) {
    const listener = () => {
      if (stopping) return;
      stopping = true;
      cleanup(signal as keyof typeof STOP_SIGNALS).finally(() => exit(code));
    };
    try {
      Deno.addSignalListener(signal, listener);
      listeners.push([signal, listener]);
    } catch {
      // this platform cannot listen to the signal
    }
  }
  return () => {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  };
}
