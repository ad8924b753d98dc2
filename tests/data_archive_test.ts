import { assert, assertEquals, assertRejects } from "../deps/assert.ts";
import { decodePng, encodePng } from "../deps/png.ts";
import { deflateSync } from "node:zlib";
import { join } from "node:path";
import { decodeGray28 } from "../data/png_gray.ts";
import { loadArchive } from "../data/archive.ts";
import {
  grayPng,
  randomImage,
  type SyntheticFile,
  writeFolder,
  writeTarGz,
} from "../data/synthetic.ts";
import { PIXELS } from "../data/types.ts";
import { Rng } from "../utils/rng.ts";

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A 28x28 8-bit gray PNG whose row y uses filter `filters[y % filters.length]`. */
function filteredPng(img: Uint8Array, filters: number[]): Uint8Array {
  const raw = new Uint8Array(28 * 29);
  for (let y = 0; y < 28; y++) {
    const f = filters[y % filters.length];
    raw[y * 29] = f;
    for (let x = 0; x < 28; x++) {
      const v = img[y * 28 + x];
      const a = x > 0 ? img[y * 28 + x - 1] : 0;
      const b = y > 0 ? img[(y - 1) * 28 + x] : 0;
      const c = x > 0 && y > 0 ? img[(y - 1) * 28 + x - 1] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      raw[y * 29 + 1 + x] = (v - pred) & 255;
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, 28);
  dv.setUint32(4, 28);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // gray
  const z = new Uint8Array(deflateSync(raw));
  // split the image data over two IDAT chunks to exercise the concatenation
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", z.subarray(0, 10)),
    chunk("IDAT", z.subarray(10)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("decodeGray28: every PNG row filter decodes like fast-png", () => {
  const rng = new Rng(5);
  for (const filters of [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4], [4, 3, 2, 1]]) {
    const img = randomImage(rng);
    const png = filteredPng(img, filters);
    const out = new Uint8Array(2 * PIXELS);
    assertEquals(decodeGray28(png, out, PIXELS), null);
    assertEquals(out.subarray(PIXELS), img);
    assertEquals(new Uint8Array(decodePng(png).data), img);
  }
});

Deno.test("decodeGray28: an interlaced 8-bit gray PNG is accepted via fast-png", () => {
  const img = randomImage(new Rng(8));
  const png = encodePng(img, 28, 28, { interlace: true });
  assertEquals(png[28], 1, "the fixture is interlaced");
  const out = new Uint8Array(PIXELS);
  assertEquals(decodeGray28(png, out, 0), null);
  assertEquals(out, img);
});

Deno.test("decodeGray28: names what is wrong with a file", () => {
  const img = randomImage(new Rng(1));
  const good = grayPng(img);
  const out = new Uint8Array(PIXELS);
  const flipped = good.slice();
  flipped[good.length - 20] ^= 0xff; // inside the zlib stream / checksum
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(0), /^empty file \(0 bytes\)$/],
    [new TextEncoder().encode("hello"), /^not a PNG file/],
    [good.subarray(0, good.length - 30), /^corrupt PNG: /],
    [flipped, /^corrupt PNG: /],
    [encodePng(new Uint8Array(32 * 32), 32, 32), /^wrong size 32x32 \(expected 28x28\)$/],
    [encodePng(new Uint8Array(PIXELS * 3), 28, 28, { channels: 3 }), /^RGB image with 3 channels/],
    [encodePng(new Uint16Array(PIXELS), 28, 28, { depth: 16 }), /^bit depth 16/],
    [encodePng(new Uint8Array(PIXELS * 2), 28, 28, { channels: 2 }), /^grayscale\+alpha image/],
  ];
  for (const [bytes, re] of cases) {
    const reason = decodeGray28(bytes, out, 0);
    assert(reason !== null && re.test(reason), `expected ${re}, got ${reason}`);
  }
});

/** The generated archive used below, and what loading it must give. */
function fixture(): {
  files: SyntheticFile[];
  good: Map<string, Uint8Array>;
  skipped: Record<string, RegExp>;
} {
  const rng = new Rng(42);
  const files: SyntheticFile[] = [];
  const good = new Map<string, Uint8Array>();
  const add = (path: string, img: Uint8Array) => {
    files.push({ path, bytes: grayPng(img) });
    good.set(path, img);
  };
  for (const letter of ["A", "B", "C", "J"]) {
    for (let i = 0; i < 3; i++) add(`gen/${letter}/${letter}${i}.png`, randomImage(rng));
  }
  const a0 = good.get("gen/A/A0.png")!;
  add("gen/A/copy_of_A0.png", a0); // duplicate, same label
  add("gen/B/conflict_A0.png", a0); // duplicate with another label
  const corrupt = grayPng(randomImage(rng));
  files.push(
    { path: "gen/A/empty.png", bytes: new Uint8Array(0) },
    { path: "gen/B/corrupt.png", bytes: corrupt.subarray(0, 60) },
    { path: "gen/C/big.png", bytes: encodePng(new Uint8Array(32 * 32), 32, 32) },
    {
      path: "gen/C/rgb.png",
      bytes: encodePng(new Uint8Array(PIXELS * 3), 28, 28, { channels: 3 }),
    },
    { path: "gen/J/notes.txt", bytes: new TextEncoder().encode("not an image") },
    { path: "gen/stray.png", bytes: grayPng(randomImage(rng)) },
    // nested below a letter folder: not <root>/<letter>/<file>, so no label
    { path: "gen/C/nested/deeper/n0.png", bytes: grayPng(randomImage(rng)) },
  );
  return {
    files,
    good,
    skipped: {
      "gen/A/empty.png": /^empty file/,
      "gen/B/corrupt.png": /^corrupt PNG/,
      "gen/C/big.png": /^wrong size 32x32/,
      "gen/C/rgb.png": /^RGB image/,
      "gen/J/notes.txt": /^not a PNG file/,
      "gen/stray.png": /^no class folder/,
      "gen/C/nested/deeper/n0.png":
        /^not directly in a letter folder \(expected gen\/<A-J>\/<file>\)$/,
    },
  };
}

function checkLoaded(
  a: Awaited<ReturnType<typeof loadArchive>>,
  fx: ReturnType<typeof fixture>,
): void {
  assertEquals(a.set.count, fx.good.size);
  assertEquals(a.source.files, fx.files.length);
  assertEquals(a.set.count + a.skipped.length, a.source.files);
  assertEquals(a.perLetter, { A: 4, B: 4, C: 3, D: 0, E: 0, F: 0, G: 0, H: 0, I: 0, J: 3 });
  assertEquals(a.filesPerLetter, { A: 5, B: 5, C: 5, D: 0, E: 0, F: 0, G: 0, H: 0, I: 0, J: 4 });
  assertEquals(a.skipped.map((s) => s.path).sort(), Object.keys(fx.skipped).sort());
  for (const s of a.skipped) assert(fx.skipped[s.path].test(s.reason), `${s.path}: ${s.reason}`);
  for (let i = 0; i < a.set.count; i++) {
    const want = fx.good.get(a.names[i]);
    assert(want, `unexpected image ${a.names[i]}`);
    assertEquals(a.set.images.subarray(i * PIXELS, (i + 1) * PIXELS), want);
    const letter = a.names[i].split("/")[1];
    assertEquals("ABCDEFGHIJ"[a.set.labels[i]], letter);
  }
  // the three copies of A0 share one hash; other images do not
  const idx = (n: string) => a.names.indexOf(n);
  const h = (i: number) => `${a.hashes[2 * i]}:${a.hashes[2 * i + 1]}`;
  assertEquals(h(idx("gen/A/copy_of_A0.png")), h(idx("gen/A/A0.png")));
  assertEquals(h(idx("gen/B/conflict_A0.png")), h(idx("gen/A/A0.png")));
  assertEquals(new Set(a.names.map((_, i) => h(i))).size, a.set.count - 2);
}

Deno.test("loadArchive: generated .tar.gz and folder give the listed images, reasons and labels", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fx = fixture();
    await writeTarGz(join(dir, "gen.tar.gz"), fx.files);
    await writeFolder(join(dir, "x"), fx.files);
    for (const workers of [0, 2]) {
      const t = await loadArchive(join(dir, "gen.tar.gz"), { workers });
      checkLoaded(t, fx);
      assertEquals(t.source.kind, "tar.gz");
      assert(/^[0-9a-f]{64}$/.test(t.source.sha256 ?? ""));
    }
    const f = await loadArchive(join(dir, "x", "gen"), { workers: 1 });
    checkLoaded(f, fx);
    assertEquals(f.source.kind, "folder");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadArchive: the cache is written, reloaded, and redone when the source changes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fx = fixture();
    const path = join(dir, "gen.tar.gz");
    await writeTarGz(path, fx.files);
    const cacheDir = join(dir, "cache");
    const first = await loadArchive(path, { cacheDir, workers: 0 });
    assertEquals(first.fromCache, false);
    assert(first.cachePath !== null);
    const names = [...Deno.readDirSync(cacheDir)].map((e) => e.name).sort();
    assertEquals(names.length, 2, `no temp files left behind: ${names}`);
    assert(names[0].endsWith(".bin") && names[1].endsWith(".json"));
    const manifest = JSON.parse(await Deno.readTextFile(`${first.cachePath}.json`));
    assertEquals(manifest.source.bytes, (await Deno.stat(path)).size);
    assertEquals(manifest.skipped.length, 7);
    const again = await loadArchive(path, { cacheDir, workers: 0 });
    assertEquals(again.fromCache, true);
    checkLoaded(again, fx);
    assertEquals(again.source.sha256, first.source.sha256);
    // a changed source (new mtime) is decoded again
    await Deno.utime(path, new Date(), new Date(Date.now() + 5000));
    const changed = await loadArchive(path, { cacheDir, workers: 0 });
    assertEquals(changed.fromCache, false);
    // a damaged cache file is ignored, not trusted
    await Deno.writeFile(`${changed.cachePath}.bin`, new Uint8Array(10));
    const repaired = await loadArchive(path, { cacheDir, workers: 0 });
    assertEquals(repaired.fromCache, false);
    checkLoaded(repaired, fx);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadArchive: clear errors for a missing path, a non-archive file and a corrupt gzip", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => loadArchive(join(dir, "nope.tar.gz")),
      /nope\.tar\.gz cannot be read/,
    );
    await Deno.writeTextFile(join(dir, "data.csv"), "x");
    await assertRejects(() => loadArchive(join(dir, "data.csv")), /expected a \.tar\.gz file/);
    await Deno.writeFile(join(dir, "bad.tar.gz"), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    await assertRejects(
      () => loadArchive(join(dir, "bad.tar.gz"), { workers: 0 }),
      /bad\.tar\.gz: not a readable \.tar\.gz/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
