/**
 * The lab's four tasks, each a {@link TaskModule} (`train`) plus a `run` that
 * does the whole CLI path (data, backend, train, evaluate on test, report),
 * and the plumbing to write a task of one's own.
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
export {
  DEFAULT_SEED,
  evaluateOn,
  markdownTable,
  type RoleResult,
  runTask,
  saveMain,
  type SplitAccuracy,
  TASK_FLAGS,
  type TaskDefinition,
  taskMain,
  type TaskResult,
  type TaskRunOptions,
  type TrainedNetwork,
  trainRole,
} from "./common.ts";
export type { TaskFlags } from "./flags.ts";
export { roleColour, type RoleCurves, TASK_COLOURS, taskCurveSeries } from "./curve_series.ts";
export type {
  EpochRecord,
  Predictor,
  TaskInput,
  TaskModule,
  TaskOutput,
  TrainedModel,
} from "./types.ts";
export type { CamelCase, Flag, FlagSpecs, FlagValues, RawFlag } from "../deps/flags.ts";
