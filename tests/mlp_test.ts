import * as tf from "@tensorflow/tfjs-core";
import "../compute/cpu_backend.ts";
import { assert, assertEquals, assertThrows } from "../deps/assert.ts";
import {
  buildMlp,
  describeMlp,
  kernels,
  l2Penalty,
  type MlpSpec,
  parameterCount,
  validateMlpSpec,
} from "../models/mlp.ts";
import { SeededDropout } from "../models/dropout.ts";

await tf.setBackend("cpu");

Deno.test("validateMlpSpec names the offending field", () => {
  const base = { units: 8, activation: "relu" } as const;
  assertThrows(
    () => validateMlpSpec({ hidden: [base, base, { units: 0, activation: "relu" }] }),
    /hidden\[2\]\.units must be an integer in 1\.\.4096, got 0/,
  );
  assertThrows(
    () => validateMlpSpec({ hidden: [{ units: 8, activation: "softmax" as "relu" }] }),
    /hidden\[0\]\.activation "softmax" is not allowed in a hidden layer/,
  );
  assertThrows(
    () => validateMlpSpec({ hidden: [{ units: 8, activation: "swish" as "relu" }] }),
    /hidden\[0\]\.activation must be one of relu, elu, selu, sigmoid, tanh, linear/,
  );
  assertThrows(
    () => validateMlpSpec({ hidden: [{ ...base, dropout: 1 }] }),
    /hidden\[0\]\.dropout must be a number in \[0, 1\), got 1/,
  );
  assertThrows(() => validateMlpSpec({ hidden: [{ ...base, l2: -1 }] }), /hidden\[0\]\.l2/);
  assertThrows(
    () => validateMlpSpec({ hidden: Array.from({ length: 6 }, () => base) }),
    /hidden must have 0\.\.5 layers, got 6/,
  );
  assertThrows(() => validateMlpSpec({ hidden: [], inputDropout: 2 }), /inputDropout/);
});

Deno.test("buildMlp: shapes of every layer and logits", () => {
  const spec: MlpSpec = {
    hidden: [
      { units: 32, activation: "relu", dropout: 0.5 },
      { units: 16, activation: "tanh", dropout: 0.2 },
    ],
  };
  const model = buildMlp(spec, 1);
  assertEquals(model.layers.outputs[0].shape, [null, 10]);
  const shapes = model.weightShapes();
  assertEquals(shapes, [[784, 32], [32], [32, 16], [16], [16, 10], [10]]);
  assertEquals(model.countParams(), parameterCount(spec));
  // Each dropout is its own layer object.
  const drops = model.layers.layers.filter((l) => l instanceof SeededDropout) as SeededDropout[];
  assertEquals(drops.length, 2);
  assert(drops[0] !== drops[1]);
  assertEquals(drops.map((d) => d.rate), [0.5, 0.2]);
  const out = tf.tidy(() => (model.layers.predict(tf.zeros([3, 784])) as tf.Tensor).shape);
  assertEquals(out, [3, 10]);
  assertEquals(describeMlp(spec), "784-32-16-10 relu/tanh, dropout 0.5/0.2");
  model.dispose();
});

Deno.test("0 hidden layers is logistic regression: one 784x10 dense layer", () => {
  const spec: MlpSpec = { hidden: [] };
  const model = buildMlp(spec, 3);
  assertEquals(model.weightShapes(), [[784, 10], [10]]);
  assertEquals(describeMlp(spec), "logistic regression (784-10)");
  model.dispose();
});

Deno.test("same seed gives the same initial weights, another seed different ones", () => {
  const spec: MlpSpec = { hidden: [{ units: 8, activation: "relu" }] };
  const w = (seed: number) => {
    const m = buildMlp(spec, seed);
    const values = Array.from(m.weights()[0]);
    m.dispose();
    return values;
  };
  assertEquals(w(5), w(5));
  assert(JSON.stringify(w(5)) !== JSON.stringify(w(6)));
});

Deno.test("l2Penalty is sum of l2 * sum(W^2) over layers with L2", () => {
  const spec: MlpSpec = { hidden: [{ units: 4, activation: "relu", l2: 0.01 }], outputL2: 0.001 };
  const model = buildMlp(spec, 1);
  const infos = kernels(model, spec);
  const sq = (t: tf.Tensor) => tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]);
  const expected = 0.01 * sq(infos[0].kernel) + 0.001 * sq(infos[1].kernel);
  const p = l2Penalty(infos);
  assert(Math.abs(p.dataSync()[0] - expected) < 1e-6 * expected);
  p.dispose();
  model.dispose();
});
