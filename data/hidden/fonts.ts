/**
 * Font discovery for the hidden test set: font files under the given folders
 * (the system font folders by default), parsed with the font seam, kept only
 * when they draw ten distinct letters A-J. Each kept font holds just the ten
 * flattened outlines, so memory stays small however many fonts there are.
 * Fonts are identified and ordered by the SHA-256 of their ten outlines, so
 * the order (and therefore a seeded rendering) depends on the letters the
 * fonts draw, not on where the files sit, and a font whose A-J equal another's
 * (Noto's script fonts share Noto Sans's Latin, for one) counts once.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { extname, join } from "node:path";
import { FontParseError, parseFontOutlines } from "../../deps/fonts.ts";
import { LETTERS } from "../types.ts";
import { FontFolderLimitError, NoUsableFontError } from "./errors.ts";
import { bounds, flatten, type Polygon } from "./raster.ts";

/** The system font folders searched when no `--fonts` folder is given (missing ones are ignored). */
export function defaultFontDirs(): string[] {
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  const inHome = home
    ? [".fonts", ".local/share/fonts", "Library/Fonts"].map((d) => join(home, d))
    : [];
  const windows = Deno.env.get("WINDIR");
  return [
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    ...inHome,
    ...(windows ? [join(windows, "Fonts")] : []),
  ];
}

/** File name endings read as fonts (others, e.g. `.ttc` collections, `.pfb`, `.pcf`, are ignored). */
export const FONT_EXTENSIONS: readonly string[] = [".ttf", ".otf", ".woff"];

/** Largest font file read: 16 MiB (larger files are skipped unread). */
export const MAX_FONT_BYTES = 16 << 20;

/** Most font files read; more under the folders is refused ({@link FontFolderLimitError}). */
export const MAX_FONT_FILES = 20_000;

/** Most folder entries (of any kind) walked when looking for fonts. */
export const MAX_WALKED_ENTRIES = 500_000;

/** A font that draws A-J: its ten outlines, flattened, in em units (y down). */
export interface HiddenFont {
  /** SHA-256 (hex) of its A-J outlines ({@link outlineId}): its identity and sort key. */
  id: string;
  /** Family and style, e.g. "DejaVu Sans Bold". */
  name: string;
  /** Where it was read (the first path, when the same file sits in several places). */
  path: string;
  /** Outline of each letter A..J (label order). */
  glyphs: Polygon[][];
}

/** Why a font file was not used: too big, unreadable, cannot draw A-J, or a twin of a kept one. */
export type SkipKind = "too big" | "unreadable" | "not A-J" | "duplicate";

/** A font file that was not used, and why. */
export interface SkippedFont {
  /** The file. */
  path: string;
  /** Why, in a word (for counting). */
  kind: SkipKind;
  /** Why, e.g. `no glyph for C`. */
  reason: string;
}

/** The fonts found under some folders. */
export interface FontScan {
  /** Usable fonts, sorted by {@link HiddenFont.id}. */
  fonts: HiddenFont[];
  /** Font files not used, with reasons, sorted by path. */
  skipped: SkippedFont[];
}

/** Font files under `dir` (recursively; symbolic links followed, each real file once), unsorted. */
async function walkFonts(dir: string, seen: Set<string>, out: string[]): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    let real: string;
    let info: Deno.FileInfo;
    try {
      real = await Deno.realPath(path);
      info = await Deno.stat(real);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    if (seen.size > MAX_WALKED_ENTRIES) {
      throw new FontFolderLimitError(`over ${MAX_WALKED_ENTRIES} folder entries`);
    }
    if (info.isDirectory) await walkFonts(path, seen, out);
    else if (info.isFile && FONT_EXTENSIONS.includes(extname(e.name).toLowerCase())) {
      out.push(path);
      if (out.length > MAX_FONT_FILES) {
        throw new FontFolderLimitError(`over ${MAX_FONT_FILES} font files`);
      }
    }
  }
}

/** Why a parsed font cannot draw the letters, or null when it can. */
export function unusableReason(
  panoseFamily: number | null,
  glyphs: (Polygon[] | null)[],
  indices: number[],
): string | null {
  if (panoseFamily === 5) return "a symbol font (PANOSE family: Latin pictorial)";
  for (let c = 0; c < LETTERS.length; c++) {
    const g = glyphs[c];
    if (g === null) return `no glyph for ${LETTERS[c]}`;
    const b = bounds(g);
    if (b === null || b[2] - b[0] <= 1e-3 || b[3] - b[1] <= 1e-3) {
      return `empty outline for ${LETTERS[c]} (bitmap or colour glyphs only?)`;
    }
  }
  for (let c = 0; c < LETTERS.length; c++) {
    for (let d = 0; d < c; d++) {
      if (indices[c] === indices[d] || sameOutline(glyphs[c]!, glyphs[d]!)) {
        return `${LETTERS[d]} and ${LETTERS[c]} have the same glyph (not a letter font)`;
      }
    }
  }
  return null;
}

function sameOutline(a: Polygon[], b: Polygon[]): boolean {
  return a.length === b.length && a.every((p, i) => p.join(",") === b[i].join(","));
}

/** SHA-256 (hex) of the ten letters' outlines: equal for fonts that draw A-J alike. */
export function outlineId(glyphs: readonly Polygon[][]): string {
  const h = createHash("sha256");
  for (const polys of glyphs) {
    for (const p of polys) h.update(new Uint8Array(Float64Array.from(p).buffer)).update("|");
    h.update("#");
  }
  return h.digest("hex");
}

/** Reads and checks one font file: the font, or why it was skipped. */
async function readFont(path: string): Promise<HiddenFont | SkippedFont> {
  try {
    const { size } = await Deno.stat(path);
    if (size > MAX_FONT_BYTES) {
      return {
        path,
        kind: "too big",
        reason: `${size} bytes, over the ${MAX_FONT_BYTES}-byte limit`,
      };
    }
    const bytes = await Deno.readFile(path);
    const parsed = parseFontOutlines(bytes, LETTERS, path);
    const glyphs = LETTERS.map((l) => {
      const g = parsed.glyphs.get(l);
      return g ? flatten(g.commands) : null;
    });
    const indices = LETTERS.map((l) => parsed.glyphs.get(l)?.index ?? 0);
    const reason = unusableReason(parsed.panoseFamily, glyphs, indices);
    if (reason !== null) return { path, kind: "not A-J", reason };
    const name = `${parsed.family} ${parsed.style}`.trim() || path;
    return { id: outlineId(glyphs as Polygon[][]), name, path, glyphs: glyphs as Polygon[][] };
  } catch (err) {
    if (err instanceof FontParseError) {
      return { path, kind: "unreadable", reason: "not a readable font" };
    }
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) {
      return { path, kind: "unreadable", reason: `cannot read it (${(err as Error).name})` };
    }
    throw err;
  }
}

/**
 * Finds, parses and checks the fonts under `dirs`. Throws
 * {@link NoUsableFontError} (naming the folders) when none can draw A-J.
 */
export async function scanFonts(dirs: readonly string[]): Promise<FontScan> {
  const files: string[] = [];
  const seen = new Set<string>();
  try {
    for (const dir of dirs) await walkFonts(dir, seen, files);
  } catch (err) {
    if (err instanceof FontFolderLimitError) throw new FontFolderLimitError(err.found, dirs);
    throw err;
  }
  files.sort();
  const skipped: SkippedFont[] = [];
  const byId = new Map<string, HiddenFont>();
  for (const path of files) {
    const r = await readFont(path);
    if ("reason" in r) skipped.push(r);
    else if (byId.has(r.id)) {
      skipped.push({ path, kind: "duplicate", reason: `draws A-J like ${byId.get(r.id)!.path}` });
    } else byId.set(r.id, r);
  }
  const fonts = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (fonts.length === 0) throw new NoUsableFontError(dirs, files.length);
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { fonts, skipped };
}
