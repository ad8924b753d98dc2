/**
 * Font seam: TrueType / OpenType / WOFF parsing through `opentype.js` (npm,
 * pure JavaScript, no native code or wasm, so it installs from the npm cache
 * and runs offline). The rest of the project sees only the plain outline data
 * below, so switching engines is a one-file change.
 *
 * @module
 */
import opentype from "opentype.js";

/** One outline command in em units, y pointing down (as in SVG): move, line, quadratic, cubic, close. */
export type OutlineCommand =
  | { type: "M" | "L"; x: number; y: number }
  | { type: "Q"; x1: number; y1: number; x: number; y: number }
  | { type: "C"; x1: number; y1: number; x2: number; y2: number; x: number; y: number }
  | { type: "Z" };

/** A glyph's outline as the font defines it. */
export interface GlyphOutline {
  /** Glyph index in the font (0 is `.notdef`, the "missing glyph" box). */
  index: number;
  /** The outline, 1 unit = 1 em. */
  commands: OutlineCommand[];
}

/** What the renderer needs from a parsed font. */
export interface FontOutlines {
  /** Family name (English), or "" when the font names none. */
  family: string;
  /** Subfamily (style) name, e.g. "Bold Italic", or "". */
  style: string;
  /** OS/2 PANOSE family kind (5 = Latin pictorial, i.e. symbols), or null without an OS/2 table. */
  panoseFamily: number | null;
  /** The outline of each requested character, `null` when the font maps it to no glyph. */
  glyphs: Map<string, GlyphOutline | null>;
}

/** Raised when a font file cannot be parsed (wraps the engine's error). */
export class FontParseError extends Error {
  /** `what`: the file, for the message. */
  constructor(what: string, cause: unknown) {
    super(`${what}: not a readable font (${cause instanceof Error ? cause.message : cause})`);
    this.name = "FontParseError";
  }
}

interface EngineGlyph {
  index: number;
  getPath(x: number, y: number, size: number): { commands: OutlineCommand[] };
}

interface EngineFont {
  names: { fontFamily?: { en?: string }; fontSubfamily?: { en?: string } };
  tables: { os2?: { panose?: number[] } };
  charToGlyphIndex(c: string): number;
  glyphs: { get(index: number): EngineGlyph };
}

/** Parses `bytes` (a whole font file) and extracts the outlines of `chars`; `what` names it in errors. */
export function parseFontOutlines(
  bytes: Uint8Array,
  chars: readonly string[],
  what: string,
): FontOutlines {
  let font: EngineFont;
  try {
    const buf = new Uint8Array(bytes).buffer;
    font = (opentype as unknown as { parse(b: ArrayBuffer): EngineFont }).parse(buf);
  } catch (err) {
    throw new FontParseError(what, err);
  }
  const glyphs = new Map<string, GlyphOutline | null>();
  for (const c of chars) {
    try {
      const index = font.charToGlyphIndex(c);
      if (!index) {
        glyphs.set(c, null);
        continue;
      }
      const path = font.glyphs.get(index).getPath(0, 0, 1);
      glyphs.set(c, { index, commands: path.commands.map((cmd) => ({ ...cmd })) });
    } catch (err) {
      throw new FontParseError(what, err);
    }
  }
  const panose = font.tables.os2?.panose;
  return {
    family: font.names.fontFamily?.en ?? "",
    style: font.names.fontSubfamily?.en ?? "",
    panoseFamily: Array.isArray(panose) && panose.length > 0 ? panose[0] : null,
    glyphs,
  };
}
