import { assert, assertRejects } from "../deps/assert.ts";
import { join } from "node:path";
import { main } from "../data/cli.ts";
import { grayPng, randomImage, writeTarGz } from "../data/synthetic.ts";
import { LETTERS } from "../data/types.ts";
import { Rng } from "../utils/rng.ts";
import { capture } from "./console_capture.ts";

Deno.test("deno task data: prints counts, skipped files, duplicates, cache and split sizes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rng = new Rng(3);
    const files = LETTERS.flatMap((l) =>
      Array.from({ length: 20 }, (_, i) => ({
        path: `notMNIST_small/${l}/${i}.png`,
        bytes: grayPng(randomImage(rng)),
      }))
    );
    files.push({ path: "notMNIST_small/B/empty.png", bytes: new Uint8Array(0) });
    files.push({ path: "notMNIST_small/C/copy.png", bytes: files[80].bytes });
    await writeTarGz(join(dir, "notMNIST_small.tar.gz"), files);
    const cache = join(dir, "cache");
    const args = ["--data-dir", dir, "--cache-dir", cache, "--seed", "5"];
    const { code, out } = await capture(() => main(args));
    assert(code === 0);
    for (
      const want of [
        "files: 202, readable images: 201",
        "images per letter: A 20, B 20, C 21, D 20",
        "skipped: 1",
        "notMNIST_small/B/empty.png: empty file (0 bytes)",
        "duplicates within: 1 groups of identical images cover 2 images; 200 distinct",
        "conflicting labels: a group of 2 (C 1, E 1)",
        `cache: ${cache}/notMNIST_small.tar.gz-`,
        "notMNIST_large: not found",
        "  note: notMNIST_small.tar.gz has SHA-256 ",
        "protocol: small (seed 5, sanitize true)",
        "split sizes: train 161, valid 20, test 20",
      ]
    ) assert(out.includes(want), `missing "${want}" in:\n${out}`);
    const again = await capture(() => main(args));
    assert(again.out.includes("(reloaded)"), again.out);
    await assertRejects(() => main(["--data-dir", dir, "--protocol", "big"]), /--protocol expects/);
    await assertRejects(
      () => main(["--data-dir", dir, "--seed", "x"]),
      /--seed expects an integer/,
    );
    await assertRejects(() => main(["--bogus"]), /Known flags: --data-dir/);
    await assertRejects(
      () => main(["--data-dir", join(dir, "none"), "--cache-dir", cache]),
      /notMNIST_small not found in .*none/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
