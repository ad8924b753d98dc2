/**
 * Test helper: one fixture student (tests/fixtures/students/NAME.ts) through
 * `runSandboxed` on the toy splits, untrusted, with optional caps, for the
 * fence tests (tests/grader_sandbox_test.ts, tests/grader_imports_test.ts).
 *
 * @module
 */
import { join } from "node:path";
import { runSandboxed, type SandboxResult } from "../grader/sandbox/mod.ts";
import type { BackendRequest } from "../compute/backend_request.ts";
import { toySplits } from "./toy_data.ts";

/** The repository root. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** The path of fixture student `name`. */
export const fixture = (name: string): string =>
  join(ROOT, "tests/fixtures/students", `${name}.ts`);

const splits = toySplits(7);

/** What {@link fenced} returns: the result, the output folder's entries and the files asked for. */
export interface FencedRun {
  /** The sandbox's result. */
  r: SandboxResult;
  /** Names left in the output folder after the run. */
  left: string[];
  /** Text of each requested output file. */
  files: Record<string, string>;
}

/**
 * Runs fixture `name` untrusted with caps `limits`; reads `files` from its output folder before
 * the folder is removed.
 */
export async function fenced(
  name: string,
  limits: { memoryMb?: number; outputMb?: number; logMb?: number } = {},
  timeoutSeconds = 60,
  backend: BackendRequest = {},
  files: string[] = [],
): Promise<FencedRun> {
  const outDir = await Deno.makeTempDir({ prefix: "grader-fence-" });
  try {
    const r = await runSandboxed({
      module: fixture(name),
      train: splits.train,
      valid: splits.valid,
      testImages: splits.test,
      seed: 1,
      outDir,
      timeoutSeconds,
      trusted: false,
      backend,
      projectRoot: ROOT,
      limits,
    });
    const left = await Array.fromAsync(Deno.readDir(outDir), (e) => e.name);
    const texts: Record<string, string> = {};
    for (const f of files) texts[f] = await Deno.readTextFile(join(outDir, f));
    return { r, left, files: texts };
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
}
