/**
 * compute/cpu_backend.ts: the tfjs cpu backend prints no "install our node
 * backend" banner on its first tensor, and still computes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { assert, assertEquals } from "../deps/assert.ts";
import { CPU_BACKEND } from "../compute/cpu_backend.ts";

/** What `fn` prints with console.warn (tfjs's `warn` goes there). */
function warnings(fn: () => void): string[] {
  const lines: string[] = [];
  const orig = console.warn;
  console.warn = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    fn();
  } finally {
    console.warn = orig;
  }
  return lines;
}

const firstWrite = (backend: tf.KernelBackend) => () => {
  backend.write(new Float32Array([1, 2]), [2], "float32");
};

Deno.test("cpu backend: no node-backend banner on its first tensor", async () => {
  const factory = tf.findBackendFactory(CPU_BACKEND);
  assert(factory !== null, "the cpu backend is registered");
  const fresh = await factory();
  assertEquals(warnings(firstWrite(fresh)), []);
  fresh.dispose();
  // The package's own backend prints it: the check above can fail.
  const plain = new MathBackendCPU();
  assert(warnings(firstWrite(plain)).some((l) => l.includes("node")), "the banner is printed");
  plain.dispose();
  // The registered backend computes as before.
  await tf.setBackend(CPU_BACKEND);
  assertEquals(Array.from(await tf.add(tf.tensor([1, 2]), tf.tensor([3, 4])).data()), [4, 6]);
});
