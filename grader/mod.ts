/**
 * The notMNIST lab's autograder: runs task modules (the lab's own or a
 * student's) in fenced Deno subprocesses, evaluates their predictions on the
 * held-out test split itself, applies the rubric and writes Gradescope, JUnit
 * and Markdown reports.
 *
 * ```ts ignore
 * import { grade, writeReports } from "@notmnist/lab/grader";
 *
 * const report = await grade({
 *   data: { protocol: "small", train, valid, test },
 *   tasks: [{ task: 1, module: "./student/task1.ts", trusted: false }],
 *   profile: "quick",
 *   outDir: "out/grade",
 *   projectRoot: ".",
 * });
 * await writeReports("out/grade", report);
 * ```
 *
 * @module
 */
export type { ImageSet, Protocol } from "../data/types.ts";
export type { EpochRecord } from "../tasks/types.ts";
export * from "./rubric.ts";
export * from "./score.ts";
export * from "./evaluate.ts";
export * from "./sandbox.ts";
export * from "./child.ts";
export * from "./grade.ts";
export * from "./reports.ts";
export * from "./provenance.ts";
export * from "./args.ts";
export type { CamelCase, Flag, FlagSpecs, FlagValues, RawFlag } from "../deps/flags.ts";
