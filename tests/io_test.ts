import * as tf from "@tensorflow/tfjs-core";
import "../compute/cpu_backend.ts";
import { assert, assertEquals, assertRejects } from "../deps/assert.ts";
import { predictProbabilities } from "../models/evaluate.ts";
import { loadModel, MODEL_JSON, saveModel, WEIGHTS_BIN } from "../models/io.ts";
import { buildMlp } from "../models/mlp.ts";
import { Rng } from "../utils/rng.ts";

await tf.setBackend("cpu");

Deno.test("save/load round trip: same weights, same predictions, metadata kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nm-io-" });
  try {
    const spec = {
      hidden: [{ units: 12, activation: "elu" as const, dropout: 0.3 }],
      inputDropout: 0.1,
    };
    const model = buildMlp(spec, 9);
    await saveModel(model, dir, { spec, note: "round trip" });
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(files, [MODEL_JSON, WEIGHTS_BIN]);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/${MODEL_JSON}`));
    assert(JSON.stringify(json.modelTopology).includes("SeededDropout"));

    const { model: loaded, metadata } = await loadModel(dir);
    assertEquals(metadata, { spec, note: "round trip" });
    const a = model.weights().map((w) => Array.from(w));
    const b = loaded.weights().map((w) => Array.from(w));
    assertEquals(b, a);
    const rng = new Rng(1);
    const images = new Uint8Array(5 * 784).map(() => rng.int(256));
    assertEquals(
      Array.from(predictProbabilities(loaded, images, 5)),
      Array.from(predictProbabilities(model, images, 5)),
    );
    const probs = predictProbabilities(loaded, images, 5);
    for (let i = 0; i < 5; i++) {
      const sum = probs.slice(i * 10, i * 10 + 10).reduce((x, y) => x + y, 0);
      assert(Math.abs(sum - 1) < 1e-5);
    }
    model.dispose();
    loaded.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModel on a missing folder names the file", async () => {
  await assertRejects(
    () => loadModel("/nonexistent/model"),
    /cannot read model \/nonexistent\/model\/model\.json/,
  );
});

Deno.test("save/load round trip with batch norm keeps the moving statistics", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nm-io-bn-" });
  try {
    const model = buildMlp({ hidden: [{ units: 8, activation: "relu", batchNorm: true }] }, 2);
    // Give the moving statistics non-default values.
    const stats = model.layers.getLayer("hidden1_bn").getWeights();
    model.layers.getLayer("hidden1_bn").setWeights(stats.map((w, i) => tf.fill(w.shape, i + 0.5)));
    await saveModel(model, dir);
    const { model: loaded } = await loadModel(dir);
    assertEquals(
      loaded.weights().map((w) => Array.from(w)),
      model.weights().map((w) => Array.from(w)),
    );
    model.dispose();
    loaded.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
