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

/** Environment variable naming the aarch64 Deno runner. */
const RUNNER_ENV = "NOTMNIST_DENO_ARM64";

function runnerPath(): string | undefined {
  const given = Deno.env.get(RUNNER_ENV);
  const home = Deno.env.get("HOME");
  const path = given ?? (home ? `${home}/.cache/arm64-deno/deno-arm64` : undefined);
  if (path === undefined) return undefined;
  try {
    return Deno.statSync(path).isFile ? path : undefined;
  } catch {
    return undefined;
  }
}

const SCRIPT = fromFileUrl(new URL("./numerics_hashes_main.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../deno.json", import.meta.url));
const RUNNER = runnerPath();
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
  const out = await new Deno.Command(exe, {
    // No --allow-ffi: reproducible mode needs none.
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      "--config",
      CONFIG,
      SCRIPT,
      ...ARGS,
    ],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, `${exe} failed: ${new TextDecoder().decode(out.stderr).slice(-800)}`);
  return JSON.parse(text.split("\n").pop() ?? "") as RunHashes;
}

if (RUNNER === undefined) {
  console.log(
    `numerics_arm64_test: skipped, no aarch64 Deno runner (set ${RUNNER_ENV} or run ` +
      "`bash ../shared/tools/arm64/setup.sh` as root)",
  );
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
