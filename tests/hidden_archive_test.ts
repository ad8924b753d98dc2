/**
 * `make-hidden-test` end to end on a fixed set of fonts that `.ci/run`
 * installs (fonts-dejavu-core, fonts-liberation2): the archive's bytes are
 * fixed for a fixed secret, the data layer reads it with the right labels,
 * the count is bounded, public duplicates are dropped, and a folder without
 * usable fonts is refused with an error naming it.
 */
import { assert, assertEquals, assertNotEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { loadArchive } from "../data/archive.ts";
import { NoUsableFontError } from "../data/hidden/errors.ts";
import { scanFonts } from "../data/hidden/fonts.ts";
import {
  fontPicker,
  HiddenTestOptionError,
  makeHiddenTest,
  MAX_HIDDEN_COUNT,
  renderTry,
  seedOfSecret,
} from "../data/hidden/make.ts";
import { main } from "../data/hidden/cli.ts";
import { IMAGE_SIZE, LETTERS, PIXELS } from "../data/types.ts";

/** Font files of the fixed set (Debian packages fonts-dejavu-core 2.37, fonts-liberation2 2.1.5). */
const FIXED_FONTS = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Oblique.ttf",
  "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
  "/usr/share/fonts/truetype/liberation2/LiberationMono-Bold.ttf",
];

/**
 * SHA-256 of the archive of 60 images from {@link FIXED_FONTS} with the secret
 * "fixed secret", made with the pinned Deno (its gzip) and the font versions above.
 */
const FIXED_SHA256 = "5087f5903a51d8e56c5b4ed8bde5c47d95ccdb183b36947cd64892219775b719";

/** The error `fn` rejects with, which must be an instance of `cls`. */
async function rejection<E extends Error>(
  fn: () => Promise<unknown>,
  cls: new (...args: never[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    assert(err instanceof cls, `expected a ${cls.name}, got ${err}`);
    return err;
  }
  throw new Error(`expected a ${cls.name}, but it resolved`);
}

async function present(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

const fontsPresent = (await Promise.all(FIXED_FONTS.map(present))).every((x) => x);
if (!fontsPresent) {
  console.warn(
    "hidden_archive_test: skipped, the fixed fonts are not installed " +
      "(apt-get install fonts-dejavu-core fonts-liberation2, as .ci/run does)",
  );
}

/** A temporary folder holding copies of the fixed fonts. */
async function fixedFontDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "hidden-fonts-" });
  for (const f of FIXED_FONTS) await Deno.copyFile(f, join(dir, f.split("/").pop()!));
  return dir;
}

const opts = { ignore: !fontsPresent, sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "a fixed secret and font set give fixed archive bytes; another secret others",
  ...opts,
  fn: async () => {
    const fonts = await fixedFontDir();
    const dir = await Deno.makeTempDir();
    const make = (name: string, secret: string) =>
      makeHiddenTest({ out: join(dir, name), secret, fontDirs: [fonts], count: 60 });
    const a = await make("a/hidden.tar.gz", "fixed secret");
    const b = await make("b/hidden.tar.gz", "fixed secret");
    const c = await make("c/hidden.tar.gz", "another secret");
    assertEquals(a.fonts.length, FIXED_FONTS.length);
    assertEquals(a.sha256, b.sha256);
    assertEquals(await Deno.readFile(a.out), await Deno.readFile(b.out));
    assertNotEquals(a.sha256, c.sha256);
    assertEquals(a.sha256, FIXED_SHA256);
    // nothing but the archive is left behind (no temporary files)
    assertEquals([...Deno.readDirSync(join(dir, "a"))].map((e) => e.name), ["hidden.tar.gz"]);
  },
});

Deno.test({
  name: "the data layer reads the hidden archive with the rendered letters as labels",
  ...opts,
  fn: async () => {
    const fonts = await fixedFontDir();
    const out = join(await Deno.makeTempDir(), "hidden_set.tar.gz");
    const r = await makeHiddenTest({ out, secret: "labels", fontDirs: [fonts], count: 40 });
    const a = await loadArchive(out, { workers: 0 });
    assertEquals(a.skipped, []);
    assertEquals(a.set.count, 40);
    assertEquals(a.perLetter, r.perLetter);
    for (const l of LETTERS) assertEquals(a.perLetter[l], 4);
    // each image is the rendering of the letter its folder names
    const scan = await scanFonts([fonts]);
    const pick = fontPicker(seedOfSecret("labels"), scan.fonts);
    for (let i = 0; i < a.set.count; i++) {
      const [, letter, file] = a.names[i].split("/");
      const c = LETTERS.indexOf(letter as typeof LETTERS[number]);
      assertEquals(a.set.labels[i], c);
      const j = Number(file.replace(".png", ""));
      const expected = renderTry(seedOfSecret("labels"), pick, c, j);
      assertEquals(a.set.images.slice(i * PIXELS, (i + 1) * PIXELS), expected);
    }
    // notMNIST's look: mostly black background, the glyph spans nearly the whole square
    for (let i = 0; i < a.set.count; i++) {
      const img = a.set.images.subarray(i * PIXELS, (i + 1) * PIXELS);
      let x0 = IMAGE_SIZE, x1 = -1, y0 = IMAGE_SIZE, y1 = -1;
      for (let p = 0; p < PIXELS; p++) {
        if (img[p] < 128) continue;
        const x = p % IMAGE_SIZE, y = Math.floor(p / IMAGE_SIZE);
        x0 = Math.min(x0, x), x1 = Math.max(x1, x), y0 = Math.min(y0, y), y1 = Math.max(y1, y);
      }
      assert(x1 - x0 >= 22 && y1 - y0 >= 22, `${a.names[i]}: ink box ${x0}..${x1} x ${y0}..${y1}`);
    }
  },
});

Deno.test({
  name: "the count is exact, spread over the letters, and bounded",
  ...opts,
  fn: async () => {
    const fonts = await fixedFontDir();
    const out = join(await Deno.makeTempDir(), "h.tar.gz");
    const r = await makeHiddenTest({ out, secret: "n", fontDirs: [fonts], count: 25 });
    assertEquals(r.images, 25);
    assertEquals(Object.values(r.perLetter), [3, 3, 3, 3, 3, 2, 2, 2, 2, 2]);
    for (const count of [MAX_HIDDEN_COUNT + 1, 5, 12.5]) {
      const err = await rejection(
        () => makeHiddenTest({ out, secret: "n", fontDirs: [fonts], count }),
        HiddenTestOptionError,
      );
      assertEquals(err.flag, "--count");
    }
  },
});

Deno.test({
  name: "renderings equal to a public image are dropped and replaced, and counted",
  ...opts,
  fn: async () => {
    const fonts = await fixedFontDir();
    const dir = await Deno.makeTempDir();
    // the "public" archive: the very images the same secret renders first
    const pub = await makeHiddenTest({
      out: join(dir, "public_set.tar.gz"),
      secret: "dup",
      fontDirs: [fonts],
      count: 20,
    });
    const r = await makeHiddenTest({
      out: join(dir, "hidden.tar.gz"),
      secret: "dup",
      fontDirs: [fonts],
      count: 20,
      exclude: pub.out,
    });
    assertEquals(r.droppedPublic, 20);
    assertEquals(r.excluded, { path: pub.out, images: 20 });
    assertEquals(r.images, 20);
    assertEquals(r.rendered, 40);
    const a = await loadArchive(pub.out, { workers: 0 });
    const b = await loadArchive(r.out, { workers: 0 });
    const keys = new Set<string>();
    for (let i = 0; i < a.set.count; i++) keys.add(`${a.hashes[2 * i]}:${a.hashes[2 * i + 1]}`);
    for (let i = 0; i < b.set.count; i++) {
      assert(!keys.has(`${b.hashes[2 * i]}:${b.hashes[2 * i + 1]}`), `${b.names[i]} is public`);
    }
  },
});

Deno.test({
  name: "a folder with no usable font is refused, naming the folder",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "no-fonts-" });
    await Deno.writeTextFile(join(dir, "broken.ttf"), "not a font at all");
    await Deno.writeTextFile(join(dir, "readme.txt"), "hello");
    const out = join(dir, "out", "h.tar.gz");
    const err = await rejection(
      () => makeHiddenTest({ out, secret: "s", fontDirs: [dir], count: 10 }),
      NoUsableFontError,
    );
    assertEquals(err.dirs, [dir]);
    assertEquals(err.fontFiles, 1);
    assert(!(await present(out)), "no archive may be written");
    // the command line says the same
    const cli = await rejection(
      () => main(["--out", out, "--seed", "s", "--fonts", dir, "--exclude", "none"]),
      NoUsableFontError,
    );
    assert(cli.message.includes(`no usable font in ${dir}`), cli.message);
  },
});
