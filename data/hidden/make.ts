/**
 * Builds a hidden test set: the letters A-J rendered from fonts in notMNIST's
 * style (see style.ts), written as 8-bit gray PNGs under `<root>/<A-J>/` in a
 * reproducible `.tar.gz` that the data layer reads like any archive. Images
 * whose pixels equal a public image, or an earlier hidden image, are dropped
 * and replaced by further renderings.
 *
 * Every random choice comes from one of the named seed streams below, derived
 * from the SHA-256 of the teacher's secret: the same fonts and the same secret
 * give the same bytes.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { archiveRoot, loadArchive } from "../archive.ts";
import { grayPng } from "../synthetic.ts";
import { type Letter, LETTERS, NUM_CLASSES } from "../types.ts";
import { deriveSeed, Rng } from "../../utils/rng.ts";
import { ImageDeduper } from "./dedup.ts";
import { type HiddenFont, scanFonts, type SkippedFont } from "./fonts.ts";
import { drawStyle, renderGlyph } from "./style.ts";
import { TarGzWriter } from "../../deps/tar_gz_writer.ts";

/** Seed stream of the font order (one permutation of the fonts per pass over them). */
export const FONT_ORDER_STREAM = 1;
/** Seed stream of each image's style (rotation, shear, margins, stroke). */
export const STYLE_STREAM = 2;

/** Images rendered when no count is given (1,000 per letter). */
export const DEFAULT_HIDDEN_COUNT = 10_000;
/** Most images one archive may hold. */
export const MAX_HIDDEN_COUNT = 200_000;
/** Renderings tried per wanted image before a letter is left short (duplicates are retried). */
export const MAX_TRIES_PER_IMAGE = 3;

/** Options of {@link makeHiddenTest}. */
export interface HiddenTestOptions {
  /** Output `.tar.gz` (its name without `.tar.gz` is the root folder inside). */
  out: string;
  /** The teacher's secret: the only seed. */
  secret: string;
  /** Font folders (default: the system font folders, see defaultFontDirs). */
  fontDirs: readonly string[];
  /** Images wanted, spread evenly over the letters (default {@link DEFAULT_HIDDEN_COUNT}). */
  count?: number;
  /** Public archive or folder whose images must not appear; null: none. */
  exclude?: string | null;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What {@link makeHiddenTest} wrote. */
export interface HiddenTestReport {
  /** The archive written. */
  out: string;
  /** SHA-256 (hex) of the archive's bytes. */
  sha256: string;
  /** Fonts used (family and style), in the order of their file hashes. */
  fonts: string[];
  /** Font files skipped, with reasons. */
  skippedFonts: SkippedFont[];
  /** Images written. */
  images: number;
  /** Images written per letter. */
  perLetter: Record<Letter, number>;
  /** Renderings made (written + dropped). */
  rendered: number;
  /** Renderings dropped because a public image has the same pixels. */
  droppedPublic: number;
  /** Renderings dropped because an earlier hidden image has the same pixels. */
  droppedWithin: number;
  /** The public archive compared against, and its image count, or null. */
  excluded: { path: string; images: number } | null;
}

/** A bad `--out` / `--count` or similar; `flag` names the option. */
export class HiddenTestOptionError extends Error {
  /** The option at fault, e.g. `--out`. */
  readonly flag: string;

  /** `message` says what was expected. */
  constructor(flag: string, message: string) {
    super(`${flag}: ${message}`);
    this.name = "HiddenTestOptionError";
    this.flag = flag;
  }
}

/** The 32-bit seed of a secret: the first four bytes of SHA-256("notmnist-hidden\0" + secret). */
export function seedOfSecret(secret: string): number {
  return createHash("sha256").update(`notmnist-hidden\0${secret}`).digest().readUInt32BE(0);
}

/** SHA-256 (hex) of a file, read in chunks. */
async function fileSha256(path: string): Promise<string> {
  const h = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) h.update(chunk);
  return h.digest("hex");
}

/** Wanted images of letter `c` when `count` are spread over the ten letters. */
export function wantedOf(count: number, c: number): number {
  return Math.floor(count / NUM_CLASSES) + (c < count % NUM_CLASSES ? 1 : 0);
}

/**
 * The font of try `j` of any letter: the fonts in a seeded order, a fresh order
 * for each pass over them, so every font draws every letter about equally often.
 */
export function fontPicker(seed: number, fonts: readonly HiddenFont[]): (j: number) => HiddenFont {
  const orders = new Map<number, Uint32Array>();
  return (j) => {
    const pass = Math.floor(j / fonts.length);
    let order = orders.get(pass);
    if (!order) {
      orders.clear();
      order = new Rng(deriveSeed(seed, FONT_ORDER_STREAM, pass)).permutation(fonts.length);
      orders.set(pass, order);
    }
    return fonts[order[j % fonts.length]];
  };
}

/** The image of try `j` of letter `c` (null for a degenerate outline). */
export function renderTry(
  seed: number,
  pick: (j: number) => HiddenFont,
  c: number,
  j: number,
): Uint8Array | null {
  return renderGlyph(pick(j).glyphs[c], drawStyle(new Rng(deriveSeed(seed, STYLE_STREAM, c, j))));
}

function checkOptions(o: HiddenTestOptions): number {
  if (!/\.(tar\.gz|tgz)$/.test(o.out)) {
    throw new HiddenTestOptionError(
      "--out",
      `expected a file name ending in .tar.gz, got ${o.out}`,
    );
  }
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(archiveRoot(o.out))) {
    throw new HiddenTestOptionError(
      "--out",
      `expected 1-64 letters, digits, ".", "_" or "-" before .tar.gz (the name of the ` +
        `archive's root folder), got ${o.out}`,
    );
  }
  if (o.secret === "") throw new HiddenTestOptionError("--seed", "expected a non-empty secret");
  const count = o.count ?? DEFAULT_HIDDEN_COUNT;
  if (!Number.isInteger(count) || count < NUM_CLASSES || count > MAX_HIDDEN_COUNT) {
    throw new HiddenTestOptionError(
      "--count",
      `expected an integer in ${NUM_CLASSES}..${MAX_HIDDEN_COUNT}, got ${count}`,
    );
  }
  return count;
}

/** Renders, deduplicates and writes the hidden test set; see the module doc. */
export async function makeHiddenTest(o: HiddenTestOptions): Promise<HiddenTestReport> {
  const count = checkOptions(o);
  const log = o.log ?? (() => {});
  const seed = seedOfSecret(o.secret);
  const scan = await scanFonts(o.fontDirs);
  log(`fonts: ${scan.fonts.length} usable, ${scan.skipped.length} skipped`);
  const exclude = o.exclude ?? null;
  const dedup = new ImageDeduper();
  if (exclude !== null) {
    const a = await loadArchive(exclude);
    dedup.addPublic(a.set, a.hashes);
    log(`excluding the ${a.set.count} images of ${exclude}`);
  }
  const excluded = exclude === null ? null : { path: exclude, images: dedup.publicCount };
  const root = archiveRoot(o.out);
  const pick = fontPicker(seed, scan.fonts);
  const perLetter = Object.fromEntries(LETTERS.map((l) => [l, 0])) as Record<Letter, number>;
  let rendered = 0, droppedPublic = 0, droppedWithin = 0;
  const tar = await TarGzWriter.create(o.out);
  try {
    await tar.addDirectory(`${root}/`);
    for (let c = 0; c < NUM_CLASSES; c++) {
      const letter = LETTERS[c];
      await tar.addDirectory(`${root}/${letter}/`);
      const wanted = wantedOf(count, c);
      for (let j = 0; perLetter[letter] < wanted && j < wanted * MAX_TRIES_PER_IMAGE; j++) {
        const img = renderTry(seed, pick, c, j);
        if (img === null) continue;
        rendered++;
        const verdict = dedup.check(img);
        if (verdict === "public") droppedPublic++;
        if (verdict === "within") droppedWithin++;
        if (verdict !== "new") continue;
        await tar.addFile(`${root}/${letter}/${String(j).padStart(6, "0")}.png`, grayPng(img));
        perLetter[letter]++;
      }
      log(`${letter}: ${perLetter[letter]} images`);
    }
    await tar.close();
  } catch (err) {
    await tar.abort();
    throw err;
  }
  const sha256 = await fileSha256(o.out);
  return {
    out: o.out,
    sha256,
    fonts: scan.fonts.map((f) => f.name),
    skippedFonts: scan.skipped,
    images: Object.values(perLetter).reduce((a, b) => a + b, 0),
    perLetter,
    rendered,
    droppedPublic,
    droppedWithin,
    excluded,
  };
}
