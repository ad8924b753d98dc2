/**
 * Public-test vs hidden-test accuracy of saved task runs (issue 24): for each
 * task output folder (`deno task taskN --out DIR`), the public test accuracy
 * from `DIR/result.json` and the accuracy of `DIR/model` on a hidden test set
 * made by `deno task make-hidden-test`. Prints a Markdown table.
 *
 * ```sh
 * deno run -A experiments/hidden_accuracy.ts --hidden hidden.tar.gz out/task1 out/task2
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { loadArchive } from "../data/archive.ts";
import { LETTERS, NUM_CLASSES } from "../data/types.ts";
import { parseFlags, stringFlag, switchFlag, usageLines } from "../deps/flags.ts";
import { selectBackend } from "../compute/backend.ts";
import { argmaxRow, evaluateSet, predictProbabilities } from "../models/evaluate.ts";
import { loadModel } from "../models/io.ts";

const FLAGS = {
  hidden: stringFlag({ arg: "FILE", help: "hidden test archive (required)" }),
  "per-letter": switchFlag("also print the hidden accuracy of each letter"),
  help: switchFlag("this text", "h"),
};

interface ResultJson {
  task: number;
  sizes: { train: number; test: number };
  epochs: number;
  models: { main: { accuracy: { test: number } } };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

const { values: flags, positionals: dirs } = parseFlags(Deno.args, FLAGS);
if (flags.help || flags.hidden === undefined || dirs.length === 0) {
  console.log(
    [
      "deno run -A experiments/hidden_accuracy.ts --hidden FILE DIR...",
      "",
      ...usageLines(FLAGS),
    ].join("\n"),
  );
  Deno.exit(flags.help ? 0 : 2);
}
await selectBackend();
const hidden = await loadArchive(flags.hidden, { workers: 0 });
console.log(`hidden set: ${flags.hidden}, ${hidden.set.count} images`);
console.log("| run | task | train images | epochs | public test | hidden test | drop |");
console.log("|---|---|---|---|---|---|---|");
const perLetterRows: string[] = [];
for (const dir of dirs) {
  const r = JSON.parse(await Deno.readTextFile(join(dir, "result.json"))) as ResultJson;
  const { model } = await loadModel(join(dir, "model"));
  try {
    const m = evaluateSet(model, hidden.set);
    const pub = r.models.main.accuracy.test;
    console.log(
      `| ${dir} | ${r.task} | ${r.sizes.train} | ${r.epochs} | ${pct(pub)} | ` +
        `${pct(m.accuracy)} | ${(100 * (pub - m.accuracy)).toFixed(2)} pts |`,
    );
    if (flags.perLetter) {
      const probs = predictProbabilities(model, hidden.set.images, hidden.set.count);
      const right = new Array<number>(NUM_CLASSES).fill(0);
      const all = new Array<number>(NUM_CLASSES).fill(0);
      for (let i = 0; i < hidden.set.count; i++) {
        const y = hidden.set.labels[i];
        all[y]++;
        if (argmaxRow(probs, i) === y) right[y]++;
      }
      perLetterRows.push(
        `${dir}: ` + LETTERS.map((l, c) => `${l} ${pct(right[c] / all[c])}`).join(", "),
      );
    }
  } finally {
    model.dispose();
  }
}
for (const row of perLetterRows) console.log(row);
