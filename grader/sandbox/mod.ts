/**
 * The sandbox as the rest of the grader sees it: {@link runSandboxed} runs
 * one task module in a fenced Deno subprocess and returns its raw
 * predictions or a {@link SandboxFailure}. The wire protocol, the plan, the
 * fences and the child's and Worker's modules stay inside this folder.
 *
 * ```ts ignore
 * import { runSandboxed } from "./sandbox/mod.ts";
 *
 * const result = await runSandboxed({
 *   module: "./student/task1.ts",
 *   train,
 *   valid,
 *   testImages: { images: test.images, count: test.count },
 *   seed: 1,
 *   outDir: "out/grade/task1",
 *   timeoutSeconds: 600,
 *   trusted: false,
 *   projectRoot: ".",
 * });
 * console.log(result.failure?.kind ?? Object.keys(result.roles));
 * ```
 *
 * @module
 */
export { runSandboxed } from "./run.ts";
export type { FailureKind, SandboxFailure } from "./protocol.ts";
export type { RolePredictions, SandboxLimits, SandboxRequest, SandboxResult } from "./types.ts";
