/**
 * `deno run --allow-run compute/launch.ts run [flags] script.ts [args]`: runs
 * that Deno command line with the engine's V8 flags added (compute/v8_flags.ts:
 * on x86-64 only, where V8 knows them; it says so in `NOTMNIST_ENGINE_V8_FLAGS`),
 * stdin/stdout/stderr passed through,
 * Ctrl-C and SIGTERM forwarded, and exits with the command's exit code. The
 * `deno task` entries of the lab's tasks go through it (deno.json), so their
 * permissions stay written in one place, next to the script they run.
 *
 * @module
 */
import { engineEnv, withEngineFlags } from "./v8_flags.ts";

if (import.meta.main) {
  if (Deno.args.length < 2) {
    console.error(
      "compute/launch.ts: expected a Deno command line, e.g. `run --allow-read main.ts`",
    );
    Deno.exit(2);
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: withEngineFlags(Deno.args),
    env: engineEnv(),
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const sig of signals) {
    Deno.addSignalListener(sig, () => {
      try {
        child.kill(sig);
      } catch {
        // already ended
      }
    });
  }
  Deno.exit((await child.status).code);
}
