/**
 * Loading the grading data once, with its provenance and identity, for the
 * batch graders (`deno task grade-class`, the Gradescope runner): the splits
 * (test sanitized), the folders graded code may not import from, the data
 * files' records and a SHA-256 naming the data (for resuming).
 *
 * ```ts ignore
 * import { loadGradeData } from "@notmnist/lab/grader";
 *
 * const g = await loadGradeData({ protocol: "auto", log: console.log });
 * console.log(g.data.test.count, g.dataSha256);
 * ```
 *
 * @module
 */
import { basename, join } from "node:path";
import {
  EmptyArchiveError,
  EmptySplitError,
  loadSplits,
  MissingLettersError,
  resolveCacheDir,
  resolveDataDir,
} from "../data.ts";
import type { GradeData } from "./grade.ts";
import type { GradeProvenance } from "./report/types.ts";
import { dataFileRecords, type FileRecord, gitCommit, versions } from "./report/provenance.ts";
import { canonicalJson } from "./rubric/rubric.ts";
import { createHash } from "node:crypto";
import { loadHiddenTest } from "./hidden_test.ts";

/**
 * The advice printed after a data-load error: where the archive goes and how to fetch it, unless
 * the archive was found and its contents are what is wrong (those errors name the archive and
 * what was expected). `download`: whether --download was given (`undefined`: the CLI has no such
 * flag).
 */
export function dataLoadAdvice(err: unknown, download: boolean | undefined): string {
  if (
    err instanceof EmptyArchiveError || err instanceof MissingLettersError ||
    err instanceof EmptySplitError
  ) return "";
  return `\nSet NOTMNIST_DIR or pass --data-dir to the folder holding notMNIST_small.tar.gz` +
    (download === false ? `, or add --download to fetch the small archive (small protocol).` : ".");
}

/** Options of {@link loadGradeData}. */
export interface LoadGradeDataOptions {
  /** Data folder (default: `NOTMNIST_DIR` or the data layer's default). */
  dataDir?: string;
  /** Cache folder (default: `NOTMNIST_CACHE` or the data layer's default). */
  cacheDir?: string;
  /** Protocol (default auto). */
  protocol?: "lab" | "small" | "auto";
  /** Download the small archive when missing. */
  download?: boolean;
  /** Hidden test set archive (`--hidden-test`): graded for credit when given. */
  hiddenTest?: string;
  /** Project root, for the provenance record (versions, commit). */
  projectRoot?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** The loaded grading data. */
export interface LoadedGradeData {
  /** The splits handed to {@link grade}. */
  data: GradeData;
  /** Data and cache folders (graded code may not import from them). */
  forbiddenRoots: string[];
  /** Recorded in every report. */
  provenance: GradeProvenance;
  /** SHA-256 of the data's identity: protocol, split sizes, archive sizes and hashes. */
  dataSha256: string;
}

/** Loads the splits (test sanitized) and describes them; throws when no data is found. */
export async function loadGradeData(opts: LoadGradeDataOptions = {}): Promise<LoadedGradeData> {
  const dataDir = resolveDataDir(opts.dataDir);
  const cacheDir = await resolveCacheDir(dataDir, opts.cacheDir);
  const splits = await loadSplits({
    dataDir,
    cacheDir,
    protocol: opts.protocol ?? "auto",
    sanitize: true,
    download: opts.download ?? false,
    log: opts.log,
  });
  const dataFiles: FileRecord[] = splits.summary.sources.map((src) => ({
    path: src.path,
    name: basename(src.path),
    bytes: src.bytes,
    sha256: src.sha256 ?? "(folder: not hashed)",
  }));
  const hidden = opts.hiddenTest === undefined
    ? undefined
    : await loadHiddenTest(opts.hiddenTest, opts.log);
  if (hidden) dataFiles.push(hidden.record);
  const data: GradeData = {
    protocol: splits.protocol,
    train: splits.train,
    valid: splits.valid,
    test: splits.test,
    hidden: hidden?.set,
  };
  const identity = {
    protocol: data.protocol,
    splits: [data.train.count, data.valid.count, data.test.count],
    sources: splits.summary.sources.map((s) => ({
      bytes: s.bytes,
      sha256: s.sha256 ?? `folder:${s.path}`,
    })),
    hidden: hidden ? { bytes: hidden.record.bytes, sha256: hidden.record.sha256 } : undefined,
  };
  return {
    data,
    forbiddenRoots: [dataDir, cacheDir, ...(hidden ? [hidden.forbidden] : [])],
    provenance: {
      dataDir,
      dataFiles: dataFiles.length > 0 ? dataFiles : await dataFileRecords(dataDir),
      dataSummary: splits.summary,
      versions: opts.projectRoot ? await versions(join(opts.projectRoot, "deno.json")) : undefined,
      commit: opts.projectRoot ? await gitCommit(opts.projectRoot) : undefined,
    },
    dataSha256: createHash("sha256").update(canonicalJson(identity)).digest("hex"),
  };
}
