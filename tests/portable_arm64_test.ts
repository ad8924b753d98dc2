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
import { arm64Runner, denoStdout } from "./arm64_runner.ts";

const SCRIPT = fromFileUrl(new URL("./portable_hash_main.ts", import.meta.url));
const RUNNER = arm64Runner("portable_arm64_test");

function hashLine(exe: string): Promise<string> {
  return denoStdout(exe, ["run", "--allow-read", "--no-lock", SCRIPT]);
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
