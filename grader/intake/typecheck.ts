/**
 * Type-checking a staged submission with `deno check` against the lab's
 * deno.json, cached-only (no registry is asked; the lab's own dependencies
 * are already in the cache) and time-bounded, so a `schedule.initial` given
 * as the string "0.2" is reported as a type error with its line, not only as
 * a run-time failure.
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import type { TaskNumber } from "../rubric/rubric.ts";
import type { IntakeFinding } from "./findings.ts";
import { runDenoBounded } from "../sandbox/no_registry.ts";

/** Seconds one `deno check` of a submission may take before it is abandoned. */
export const TYPECHECK_TIMEOUT_SECONDS = 120;
/** Most characters of `deno check`'s output kept in one finding. */
export const TYPECHECK_MAX_CHARS = 2000;

/** The outcome of checking one module. */
export interface TypecheckResult {
  /** Whether `deno check` succeeded. */
  ok: boolean;
  /** Whether it was stopped at the time limit. */
  timedOut: boolean;
  /** Its diagnostics (colour-free, paths relative to the submission), trimmed. */
  output: string;
}

/** Lines of `deno check`'s output that say nothing about the submission. */
const NOISE =
  /^\s*(Check|Download)\b|^Stack backtrace:|^\s*\d+: <unknown>|^error: Type checking failed/;

/** `deno check`'s diagnostics with ANSI codes removed and staged paths made relative. */
export function cleanDiagnostics(text: string, stagedDir: string): string {
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  const url = `file://${stagedDir}/`;
  return plain.split(url).join("").split(`${stagedDir}/`).join("")
    .split("\n").filter((l) => !NOISE.test(l) && l.trim() !== "")
    .join("\n").slice(0, TYPECHECK_MAX_CHARS);
}

/**
 * Runs `deno check --cached-only` on `module` with `config`; never throws for a bad module.
 * It resolves packages through a temporary copy of the project's deno.lock: without a
 * lockfile, Deno would need every package's registry metadata (not kept in the cache for
 * the packages' own dependencies, such as `@types/long`), and a check offline would fail.
 */
export async function typecheckModule(
  module: string,
  config: string,
  stagedDir: string,
  timeoutSeconds = TYPECHECK_TIMEOUT_SECONDS,
): Promise<TypecheckResult> {
  const lockText = await Deno.readTextFile(join(dirname(config), "deno.lock")).catch(() =>
    undefined
  );
  const lock = lockText === undefined
    ? undefined
    : await Deno.makeTempFile({ prefix: "notmnist-check-", suffix: ".lock" });
  try {
    if (lock !== undefined) await Deno.writeTextFile(lock, lockText!);
    const lockArgs = lock === undefined ? ["--no-lock"] : [`--lock=${lock}`];
    const run = await runDenoBounded(
      ["check", "--cached-only", ...lockArgs, "--quiet", "--config", config, module],
      { timeoutSeconds, env: { NO_COLOR: "1" } },
    );
    const text = run.stderr + run.stdout;
    return { ok: run.ok, timedOut: run.timedOut, output: cleanDiagnostics(text, stagedDir) };
  } finally {
    if (lock !== undefined) await Deno.remove(lock).catch(() => {});
  }
}

/** The finding for one task's module (`undefined` when it type-checks). */
export async function typecheckTask(
  task: TaskNumber,
  module: string,
  config: string,
  baseDir: string = dirname(module),
  timeoutSeconds = TYPECHECK_TIMEOUT_SECONDS,
): Promise<IntakeFinding | undefined> {
  const r = await typecheckModule(module, config, baseDir, timeoutSeconds);
  if (r.ok) return undefined;
  return {
    task,
    kind: "type-errors",
    message: r.timedOut
      ? `deno check of ${relative(baseDir, module)} did not finish in ${timeoutSeconds} s`
      : `${relative(baseDir, module)} has type errors (deno check):\n${r.output}`,
  };
}

/** Type-checks every submitted task module; one finding per module that does not check. */
export async function typecheckSubmission(
  stagedDir: string,
  tasks: readonly TaskNumber[],
  config: string,
  timeoutSeconds = TYPECHECK_TIMEOUT_SECONDS,
): Promise<IntakeFinding[]> {
  const findings: IntakeFinding[] = [];
  for (const task of tasks) {
    const module = join(stagedDir, `task${task}.ts`);
    const f = await typecheckTask(task, module, config, stagedDir, timeoutSeconds);
    if (f) findings.push(f);
  }
  return findings;
}
