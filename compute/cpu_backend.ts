/**
 * The tfjs `cpu` backend without its banner. tfjs-backend-cpu prints "Hi,
 * looks like you are running TensorFlow.js in Node.js ... install our node
 * backend" on the first tensor it stores under Deno (in every test, task run
 * and sandboxed child that touches the cpu backend); this project chooses its
 * backends itself (`selectBackend`, which says why tfjs-node is skipped), so
 * the banner is only noise. Importing this module registers the package and
 * replaces its `cpu` factory by one whose backends start past that first use;
 * nothing else of tfjs (its other warnings, its flags) changes. Import it
 * instead of `@tensorflow/tfjs-backend-cpu`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";

/** tfjs's name of the cpu backend. */
export const CPU_BACKEND = "cpu";

/** The priority tfjs-backend-cpu registers itself with (the lowest of the pure-JS backends). */
const CPU_PRIORITY = 1;

/** A cpu backend whose first tensor write prints nothing (`firstUse` is the banner's latch). */
export function quietCpuBackend(): MathBackendCPU {
  const backend = new MathBackendCPU();
  (backend as unknown as { firstUse: boolean }).firstUse = false;
  return backend;
}

// Only before its first start (`findBackend` would start it): a started backend keeps its
// instance, which has printed the banner already or will not.
if (!(CPU_BACKEND in tf.engine().registry)) {
  tf.removeBackend(CPU_BACKEND);
  tf.registerBackend(CPU_BACKEND, quietCpuBackend, CPU_PRIORITY);
}
