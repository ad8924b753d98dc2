/**
 * A learnable stand-in for notMNIST_small.tar.gz for end-to-end tests of the
 * teacher's kit: `perLetter` images per letter, each its letter's seeded
 * random prototype of 4x4 blocks plus seeded noise (so a nearest-centroid student passes
 * the quick profile's thresholds), every image distinct.
 *
 * @module
 */
import { join } from "node:path";
import { grayPng, type SyntheticFile, writeTarGz } from "../data/synthetic.ts";
import { LETTERS } from "../data/types.ts";
import { deriveSeed, Rng } from "../utils/rng.ts";
import { blockPrototype } from "./toy_data.ts";

/** Writes `<dir>/notMNIST_small.tar.gz` and returns its path. */
export async function writeToyArchive(dir: string, perLetter = 60, seed = 5): Promise<string> {
  const files: SyntheticFile[] = [];
  LETTERS.forEach((letter, c) => {
    const proto = new Rng(deriveSeed(seed, 100 + c));
    const base = blockPrototype(proto, 30, 225);
    const rng = new Rng(deriveSeed(seed, c));
    for (let i = 0; i < perLetter; i++) {
      const img = base.map((v) => Math.max(0, Math.min(255, v + rng.int(121) - 60)));
      files.push({ path: `notMNIST_small/${letter}/toy${i}.png`, bytes: grayPng(img) });
    }
  });
  const path = join(dir, "notMNIST_small.tar.gz");
  await writeTarGz(path, files);
  return path;
}
