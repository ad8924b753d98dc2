/**
 * `deno task make-hidden-test`: renders a hidden test set (letters A-J from
 * the installed fonts, notMNIST's style) into a reproducible `.tar.gz` that
 * the data layer and the grader read like any notMNIST archive.
 *
 * ```sh
 * deno task make-hidden-test --out hidden.tar.gz --seed "my secret" --count 10000
 * ```
 *
 * Flags: {@link HIDDEN_CLI_FLAGS} (`--help` lists them).
 *
 * @module
 */
import {
  intFlag,
  parseFlags,
  repeatedFlag,
  stringFlag,
  switchFlag,
  usageLines,
} from "../../deps/flags.ts";
import { findArchive, resolveDataDir } from "../paths.ts";
import { LETTERS } from "../types.ts";
import { defaultFontDirs, scanFonts, type SkipKind } from "./fonts.ts";
import {
  DEFAULT_HIDDEN_COUNT,
  HiddenTestOptionError,
  makeHiddenTest,
  MAX_HIDDEN_COUNT,
} from "./make.ts";

/** The value of `--exclude` that turns the comparison with a public archive off. */
export const NO_EXCLUDE = "none";

/** The flags of `deno task make-hidden-test`. */
export const HIDDEN_CLI_FLAGS = {
  out: stringFlag({ arg: "FILE", help: "archive to write (name ending in .tar.gz)" }),
  seed: stringFlag({
    arg: "SECRET",
    help: "the teacher's secret; same fonts + same secret -> the same archive",
  }),
  fonts: repeatedFlag({
    arg: "DIR",
    help: "font folder to search",
    shownDefault: "the system font folders (/usr/share/fonts, ~/.fonts, /Library/Fonts, ...)",
    parse: (v) => v,
  }),
  count: intFlag({
    help: "images to render, spread evenly over A-J",
    min: 10,
    max: MAX_HIDDEN_COUNT,
    default: DEFAULT_HIDDEN_COUNT,
  }),
  exclude: stringFlag({
    arg: "ARCHIVE_OR_DIR",
    help: `drop renderings equal to an image of this archive or folder ("${NO_EXCLUDE}": no check)`,
    shownDefault: "notMNIST_small in $NOTMNIST_DIR (else ~/.cache/notmnist-lab) when found",
  }),
  "list-fonts": switchFlag("print the usable fonts and the skipped font files, write nothing"),
  help: switchFlag("this text", "h"),
};

const HELP = [
  "deno task make-hidden-test --out FILE.tar.gz --seed SECRET [flags]",
  "",
  "Renders the letters A-J from fonts in notMNIST's style into a hidden test set",
  "that no student has seen (8-bit gray 28x28 PNGs in <root>/<A-J>/).",
  "",
  ...usageLines(HIDDEN_CLI_FLAGS),
].join("\n");

/** The archive to deduplicate against: the flag, else the public notMNIST_small when found. */
async function excludePath(flag: string | undefined): Promise<string | null> {
  if (flag === NO_EXCLUDE) return null;
  if (flag !== undefined) return flag;
  return await findArchive(resolveDataDir(), "small");
}

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values: flags } = parseFlags(args, HIDDEN_CLI_FLAGS);
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  const fontDirs = flags.fonts.length > 0 ? flags.fonts : defaultFontDirs();
  if (flags.listFonts) {
    const scan = await scanFonts(fontDirs);
    for (const f of scan.fonts) console.log(`${f.name}\t${f.path}`);
    for (const s of scan.skipped) console.log(`skipped ${s.path}: ${s.reason}`);
    console.log(`${scan.fonts.length} usable fonts, ${scan.skipped.length} skipped font files`);
    return 0;
  }
  if (flags.out === undefined) throw new HiddenTestOptionError("--out", "missing (FILE.tar.gz)");
  if (flags.seed === undefined) throw new HiddenTestOptionError("--seed", "missing (a secret)");
  const exclude = await excludePath(flags.exclude);
  if (exclude === null) console.log("not compared with a public archive");
  const t0 = performance.now();
  const r = await makeHiddenTest({
    out: flags.out,
    secret: flags.seed,
    fontDirs,
    count: flags.count,
    exclude,
    log: (l) => console.log(l),
  });
  console.log(`\nwrote ${r.out}: ${r.images} images (${r.rendered} rendered)`);
  console.log(`  per letter: ${LETTERS.map((l) => `${l} ${r.perLetter[l]}`).join(", ")}`);
  console.log(`  fonts: ${r.fonts.length} used, ${r.skippedFonts.length} skipped`);
  const kinds = new Map<SkipKind, number>();
  for (const s of r.skippedFonts) kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
  for (const [kind, n] of kinds) console.log(`    skipped, ${kind}: ${n}`);
  if (r.excluded) {
    console.log(
      `  dropped: ${r.droppedPublic} equal to one of the ${r.excluded.images} images of ` +
        `${r.excluded.path}, ${r.droppedWithin} equal to an earlier hidden image`,
    );
  } else {
    console.log(`  dropped: ${r.droppedWithin} equal to an earlier hidden image`);
  }
  console.log(`  sha256: ${r.sha256}`);
  console.log(`  time: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
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
