import * as tf from "@tensorflow/tfjs-core";
import "../compute/cpu_backend.ts";
import { encode } from "fast-png";
import { assert, assertEquals, assertRejects, assertThrows } from "../deps/assert.ts";
import { LETTERS } from "../data/types.ts";
import { fileURLToPath } from "node:url";
import { markdownTable, parseTaskArgs } from "../tasks/common.ts";
import { decodeGrayPng, predictFiles } from "../tasks/predict.ts";
import { confusionMatrixSvg, learningCurveSvg } from "../models/pictures.ts";
import * as task1 from "../tasks/task1.ts";
import * as task2 from "../tasks/task2.ts";
import * as task4 from "../tasks/task4.ts";
import { LAB_RECIPE, SMALL_RECIPE } from "../models/recipes.ts";
import type { EpochRecord, TaskModule } from "../tasks/types.ts";
import { toySet } from "./toy_data.ts";

await tf.setBackend("cpu");

Deno.test("task flags: bad values give errors naming the flag", () => {
  assertThrows(() => parseTaskArgs(["--epochs", "abc"]), /--epochs expects an integer/);
  assertThrows(() => parseTaskArgs(["--epochs", "0"]), /--epochs expects an integer in \[1,/);
  assertThrows(() => parseTaskArgs(["--batch-size", "-3"]), /--batch-size/);
  assertThrows(() => parseTaskArgs(["--train-size", "5"]), /--train-size/);
  assertThrows(() => parseTaskArgs(["--protocol", "big"]), /--protocol expects lab, small or auto/);
  assertThrows(() => parseTaskArgs(["--epoch", "3"]), /Known flags: --epochs/);
  assertThrows(() => parseTaskArgs(["--out", ""]), /--out expects a non-empty value/);
  assertThrows(() => parseTaskArgs(["--backend", "gpu"]), /--backend: unknown backend "gpu"/);
  const ok = parseTaskArgs(["--epochs", "3", "--seed", "7", "--backend", "cpu"]);
  assertEquals([ok.epochs, ok.seed, ok.backend, ok.batchSize], [3, 7, "cpu", undefined]);
});

Deno.test("task modules implement TaskModule; task 2 returns logreg and mlp", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nm-task-" });
  try {
    const t: TaskModule = task2;
    const lines: string[] = [];
    const out = await t.train({
      train: toySet(200, 1),
      valid: toySet(50, 2),
      seed: 3,
      epochs: 1,
      batchSize: 50,
      outDir: dir,
      log: (l) => lines.push(l),
    });
    assertEquals(Object.keys(out.models).sort(), ["logreg", "main", "mlp"]);
    assertEquals(out.models.logreg.name, "logistic regression (784-10)");
    assertEquals(out.models.main, out.models.mlp);
    const probs = await out.models.logreg.predict(toySet(7, 4).images, 7);
    assertEquals(probs.length, 70);
    assertEquals(out.models.mlp.history.length, 1);
    assert(lines.some((l) => l.startsWith("epoch 1/1")));
    const json = JSON.parse(await Deno.readTextFile(`${dir}/model/model.json`));
    assertEquals(json.userDefinedMetadata.labels, [...LETTERS]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("task 4 trains the recipe of the data protocol it is handed", async () => {
  for (const [protocol, recipe] of [["lab", LAB_RECIPE], ["small", SMALL_RECIPE]] as const) {
    const dir = await Deno.makeTempDir({ prefix: "nm-task4-" });
    try {
      const out = await task4.train({
        train: toySet(64, 1),
        valid: toySet(16, 2),
        seed: 3,
        epochs: 1,
        protocol,
        outDir: dir,
        log: () => {},
      });
      const config = out.models.main.config;
      assertEquals(config.spec, recipe.spec);
      assertEquals(config.batchSize, recipe.batchSize);
      assertEquals(config.augmentShift, recipe.augmentShift);
      assertEquals(config.epochs, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  assertEquals(task4.TASK.defaults.lab?.epochs, LAB_RECIPE.epochs);
});

Deno.test("predict: a generated 28x28 gray PNG gets a letter and 10 probabilities", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nm-predict-" });
  try {
    const train = toySet(300, 5);
    const out = await task1.train({
      train,
      valid: toySet(50, 6),
      seed: 1,
      epochs: 2,
      batchSize: 30,
      outDir: dir,
      log: () => {},
    });
    // A clean image of class 3 (band 3 lit).
    const pixels = new Uint8Array(784);
    for (let p = 3 * 78; p < 3 * 78 + 78; p++) pixels[p] = 220;
    const png = encode({ width: 28, height: 28, data: pixels, channels: 1, depth: 8 });
    await Deno.writeFile(`${dir}/d.png`, png);
    assertEquals(decodeGrayPng(png, "d.png"), pixels);
    const [p] = await predictFiles(`${dir}/model`, [`${dir}/d.png`]);
    assertEquals(p.probabilities.length, 10);
    assert(Math.abs(p.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    const direct = await out.models.main.predict(pixels, 1);
    assertEquals(p.probabilities, Array.from(direct));
    assertEquals(p.letter, "D");

    const rgb = encode({ width: 28, height: 28, data: new Uint8Array(784 * 3), channels: 3 });
    await Deno.writeFile(`${dir}/rgb.png`, rgb);
    await assertRejects(
      () => predictFiles(`${dir}/model`, [`${dir}/rgb.png`]),
      /rgb\.png: expected a 28x28 8-bit grayscale PNG \(like notMNIST's\), got 3 channels/,
    );
    const big = encode({ width: 32, height: 28, data: new Uint8Array(32 * 28), channels: 1 });
    assertThrows(() => decodeGrayPng(big, "big.png"), /big\.png: .* got size 32x28/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report pictures and tables", () => {
  const h: EpochRecord[] = [1, 2, 3].map((epoch) => ({
    epoch,
    loss: 1 / epoch,
    trainAccuracy: 0.5 + epoch / 10,
    validLoss: 1.1 / epoch,
    validAccuracy: 0.45 + epoch / 10,
    learningRate: 0.1,
    seconds: 1,
    samplesPerSecond: 100,
  }));
  const curves = learningCurveSvg("t <1>", [{ label: "a", history: h }, {
    label: "b",
    history: h,
  }]);
  assert(curves.startsWith("<svg") && curves.trimEnd().endsWith("</svg>"));
  assert(curves.includes("t &lt;1&gt;"));
  // Per series: train and valid loss, train and valid accuracy, the rate (no momentum recorded).
  assertEquals(curves.match(/<polyline/g)?.length, 10);
  const m = Array.from(
    { length: 10 },
    (_, i) => Array.from({ length: 10 }, (_, j) => i === j ? 9 : j === 0 ? 1 : 0),
  );
  const cm = confusionMatrixSvg("cm", m);
  assertEquals(cm.match(/<rect /g)?.length, 101);
  assert(cm.includes("90.0%") && cm.includes("100.0%"));
  assert(cm.includes("overall: 90 / 99"));
  assertEquals(markdownTable(["a", "bb"], [["xyz", "1"]]), [
    "| a   | bb |",
    "|-----|----|",
    "| xyz | 1  |",
  ]);
});

// The same default as tests/data_real_test.ts: NOTMNIST_DIR, else ../shared/notmnist beside the repo.
const dataDir = Deno.env.get("NOTMNIST_DIR") ??
  fileURLToPath(new URL("../../shared/notmnist", import.meta.url));
const haveData = (() => {
  try {
    return Deno.statSync(`${dataDir}/notMNIST_small.tar.gz`).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "task 2 runs end to end on the real data (small subset, 1 epoch)",
  ignore: !haveData,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "nm-run-" });
    try {
      // A previous run's folder, with a file this run does not write: it must not survive.
      await Deno.writeTextFile(`${out}/result.json`, "{}");
      await Deno.writeTextFile(`${out}/stale_curves.svg`, "<svg/>");
      const lines: string[] = [];
      const r = await task2.run({
        epochs: 1,
        trainSize: 600,
        backend: "wasm",
        protocol: "small",
        dataDir,
        out,
        log: (l) => lines.push(l),
      });
      assertEquals(r.task, 2);
      assertEquals(r.sizes.train, 600);
      assertEquals(Object.keys(r.models).sort(), ["logreg", "main", "mlp"]);
      for (const m of Object.values(r.models)) {
        // 600 images, one epoch: a smoke test, well above chance (0.1), not a quality bar.
        assert(m.accuracy.test > 0.3 && m.accuracy.test <= 1, `${m.name}: ${m.accuracy.test}`);
        assertEquals(m.history.length, 1);
      }
      assert(r.table.some((l) => l.includes("net - logistic regression")));
      assert(lines.some((l) => l.startsWith("backend: wasm")));
      const saved = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
      assertEquals(saved.models.main.accuracy, r.models.main.accuracy);
      for (const f of ["learning_curves.svg", "confusion_matrix.svg", "model/model.json"]) {
        assert(Deno.statSync(`${out}/${f}`).size > 0, f);
      }
      const left = (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name).sort();
      assertEquals(left, ["confusion_matrix.svg", "learning_curves.svg", "model", "result.json"]);
      assertEquals(r.files.result, `${out}/result.json`);
      // Task 2's curves: main and mlp (one model) drawn once; the rate panel per series.
      const curves = await Deno.readTextFile(`${out}/learning_curves.svg`);
      assert(curves.includes("main = mlp: 784-512-256-10 relu"), "main = mlp in the legend");
      assert(curves.includes("logreg: logistic regression (784-10)"), "logistic regression named");
      assertEquals(curves.match(/class="learning-rate"/g)?.length, 2);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
