/**
 * The lab's four tasks, each a {@link TaskModule} (`train`) plus a `run` that
 * does the whole CLI path (data, backend, train, evaluate on test, report).
 *
 * ```ts ignore
 * import { task1 } from "@notmnist/lab/tasks";
 *
 * const result = await task1.run({ epochs: 5, trainSize: 2000 });
 * console.log(result.models.main.accuracy.test);
 * ```
 *
 * @module
 */
export * as task1 from "./task1.ts";
export * as task2 from "./task2.ts";
export * as task3 from "./task3.ts";
export * as task4 from "./task4.ts";
export * from "./common.ts";
export type * from "./types.ts";
export type { CamelCase, Flag, FlagSpecs, FlagValues, RawFlag } from "../deps/flags.ts";
