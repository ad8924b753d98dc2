/**
 * `deno task data`: inspects the notMNIST archives in the data folder and prints,
 * for each, images per letter, skipped files with reasons, duplicates, the cache
 * path and the time taken; then the split sizes of the protocol in use.
 *
 * Flags: {@link DATA_CLI_FLAGS} (`deno task data --help` lists them).
 *
 * @module
 */
import { intFlag, parseFlags, switchFlag, usageLines } from "../deps/flags.ts";
import { loadArchive } from "./archive.ts";
import { DATA_FLAGS } from "./flags.ts";
import { duplicateGroups, duplicateStats } from "./groups.ts";
import { digestNote } from "./download.ts";
import { MissingLettersError } from "./errors.ts";
import { type ArchiveName, findArchive, resolveCacheDir, resolveDataDir } from "./paths.ts";
import { DEFAULT_SPLIT_SEED, loadSplits, missingLetters } from "./splits.ts";
import { LETTERS } from "./types.ts";

/** The flags of `deno task data`. */
export const DATA_CLI_FLAGS = {
  ...DATA_FLAGS,
  seed: intFlag({ help: "split seed", min: 0, max: 2 ** 32 - 1, default: DEFAULT_SPLIT_SEED }),
  json: switchFlag("also print the split summary as JSON"),
  help: switchFlag("this text", "h"),
};

const HELP = [
  "deno task data [flags]",
  "",
  "Inspects notMNIST_small / notMNIST_large in the data folder and prints their",
  "counts, skipped files, duplicates and split sizes.",
  "",
  ...usageLines(DATA_CLI_FLAGS),
].join("\n");

/** `s` with control characters escaped (`\u001b`), so a hostile entry name cannot drive the terminal. */
function printable(s: string): string {
  let out = "";
  for (const c of s) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, "0")}` : c;
  }
  return out;
}

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values: flags } = parseFlags(args, DATA_CLI_FLAGS);
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  const { protocol, seed, download } = flags;
  const dataDir = resolveDataDir(flags.dataDir);
  const cacheDir = await resolveCacheDir(dataDir, flags.cacheDir);
  console.log(`data dir:  ${dataDir}`);
  console.log(`cache dir: ${cacheDir}`);
  // With --download, loadSplits fetches what is missing before the archives are listed.
  const splits = download
    ? await loadSplits({
      dataDir,
      cacheDir,
      protocol,
      seed,
      download,
      allowMissingLetters: true,
      log: (l) => console.log(l),
    })
    : null;
  for (const name of ["small", "large"] as ArchiveName[]) {
    const path = await findArchive(dataDir, name);
    if (!path) {
      console.log(`\nnotMNIST_${name}: not found in ${dataDir}`);
      continue;
    }
    const a = await loadArchive(path, { cacheDir });
    const d = duplicateStats(a.set, duplicateGroups(a.set, a.hashes));
    console.log(`\nnotMNIST_${name}: ${path}`);
    console.log(`  files: ${a.source.files}, readable images: ${a.set.count}`);
    console.log(`  images per letter: ${LETTERS.map((l) => `${l} ${a.perLetter[l]}`).join(", ")}`);
    console.log(`  skipped: ${a.skipped.length}`);
    for (const s of a.skipped) console.log(`    ${printable(s.path)}: ${printable(s.reason)}`);
    console.log(
      `  duplicates within: ${d.groups} groups of identical images cover ${d.filesInGroups} ` +
        `images; ${d.distinct} distinct images (${d.extraCopies} extra copies)`,
    );
    if (d.largest) {
      const letters = Object.entries(d.largest.letters).map(([l, n]) => `${l} ${n}`).join(", ");
      console.log(`  largest group: ${d.largest.size} copies (${letters})`);
    }
    for (const c of d.conflicting.slice(0, 5)) {
      const letters = Object.entries(c.letters).map(([l, n]) => `${l} ${n}`).join(", ");
      console.log(`  conflicting labels: a group of ${c.size} (${letters})`);
    }
    if (d.conflicting.length > 5) {
      const images = d.conflicting.reduce((n, c) => n + c.size, 0);
      console.log(`  conflicting labels: ${d.conflicting.length} groups, ${images} images in all`);
    }
    if (a.source.sha256) console.log(`  sha256: ${a.source.sha256}`);
    const note = digestNote(name, a.source.sha256);
    if (note !== null) console.log(`  ${note}`);
    const missing = missingLetters(a);
    if (missing.length > 0) {
      const err = new MissingLettersError(a.source.path, missing);
      console.log(`  warning: ${err.message}; the tasks and the grader refuse it`);
    }
    for (const note of a.cacheNotes) console.log(`  note: ${printable(note)}`);
    const state = a.cacheState === "unwritten"
      ? "could not be written; the archive was decoded and used without it"
      : a.cacheState;
    console.log(`  cache: ${printable(`${a.cachePath}`)}.{bin,json} (${state})`);
    console.log(`  time: ${a.seconds.toFixed(2)} s`);
  }
  const s = splits ??
    await loadSplits({ dataDir, cacheDir, protocol, seed, allowMissingLetters: true });
  const sum = s.summary;
  console.log(`\nprotocol: ${sum.protocol} (seed ${sum.seed}, sanitize ${sum.sanitize})`);
  console.log(
    `  split sizes: train ${sum.sizes.train}, valid ${sum.sizes.valid}, test ${sum.sizes.test}`,
  );
  for (const split of ["train", "valid", "test"] as const) {
    const pc = sum.perClass[split];
    console.log(
      `  ${split.padEnd(5)} per letter: ${LETTERS.map((l) => `${l} ${pc[l]}`).join(", ")}`,
    );
  }
  const dup = sum.duplicates;
  console.log(
    `  duplicates across splits removed: valid ${dup.acrossRemoved.valid}, test ` +
      `${dup.acrossRemoved.test}; within-split copies removed: valid ${dup.withinRemoved.valid}, ` +
      `test ${dup.withinRemoved.test}`,
  );
  console.log(
    `  conflicting-label images: ${dup.conflicting.images} -> ${dup.conflicting.placement}`,
  );
  if (flags.json) console.log(JSON.stringify(sum, null, 2));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
