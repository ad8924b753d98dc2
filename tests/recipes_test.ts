import * as tf from "@tensorflow/tfjs-core";
import "../compute/cpu_backend.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../deps/assert.ts";
import type { ImageSet } from "../data/types.ts";
import { evaluateSet } from "../models/evaluate.ts";
import { LAB_RECIPE, SMALL_RECIPE, withEpochs } from "../models/recipes.ts";
import { type TrainConfig, trainMlp, validateTrainConfig } from "../models/train/train.ts";
import { configByName, configNames, CONFIGS } from "../experiments/configs.ts";
import { main, meanStd } from "../experiments/accuracy.ts";
import { EPOCHS as TASK4_EPOCHS, task4Config } from "../tasks/task4.ts";
import { toySet } from "./toy_data.ts";

await tf.setBackend("cpu");

/** The shared toy problem (tests/toy_data.ts) with this file's pixel ranges. */
function toy(n: number, seed: number): ImageSet {
  return toySet(n, seed, 100, 150, 100);
}

Deno.test("the recipes are valid training configurations", () => {
  validateTrainConfig(SMALL_RECIPE);
  validateTrainConfig(LAB_RECIPE);
  // averaging needs at least that many epochs; the lab recipe trains fewer epochs on more data
  assert((SMALL_RECIPE.averageLast ?? 1) <= SMALL_RECIPE.epochs);
  assert(LAB_RECIPE.epochs <= SMALL_RECIPE.epochs);
});

Deno.test("every named candidate configuration is valid; unknown names are refused", () => {
  for (const name of configNames()) validateTrainConfig(configByName(name, 3));
  assertEquals(configByName("small-recipe", 9).seed, 9);
  assertEquals(configByName("small-recipe", 9).spec, SMALL_RECIPE.spec);
  assert(CONFIGS["reference"].description.length > 0);
  assertThrows(() => configByName("nope", 1), Error, "unknown configuration");
  // the measured candidate behind SMALL_RECIPE
  assertEquals(configByName("reference-shift-100", 42), SMALL_RECIPE);
});

Deno.test("task 4's default is SMALL_RECIPE; a shorter budget scales the averaging", () => {
  assertEquals(task4Config(7), { ...SMALL_RECIPE, seed: 7 });
  assertEquals(TASK4_EPOCHS, SMALL_RECIPE.epochs);
  // the grader's quick profile: 10 epochs average the last 3 (25 of 100 scaled)
  const quick = task4Config(7, 10, 64);
  assertEquals([quick.epochs, quick.averageLast, quick.batchSize], [10, 3, 64]);
  validateTrainConfig(quick);
  assertEquals(task4Config(7, 1).averageLast, 1);
  validateTrainConfig(task4Config(7, 1));
  // under the lab protocol (notMNIST_large) task 4 runs LAB_RECIPE
  assertEquals(task4Config(7, undefined, undefined, "lab"), { ...LAB_RECIPE, seed: 7 });
  assertEquals(task4Config(7, undefined, undefined, "small"), { ...SMALL_RECIPE, seed: 7 });
});

for (
  const [name, recipe] of [["SMALL_RECIPE", SMALL_RECIPE], ["LAB_RECIPE", LAB_RECIPE]] as const
) {
  Deno.test(`${name}: one epoch of its network and training tricks runs on synthetic data`, async () => {
    const train = toy(512, 1);
    const valid = toy(128, 2);
    const config: TrainConfig = {
      ...recipe,
      epochs: 1,
      averageLast: 1,
      batchSize: 64,
      seed: 5,
      // a lower rate: 8 steps must not blow up the wide net on toy data
      schedule: { ...recipe.schedule, initial: 0.02 } as TrainConfig["schedule"],
    };
    const r = await trainMlp(train, valid, config);
    try {
      assertEquals(r.history.length, 1);
      assert(Number.isFinite(r.history[0].loss), `loss ${r.history[0].loss}`);
      const shapes = r.model.weightShapes();
      assertEquals(shapes[0], [784, recipe.spec.hidden[0].units]);
      assertEquals(shapes[shapes.length - 1], [10]);
      const v = evaluateSet(r.model, valid);
      assert(v.accuracy > 0.5, `valid accuracy after one epoch ${v.accuracy}`);
    } finally {
      r.model.dispose();
    }
  });
}

Deno.test("meanStd: sample standard deviation", () => {
  const { mean, std } = meanStd([0.9, 0.92, 0.94]);
  assert(Math.abs(mean - 0.92) < 1e-12);
  assert(Math.abs(std - 0.02) < 1e-12);
  assertEquals(meanStd([0.5]).std, 0);
  assertThrows(() => meanStd([]), Error, "no values");
});

Deno.test("withEpochs scales averageLast with the epochs and keeps the rest", () => {
  const c = { ...SMALL_RECIPE, epochs: 60, averageLast: 15 };
  const ten = withEpochs(c, 10);
  assertEquals(ten.epochs, 10);
  assertEquals(ten.averageLast, 3);
  assertEquals(ten.spec, c.spec);
  validateTrainConfig(ten);
  assertEquals(withEpochs(c, undefined), c);
  assertEquals(withEpochs({ ...c, averageLast: undefined }, 5).averageLast, undefined);
  assertEquals(withEpochs(c, 1).averageLast, 1);
});

Deno.test("accuracy CLI: bad flags are refused before any data or training", async () => {
  await assertRejects(() => main([]), Error, "--config is required");
  await assertRejects(() => main(["--config", "nope"]), Error, "unknown configuration");
  await assertRejects(
    () => main(["--config", "reference", "--cv", "5", "--eval-test"]),
    Error,
    "cannot be combined",
  );
  await assertRejects(() => main(["--config", "reference", "--cv", "1"]), Error, "--cv");
  await assertRejects(() => main(["--config", "reference", "--epochs", "0"]), Error, "--epochs");
  await assertRejects(() => main(["--config", "reference", "--bogus"]), Error, "Known flags");
});
