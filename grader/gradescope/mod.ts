/**
 * The Gradescope autograder: {@link runAutograder} grades a submission folder
 * into Gradescope's `results.json` (with the rubric's visibility policy and a
 * leaderboard entry), and {@link buildAutograder} packs the archive teachers
 * upload (`setup.sh`, `run_autograder`, the lab's sources and the data).
 * `deno task gradescope` is the packer's command line.
 *
 * ```ts ignore
 * import { buildAutograder, runAutograder } from "@notmnist/lab/grader/gradescope";
 *
 * const paths = await buildAutograder("out/autograder.zip", { profile: "full" });
 * console.log(`${paths.length} files packed`);
 *
 * const results = await runAutograder({
 *   submission: "/autograder/submission",
 *   results: "/autograder/results/results.json",
 *   work: "/autograder/work",
 *   profile: "full",
 * });
 * console.log(results.score);
 * ```
 *
 * @module
 */
export {
  type AutograderOptions,
  type AutograderResults,
  autograderResults,
  DEFAULT_BUDGET_SECONDS,
  failedResults,
  type LeaderboardEntry,
  progressResults,
  revealsTestAccuracy,
  runAutograder,
} from "./autograder.ts";
export {
  autograderEntries,
  buildAutograder,
  type BuildAutograderOptions,
  DENO_VERSION,
} from "./pack.ts";
export type { ZipEntry } from "../../deps/zip.ts";
