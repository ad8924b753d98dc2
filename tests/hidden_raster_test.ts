/**
 * The hidden-test renderer's pure parts: coverage rasterisation (exact areas,
 * winding rule), flattening, notMNIST-style placement, the duplicate filter
 * the font checks and the command line's option checks. No font files needed.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../deps/assert.ts";
import { bounds, coverage, flatten, type Polygon } from "../data/hidden/raster.ts";
import { drawStyle, placeGlyph, renderGlyph, type Style } from "../data/hidden/style.ts";
import { ImageDeduper } from "../data/hidden/dedup.ts";
import { MAX_FONT_FILES, scanFonts, unusableReason } from "../data/hidden/fonts.ts";
import { FontFolderLimitError } from "../data/hidden/errors.ts";
import { main } from "../data/hidden/cli.ts";
import { HiddenTestOptionError, seedOfSecret } from "../data/hidden/make.ts";
import { hashImages } from "../data/hash.ts";
import { PIXELS } from "../data/types.ts";
import { Rng } from "../utils/rng.ts";

function assertAlmostEquals(actual: number, expected: number, tol: number): void {
  assert(Math.abs(actual - expected) <= tol, `expected ${expected} +- ${tol}, got ${actual}`);
}
const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
const rect = (x0: number, y0: number, x1: number, y1: number): Polygon => [
  x0,
  y0,
  x1,
  y0,
  x1,
  y1,
  x0,
  y1,
];
const PLAIN: Style = { rotation: 0, shear: 0, margins: [0, 0, 0, 0], stroke: 0 };

Deno.test("coverage of a rectangle is its exact area, split exactly between pixels", () => {
  const cov = coverage([rect(1.25, 2, 3.75, 3)], 6, 6);
  assertAlmostEquals(sum(cov), 2.5, 1e-9);
  assertAlmostEquals(cov[2 * 6 + 1], 0.75, 1e-9);
  assertAlmostEquals(cov[2 * 6 + 2], 1, 1e-9);
  assertAlmostEquals(cov[2 * 6 + 3], 0.75, 1e-9);
  assertEquals(cov[1 * 6 + 2], 0);
});

Deno.test("coverage of a triangle is its area within the sub-scanline error", () => {
  const cov = coverage([[0, 0, 10, 0, 0, 10]], 10, 10);
  assertAlmostEquals(sum(cov), 50, 0.5);
});

Deno.test("coverage follows the nonzero rule: overlaps count once, reversed contours cut holes", () => {
  const outer = rect(0, 0, 8, 8);
  const hole = [2, 2, 2, 6, 6, 6, 6, 2]; // opposite direction
  assertAlmostEquals(sum(coverage([outer, hole], 8, 8)), 64 - 16, 1e-9);
  assertAlmostEquals(sum(coverage([outer, rect(2, 2, 6, 6)], 8, 8)), 64, 1e-9);
});

Deno.test("flatten closes contours and keeps curve end points", () => {
  const polys = flatten([
    { type: "M", x: 0, y: 0 },
    { type: "L", x: 1, y: 0 },
    { type: "Q", x1: 1, y1: 1, x: 0, y: 1 },
    { type: "Z" },
    { type: "M", x: 2, y: 2 },
    { type: "C", x1: 3, y1: 2, x2: 3, y2: 3, x: 2, y: 3 },
    { type: "Z" },
  ]);
  assertEquals(polys.length, 2);
  assertEquals(polys[0].slice(-2), [0, 1]);
  assertEquals(polys[1].slice(-2), [2, 3]);
  assertEquals(bounds(polys), [0, 0, 2.75, 3]);
});

Deno.test("a glyph is stretched to fill the 28x28 square, white on black (notMNIST's look)", () => {
  // a tall thin "I": notMNIST stretches it to the whole square
  const glyph = [rect(0, 0, 0.1, 0.7)];
  const placed = placeGlyph(glyph, PLAIN)!;
  assertEquals(bounds(placed), [0, 0, 28, 28]);
  const img = renderGlyph([[0, 0, 0.5, 0, 0, 0.7]], PLAIN)!;
  assertEquals(img.length, PIXELS);
  assertEquals(img[0], 255); // the right-angle corner is ink
  assertEquals(img[PIXELS - 1], 0); // the far corner is background
  assert(img.some((v) => v > 0 && v < 255), "expected anti-aliased edge pixels");
});

Deno.test("styles are seeded: same seed, same style; bolder strokes add ink", () => {
  assertEquals(drawStyle(new Rng(7)), drawStyle(new Rng(7)));
  assert(JSON.stringify(drawStyle(new Rng(7))) !== JSON.stringify(drawStyle(new Rng(8))));
  const ring = [rect(0, 0, 1, 1), [0.3, 0.3, 0.3, 0.7, 0.7, 0.7, 0.7, 0.3]];
  const thin = sum(renderGlyph(ring, { ...PLAIN, stroke: -0.3 })!);
  const plain = sum(renderGlyph(ring, PLAIN)!);
  const bold = sum(renderGlyph(ring, { ...PLAIN, stroke: 0.6 })!);
  assert(thin < plain && plain < bold, `ink: thin ${thin}, plain ${plain}, bold ${bold}`);
});

Deno.test("the duplicate filter drops public copies and repeats, keeps new images", () => {
  const rng = new Rng(3);
  const images = Uint8Array.from({ length: 3 * PIXELS }, () => rng.int(256));
  const dedup = new ImageDeduper();
  const pub = { images: images.slice(0, 2 * PIXELS), labels: new Uint8Array(2), count: 2 };
  dedup.addPublic(pub, hashImages(pub.images, 2));
  assertEquals(dedup.publicCount, 2);
  const planted = images.slice(PIXELS, 2 * PIXELS);
  assertEquals(dedup.check(planted), "public");
  const fresh = images.slice(2 * PIXELS);
  assertEquals(dedup.check(fresh), "new");
  assertEquals(dedup.check(fresh.slice()), "within");
  const almost = planted.slice();
  almost[100] ^= 1;
  assertEquals(dedup.check(almost), "new");
});

Deno.test("fonts that cannot draw ten distinct letters are refused, with the reason", () => {
  const g = (k: number) => [rect(0, 0, 1 + k, 1)];
  const ok = Array.from({ length: 10 }, (_, k) => g(k));
  const idx = Array.from({ length: 10 }, (_, k) => k + 1);
  assertEquals(unusableReason(2, ok, idx), null);
  assertEquals(unusableReason(5, ok, idx), "a symbol font (PANOSE family: Latin pictorial)");
  assertEquals(unusableReason(2, ok.map((x, k) => (k === 2 ? null : x)), idx), "no glyph for C");
  assert(unusableReason(2, ok.map((x, k) => (k === 4 ? [] : x)), idx)!.startsWith("empty outline"));
  const same = ok.map((x, k) => (k === 9 ? ok[3] : x));
  assertEquals(unusableReason(2, same, idx), "D and J have the same glyph (not a letter font)");
});

Deno.test("make-hidden-test refuses bad options before reading any font, naming the flag", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string[], string][] = [
    [["--seed", "s"], "--out"],
    [["--out", join(dir, "h.tar.gz")], "--seed"],
    [["--out", join(dir, "h.zip"), "--seed", "s"], "--out"],
    [["--out", join(dir, "a b.tar.gz"), "--seed", "s"], "--out"],
  ];
  for (const [args, flag] of cases) {
    let err: unknown = null;
    try {
      await main([...args, "--fonts", join(dir, "missing"), "--exclude", "none"]);
    } catch (e) {
      err = e;
    }
    assert(err instanceof HiddenTestOptionError, `${args.join(" ")}: ${err}`);
    assertEquals(err.flag, flag);
  }
  assertEquals([...Deno.readDirSync(dir)], []);
});

Deno.test("the seed is a hash of the whole secret", () => {
  assertEquals(seedOfSecret("a"), seedOfSecret("a"));
  assert(seedOfSecret("a") !== seedOfSecret("b"));
  assert(seedOfSecret("secret1") !== seedOfSecret("secret2"));
});

Deno.test("a font folder with more files than the renderer reads is refused, naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "many-fonts-" });
  const empty = new Uint8Array(0);
  for (let i = 0; i <= MAX_FONT_FILES; i++) Deno.writeFileSync(join(dir, `f${i}.ttf`), empty);
  let err: unknown = null;
  try {
    await scanFonts([dir]);
  } catch (e) {
    err = e;
  }
  assert(err instanceof FontFolderLimitError, String(err));
  assertEquals(err.dirs, [dir]);
  assert(err.message.startsWith(`${dir}: over ${MAX_FONT_FILES} font files`), err.message);
  await Deno.remove(dir, { recursive: true });
});
