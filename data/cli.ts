/**
 * `deno task data`: inspects the notMNIST archives in the data folder and prints,
 * for each, images per letter, skipped files with reasons, duplicates, the cache
 * path and the time taken; then the split sizes of the protocol in use.
 *
 * Flags: `--data-dir DIR`, `--cache-dir DIR`, `--protocol auto|lab|small`,
 * `--seed N`, `--download`, `--json` (print the split summary as JSON), `--help`.
 *
 * @module
 */
import { intFlag, parseFlags, stringFlag } from "../deps/flags.ts";
import { loadArchive } from "./archive.ts";
import { duplicateGroups, duplicateStats } from "./groups.ts";
import { digestNote } from "./download.ts";
import { MissingLettersError } from "./errors.ts";
import { type ArchiveName, findArchive, resolveCacheDir, resolveDataDir } from "./paths.ts";
import { DEFAULT_SPLIT_SEED, loadSplits, missingLetters } from "./splits.ts";
import { LETTERS, type Protocol } from "./types.ts";

const HELP = `deno task data [flags]

Inspects notMNIST_small / notMNIST_large in the data folder and prints their
counts, skipped files, duplicates and split sizes.

  --data-dir DIR    folder with notMNIST_{small,large}.tar.gz or extracted folders
                    (default: $NOTMNIST_DIR, else ~/.cache/notmnist-lab)
  --cache-dir DIR   folder for the decoded cache (default: $NOTMNIST_CACHE, else
                    <data-dir>/.cache when writable, else ~/.cache/notmnist-lab/cache)
  --protocol P      auto (default), lab or small
  --seed N          split seed (default ${DEFAULT_SPLIT_SEED})
  --download        download missing archives from the official URLs (notMNIST_large
                    only with --protocol lab)
  --json            also print the split summary as JSON
  --help            this text`;

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
  const flags = parseFlags(args, {
    "data-dir": { type: "string" },
    "cache-dir": { type: "string" },
    protocol: { type: "string", default: "auto" },
    seed: { type: "string" },
    download: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (flags.values.help) {
    console.log(HELP);
    return 0;
  }
  const protocol = stringFlag(flags, "protocol") ?? "auto";
  if (!["auto", "lab", "small"].includes(protocol)) {
    throw new Error(`--protocol expects auto, lab or small, got "${protocol}"`);
  }
  const seed = intFlag(flags, "seed", 0, 2 ** 32 - 1) ?? DEFAULT_SPLIT_SEED;
  const dataDir = resolveDataDir(stringFlag(flags, "data-dir"));
  const cacheDir = await resolveCacheDir(dataDir, stringFlag(flags, "cache-dir"));
  const download = flags.values.download === true;
  console.log(`data dir:  ${dataDir}`);
  console.log(`cache dir: ${cacheDir}`);
  // With --download, loadSplits fetches what is missing before the archives are listed.
  const splits = download
    ? await loadSplits({
      dataDir,
      cacheDir,
      protocol: protocol as Protocol | "auto",
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
    console.log(`  cache: ${a.cachePath}.{bin,json} (${a.fromCache ? "reloaded" : "written"})`);
    console.log(`  time: ${a.seconds.toFixed(2)} s`);
  }
  const s = splits ??
    await loadSplits({
      dataDir,
      cacheDir,
      protocol: protocol as Protocol | "auto",
      seed,
      allowMissingLetters: true,
    });
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
  if (flags.values.json) console.log(JSON.stringify(sum, null, 2));
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
