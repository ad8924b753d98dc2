/**
 * `deno task gradescope --out autograder.zip`: builds Gradescope's autograder
 * archive: `setup.sh` and `run_autograder` (from `templates/gradescope/`),
 * the lab's source under `lab/` (the files deno.json publishes, plus
 * deno.lock) and the notMNIST_small archive under `data/`, so grading needs
 * no download. See docs/teachers.md.
 *
 * @module
 */
import { basename, join, relative, resolve } from "node:path";
import { parseFlags, stringFlag, switchFlag, usageLines } from "../../deps/flags.ts";
import { type ZipEntry, zipFiles } from "../../deps/zip.ts";
import { atomicWrite } from "../../utils/atomic_write.ts";
import { findArchive, resolveDataDir } from "../../data/paths.ts";
import { GRADE_FLAGS } from "../flags.ts";
import { PROJECT_ROOT } from "../project.ts";
import { AUTOGRADER_SPEC, DEFAULT_BUDGET_SECONDS } from "./autograder.ts";

/** The Deno version `setup.sh` installs from npm. */
export const DENO_VERSION = "2.9.6";

/** Options of {@link buildAutograder}. */
export interface BuildAutograderOptions {
  /** Project root (default the lab's). */
  projectRoot?: string;
  /** Folder holding notMNIST_small.tar.gz (default `NOTMNIST_DIR`). */
  dataDir?: string;
  /** Profile `run_autograder` grades with (default full). */
  profile?: "quick" | "full";
  /** Total budget of a run, seconds (default {@link DEFAULT_BUDGET_SECONDS}). */
  budget?: number;
  /** Hidden test set archive shipped as `hidden/<name>` and graded for credit. */
  hiddenTest?: string;
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = (await Array.fromAsync(Deno.readDir(dir))).sort((a, b) =>
    a.name < b.name ? -1 : 1
  );
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.name.startsWith(".")) continue;
    if (e.isDirectory) await walk(p, out);
    else if (e.isFile) out.push(p);
  }
}

/** The lab's files that go into the archive: deno.json's `publish.include`, plus deno.lock. */
export async function sourceFiles(projectRoot: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(projectRoot, "deno.json"))) as {
    publish?: { include?: string[] };
  };
  const include = [...(config.publish?.include ?? []), "deno.lock"];
  const files: string[] = [];
  for (const item of include) {
    const p = join(projectRoot, item);
    const info = await Deno.stat(p).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory) await walk(p, files);
    else files.push(p);
  }
  return [...new Set(files)].sort();
}

/** `path` when it names a `.tar.gz` file; throws naming `--hidden-test` otherwise. */
async function hiddenArchive(path: string): Promise<string> {
  const info = await Deno.stat(path).catch(() => undefined);
  if (!info?.isFile || !/\.(tar\.gz|tgz)$/.test(path)) {
    throw new Error(`--hidden-test ${path}: expected a .tar.gz file (deno task make-hidden-test)`);
  }
  return path;
}

/**
 * The archive's entries. Throws naming the folder when notMNIST_small.tar.gz
 * is not there (the archive must carry the data).
 */
export async function autograderEntries(opts: BuildAutograderOptions = {}): Promise<ZipEntry[]> {
  const root = resolve(opts.projectRoot ?? PROJECT_ROOT);
  const dataDir = resolveDataDir(opts.dataDir);
  const archive = await findArchive(dataDir, "small");
  if (!archive || !archive.endsWith(".tar.gz")) {
    throw new Error(
      `notMNIST_small.tar.gz not found in ${dataDir}: the autograder ships it ` +
        `(set NOTMNIST_DIR or pass --data-dir)`,
    );
  }
  const hidden = opts.hiddenTest === undefined
    ? undefined
    : `hidden/${basename(await hiddenArchive(opts.hiddenTest))}`;
  const template = (name: string) => Deno.readTextFile(join(root, "templates/gradescope", name));
  const enc = new TextEncoder();
  const entries: ZipEntry[] = [
    {
      path: "setup.sh",
      bytes: enc.encode((await template("setup.sh")).replaceAll("@DENO_VERSION@", DENO_VERSION)),
      mode: 0o755,
    },
    {
      path: "run_autograder",
      bytes: enc.encode(
        (await template("run_autograder")).replaceAll("@PROFILE@", opts.profile ?? "full")
          .replaceAll("@BUDGET@", String(opts.budget ?? DEFAULT_BUDGET_SECONDS))
          .replaceAll("@HIDDEN_TEST@", hidden ? `$SOURCE/${hidden}` : ""),
      ),
      mode: 0o755,
    },
    { path: "data/notMNIST_small.tar.gz", bytes: await Deno.readFile(archive) },
  ];
  if (hidden && opts.hiddenTest) {
    entries.push({ path: hidden, bytes: await Deno.readFile(opts.hiddenTest) });
  }
  for (const f of await sourceFiles(root)) {
    entries.push({ path: `lab/${relative(root, f)}`, bytes: await Deno.readFile(f) });
  }
  return entries;
}

/** Builds the archive and writes it to `out` atomically; returns its entries' paths. */
export async function buildAutograder(
  out: string,
  opts: BuildAutograderOptions = {},
): Promise<string[]> {
  const entries = await autograderEntries(opts);
  await atomicWrite(out, zipFiles(entries));
  return entries.map((e) => e.path);
}

/** The flags of `deno task gradescope`. */
export const PACK_SPEC = {
  out: stringFlag({ arg: "FILE", help: "the archive to write", default: "out/autograder.zip" }),
  "data-dir": GRADE_FLAGS["data-dir"],
  profile: { ...GRADE_FLAGS.profile, help: "the profile run_autograder grades with" },
  budget: {
    ...AUTOGRADER_SPEC.budget,
    help: "the total seconds run_autograder grades for (below the assignment's Gradescope limit)",
  },
  "hidden-test": {
    ...GRADE_FLAGS["hidden-test"],
    help: "ship this hidden test set; run_autograder grades test accuracy on it",
  },
  help: switchFlag("this text", "h"),
};

/** The `--help` text. */
export const PACK_HELP: string = `Usage: deno task gradescope [options]

Builds Gradescope's autograder archive: setup.sh (Node/npm and OpenBLAS from apt,
Deno ${DENO_VERSION} from npm, npm modules pre-fetched), run_autograder (grades
/autograder/submission/task*.ts into /autograder/results/results.json), the lab's
source and notMNIST_small.tar.gz (from --data-dir or NOTMNIST_DIR).

Options:
${usageLines(PACK_SPEC).join("\n")}
`;

if (import.meta.main) {
  try {
    const { values } = parseFlags(Deno.args, PACK_SPEC);
    if (values.help) {
      console.log(PACK_HELP);
      Deno.exit(0);
    }
    const out = resolve(values.out);
    const paths = await buildAutograder(out, {
      dataDir: values.dataDir,
      profile: values.profile,
      budget: values.budget,
      hiddenTest: values.hiddenTest === undefined ? undefined : resolve(values.hiddenTest),
    });
    const size = (await Deno.stat(out)).size;
    console.log(`wrote ${out}: ${paths.length} files, ${size} bytes`);
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n\n${PACK_HELP}`);
    Deno.exit(2);
  }
}
