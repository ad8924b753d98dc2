/**
 * `deno task bench`: runs every benchmark of the project, each in its own Deno
 * process (so one's memory does not skew another's peak RSS), and prints their
 * output in order. Benchmarks print ratios against a baseline measured in the
 * same run; nothing here is a test and nothing fails on a slow machine.
 *
 * Usage: `deno task bench [data|train|grade|numerics|gemm ...]` (default: all).
 *
 * @module
 */

import { engineEnv, withEngineFlags } from "../compute/v8_flags.ts";

const BENCHES: Record<string, string> = {
  data: "bench/data_bench.ts",
  train: "bench/train_bench.ts",
  grade: "bench/grade_bench.ts",
  numerics: "bench/numerics_bench.ts",
  gemm: "bench/gemm_bench.ts",
};

async function runBench(name: string, file: string, args: string[]): Promise<number> {
  console.log(`\n=== bench ${name} (${file}) ===`);
  const cmd = new Deno.Command(Deno.execPath(), {
    args: withEngineFlags(["run", "-A", file, ...args]),
    env: engineEnv(),
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await cmd.output();
  if (code !== 0) console.log(`bench ${name} exited with code ${code}`);
  return code;
}

if (import.meta.main) {
  const wanted = Deno.args.filter((a) => !a.startsWith("-"));
  const extra = Deno.args.filter((a) => a.startsWith("-"));
  const unknown = wanted.filter((w) => !(w in BENCHES));
  if (unknown.length > 0) {
    console.error(`unknown bench ${unknown.join(", ")}; known: ${Object.keys(BENCHES).join(", ")}`);
    Deno.exit(2);
  }
  let failed = 0;
  for (const [name, file] of Object.entries(BENCHES)) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    if (await runBench(name, file, extra) !== 0) failed++;
  }
  Deno.exit(failed === 0 ? 0 : 1);
}
