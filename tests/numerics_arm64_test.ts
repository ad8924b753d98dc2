/**
 * Cross-architecture evidence for reproducible training (issue 23, item 4):
 * a short reproducible run (tests/numerics_hashes_main.ts: the golden
 * network, 2 steps, NaNs canonicalised before hashing) gives the same SHA-256
 * of weights and predictions natively and under aarch64 Deno in qemu
 * user-mode emulation (~70x slower: the run is kept tiny). Runs when the
 * emulator's runner is present (`bash ../shared/tools/arm64/setup.sh`, found
 * at `$NOTMNIST_DENO_ARM64` or `~/.cache/arm64-deno/deno-arm64`); otherwise it
 * is ignored and says so.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { fileURLToPath as fromFileUrl } from "node:url";
import { arm64Runner, denoStdout } from "./arm64_runner.ts";

const SCRIPT = fromFileUrl(new URL("./numerics_hashes_main.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../deno.json", import.meta.url));
const RUNNER = arm64Runner("numerics_arm64_test");
/** The tiny run: 256 images, one epoch of 2 steps (batch 128), engine threads 2. */
const ARGS = ["--epochs", "1", "--train-size", "256"];

interface RunHashes {
  arch: string;
  backend: string;
  bitIdentical: boolean;
  weights: string;
  predictions: string;
}

async function hashes(exe: string, env: Record<string, string>): Promise<RunHashes> {
  // No --allow-ffi: reproducible mode needs none.
  const args = ["run", "--allow-read", "--allow-env", "--allow-sys", "--config", CONFIG, SCRIPT];
  const text = await denoStdout(exe, [...args, ...ARGS], env);
  return JSON.parse(text.split("\n").pop() ?? "") as RunHashes;
}

Deno.test({
  name: "reproducible training: same weight and prediction hashes on x86-64 and emulated aarch64",
  ignore: RUNNER === undefined,
  fn: async () => {
    const env = { NOTMNIST_BLAS_THREADS: "2" };
    const [native, arm] = await Promise.all([hashes(Deno.execPath(), env), hashes(RUNNER!, env)]);
    assertEquals(arm.arch, "aarch64", "the runner is not an aarch64 Deno");
    assert(native.arch !== arm.arch || native.arch === "aarch64");
    for (const h of [native, arm]) {
      assertEquals(h.backend, "wasm-blas");
      assert(h.bitIdentical, `fingerprint says not the reference bits on ${h.arch}`);
    }
    assertEquals(
      { weights: arm.weights, predictions: arm.predictions },
      { weights: native.weights, predictions: native.predictions },
    );
  },
});
