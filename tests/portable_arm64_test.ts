/**
 * Cross-architecture evidence for the portable SGEMM: the hash of a fixed
 * set of products (tests/portable_hash_main.ts, NaNs canonicalised) is the
 * same from native Deno and from aarch64 Deno under qemu user-mode
 * emulation. Runs when the emulator's runner is present (prepared by
 * `bash ../shared/tools/arm64/setup.sh`, found at `$NOTMNIST_DENO_ARM64` or
 * `~/.cache/arm64-deno/deno-arm64`); otherwise it is ignored and says so.
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

const SCRIPT = fromFileUrl(new URL("./portable_hash_main.ts", import.meta.url));
const RUNNER = runnerPath();

async function hashLine(exe: string): Promise<string> {
  const out = await new Deno.Command(exe, {
    args: ["run", "--allow-read", "--no-lock", SCRIPT],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, `${exe} failed: ${new TextDecoder().decode(out.stderr).slice(-800)}`);
  return text;
}

if (RUNNER === undefined) {
  console.log(
    `portable_arm64_test: skipped, no aarch64 Deno runner (set ${RUNNER_ENV} or run ` +
      "`bash ../shared/tools/arm64/setup.sh` as root)",
  );
}

Deno.test({
  name:
    "portable sgemm: same SHA-256 natively (x86-64) and under emulated aarch64, threads 1 and 2",
  ignore: RUNNER === undefined,
  fn: async () => {
    const native = await hashLine(Deno.execPath());
    assert(native.startsWith("portable-gemm-sha256 "), native);
    const arm = await hashLine(RUNNER!);
    assertEquals(arm, native);
  },
});
