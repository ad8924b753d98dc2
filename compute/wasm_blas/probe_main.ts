/**
 * Prints, as one JSON line, what {@link registerWasmBlasBackend} reports on
 * this machine, and with `--check` also runs one matrix product on the
 * backend. Used by the tests to check the fallback under restricted
 * permissions, and by people to see which BLAS would be used:
 *
 * ```sh
 * deno run --allow-read --allow-env --allow-ffi compute/wasm_blas/probe_main.ts --check
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerWasmBlasBackend, WASM_BLAS } from "./register.ts";

/** Registers the backend and returns the probe plus, with `check`, a product's first value. */
export async function probeReport(check: boolean): Promise<Record<string, unknown>> {
  const probe = await registerWasmBlasBackend();
  const report: Record<string, unknown> = { ...probe };
  if (check && probe.ok) {
    await tf.setBackend(WASM_BLAS);
    const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])));
    report.check = (await y.data())[0];
    y.dispose();
  }
  return report;
}

if (import.meta.main) {
  const report = await probeReport(Deno.args.includes("--check"));
  // deno-lint-ignore no-console
  console.log(JSON.stringify(report));
}
