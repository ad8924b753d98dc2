/**
 * The pictures of docs/hidden_test.md: a grid of sample images of a hidden
 * test set beside one of notMNIST_small, as SVG (data/sample_grid.ts).
 *
 * ```sh
 * deno run -A experiments/hidden_samples.ts --hidden hidden.tar.gz --public notMNIST_small.tar.gz --out docs
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { loadArchive } from "../data/archive.ts";
import { sampleGridSvg } from "../data/sample_grid.ts";
import { parseFlags, stringFlag, usageLines } from "../deps/flags.ts";
import { atomicWrite } from "../utils/atomic_write.ts";

const FLAGS = {
  hidden: stringFlag({ arg: "FILE", help: "hidden test archive" }),
  public: stringFlag({ arg: "FILE", help: "notMNIST_small.tar.gz (or folder)" }),
  out: stringFlag({ arg: "DIR", help: "folder for the two SVGs", default: "docs" }),
};
/** Seed of the choice of sample images. */
const SAMPLE_SEED = 3;

const { values: flags } = parseFlags(Deno.args, FLAGS);
if (flags.hidden === undefined || flags.public === undefined) {
  console.log(
    ["deno run -A experiments/hidden_samples.ts [flags]", ...usageLines(FLAGS)].join("\n"),
  );
  Deno.exit(2);
}
for (
  const [path, file, title] of [
    [flags.hidden, "hidden_samples.svg", "hidden test set (rendered by make-hidden-test)"],
    [flags.public, "notmnist_small_samples.svg", "notMNIST_small (public)"],
  ]
) {
  const a = await loadArchive(path, { workers: 0 });
  const svg = sampleGridSvg(a.set, { perLetter: 16, seed: SAMPLE_SEED, scale: 2, title });
  await atomicWrite(join(flags.out, file), svg);
  console.log(`wrote ${join(flags.out, file)} (${a.set.count} images in ${path})`);
}
