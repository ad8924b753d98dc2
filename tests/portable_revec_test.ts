/**
 * V8's revectorisation (compute/v8_flags.ts) changes no bit of the portable
 * SGEMM: the hash of tests/portable_hash_main.ts's products (threads 1 and 2)
 * is the same with and without the engine's V8 flags. And the flags are given
 * only where V8 knows them.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { fileURLToPath as fromFileUrl } from "node:url";
import { denoStdout } from "./arm64_runner.ts";
import {
  ENGINE_FLAGS_ENV,
  engineEnv,
  engineV8Flags,
  v8FlagsArg,
  withEngineFlags,
} from "../compute/v8_flags.ts";

const SCRIPT = fromFileUrl(new URL("./portable_hash_main.ts", import.meta.url));

Deno.test("engine V8 flags: x86-64 only, merged into one --v8-flags, after the subcommand", () => {
  assertEquals(engineV8Flags("aarch64"), []);
  assertEquals(engineV8Flags("x86_64"), ["--experimental-wasm-revectorize"]);
  assertEquals(v8FlagsArg([], "aarch64"), []);
  assertEquals(v8FlagsArg(["--max-old-space-size=64"], "aarch64"), [
    "--v8-flags=--max-old-space-size=64",
  ]);
  assertEquals(v8FlagsArg(["--max-old-space-size=64"], "x86_64"), [
    "--v8-flags=--max-old-space-size=64,--experimental-wasm-revectorize",
  ]);
  assertEquals(withEngineFlags(["run", "-A", "x.ts", "--epochs", "1"], "x86_64"), [
    "run",
    "--v8-flags=--experimental-wasm-revectorize",
    "-A",
    "x.ts",
    "--epochs",
    "1",
  ]);
  assertEquals(withEngineFlags(["run", "x.ts"], "aarch64"), ["run", "x.ts"]);
});

Deno.test({
  name: "portable sgemm: the same SHA-256 with and without the V8 flags, narrow and wide tiles",
  ignore: engineV8Flags().length === 0,
  fn: async () => {
    const args = ["run", "--allow-read", `--allow-env=${ENGINE_FLAGS_ENV}`, "--no-lock", SCRIPT];
    const wide = engineEnv();
    // No flag and narrow tile; no flag but told wide (the wide tile at 128 bits); flag and
    // narrow; flag and wide (what the launchers run).
    const hashes = await Promise.all([
      denoStdout(Deno.execPath(), args),
      denoStdout(Deno.execPath(), args, wide),
      denoStdout(Deno.execPath(), withEngineFlags(args)),
      denoStdout(Deno.execPath(), withEngineFlags(args), wide),
    ]);
    assert(hashes[0].startsWith("portable-gemm-sha256 "), hashes[0]);
    assertEquals(hashes, new Array(4).fill(hashes[0]));
  },
});
