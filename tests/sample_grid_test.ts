import { assert, assertEquals, assertNotEquals, assertThrows } from "../deps/assert.ts";
import { decodePng } from "../deps/png.ts";
import { PIXELS } from "../data/types.ts";
import { subset } from "../data/batch.ts";
import { sampleGridSvg } from "../data/sample_grid.ts";
import { toySet } from "./toy_data.ts";

/** The PNG embedded in a sample grid, decoded. */
function embedded(svg: string): { width: number; height: number; data: Uint8Array } {
  const m = svg.match(/href="data:image\/png;base64,([A-Za-z0-9+/=]+)"/);
  assert(m, "the grid embeds one base64 PNG");
  const bytes = Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0));
  const png = decodePng(bytes);
  assertEquals([png.channels, png.depth], [1, 8]);
  return { width: png.width, height: png.height, data: png.data as Uint8Array };
}

/** The 28x28 pixels of the grid cell at row `r`, column `c` (1-pixel gaps around cells). */
function cellPixels(grid: { width: number; data: Uint8Array }, r: number, c: number): Uint8Array {
  const out = new Uint8Array(PIXELS);
  for (let y = 0; y < 28; y++) {
    const start = (r * 29 + 1 + y) * grid.width + c * 29 + 1;
    out.set(grid.data.subarray(start, start + 28), y * 28);
  }
  return out;
}

Deno.test("sampleGridSvg: row r shows images of letter r from the set, seeded", () => {
  const set = toySet(300, 5);
  const svg = sampleGridSvg(set, { perLetter: 6, seed: 1, scale: 3, title: "a <b> & c" });
  assert(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"));
  assert(svg.includes("a &lt;b&gt; &amp; c"), "the title is escaped");
  for (const letter of "ABCDEFGHIJ") assert(svg.includes(`>${letter}</text>`), letter);
  const grid = embedded(svg);
  assertEquals([grid.width, grid.height], [6 * 29 + 1, 10 * 29 + 1]);
  assert(svg.includes(`width="${grid.width * 3}" height="${grid.height * 3}"`), "scaled 3x");
  // Every cell is a distinct image of the set whose label is the cell's row.
  const key = (p: Uint8Array) => p.join(",");
  const labelOf = new Map<string, number>();
  for (let i = 0; i < set.count; i++) {
    labelOf.set(key(set.images.subarray(i * PIXELS, (i + 1) * PIXELS)), set.labels[i]);
  }
  const seen = new Set<string>();
  for (let r = 0; r < 10; r++) {
    for (let c = 0; c < 6; c++) {
      const k = key(cellPixels(grid, r, c));
      assertEquals(labelOf.get(k), r, `cell (${r}, ${c})`);
      seen.add(k);
    }
  }
  assertEquals(seen.size, 60, "no image shown twice");
  // Same seed, same picture; another seed picks other images.
  assertEquals(sampleGridSvg(set, { perLetter: 6, seed: 1, scale: 3, title: "a <b> & c" }), svg);
  assertNotEquals(embedded(sampleGridSvg(set, { perLetter: 6, seed: 2 })).data, grid.data);
});

Deno.test("sampleGridSvg: a letter with too few images leaves gray cells; bad options throw", () => {
  const set = toySet(200, 7);
  // Keep only two images of letter C (label 2).
  const keep: number[] = [];
  let cs = 0;
  for (let i = 0; i < set.count; i++) {
    if (set.labels[i] !== 2 || cs++ < 2) keep.push(i);
  }
  const grid = embedded(sampleGridSvg(subset(set, keep), { perLetter: 4 }));
  assert(cellPixels(grid, 2, 1).some((v) => v !== 128), "second C is an image");
  assert(cellPixels(grid, 2, 2).every((v) => v === 128), "third C cell is empty (gray)");
  assert(cellPixels(grid, 2, 3).every((v) => v === 128), "fourth C cell is empty (gray)");
  assertThrows(() => sampleGridSvg(set, { perLetter: 0 }), Error, "perLetter must be an integer");
  assertThrows(() => sampleGridSvg(set, { scale: 2.5 }), Error, "scale must be an integer");
  assertThrows(
    () => sampleGridSvg({ ...set, count: set.count + 1 }),
    Error,
    "claims 201 images",
  );
});
