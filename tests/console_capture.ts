/**
 * Test helper: runs a CLI `main` while capturing what it prints with `console.log`.
 *
 * @module
 */

/** Runs `fn` with `console.log` captured; returns its exit code and the printed lines. */
export async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    const code = await fn();
    return { code, out: lines.join("\n") };
  } finally {
    console.log = orig;
  }
}
