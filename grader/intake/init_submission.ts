/**
 * `deno task init-submission DIR`: writes the student's starting point,
 * `DIR/task1.ts` .. `DIR/task4.ts`, from `templates/submission/`: each a
 * {@link TaskModule} built on the lab's library, with `TODO(lab)` where the
 * lab asks for a choice. They type-check and run as written. Existing files
 * are never overwritten (`--force` to replace them). See STUDENTS.md.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parseFlags, switchFlag, usageLines } from "../../deps/flags.ts";
import { atomicWrite } from "../../utils/atomic_write.ts";
import { PROJECT_ROOT } from "../project.ts";
import { TASK_NUMBERS } from "../rubric/rubric.ts";

/** Folder of the skeletons. */
export const TEMPLATE_DIR: string = join(PROJECT_ROOT, "templates", "submission");

/** The flags of `deno task init-submission`. */
export const INIT_SPEC = {
  force: switchFlag("replace existing task files"),
  help: switchFlag("this text", "h"),
};

/** The `--help` text. */
export const INIT_HELP: string = `Usage: deno task init-submission DIR [options]

Writes DIR/task1.ts .. DIR/task4.ts: skeletons of the lab's four tasks built on
the library, with TODO(lab) where the lab asks for your choices. Keep DIR inside
the lab's folder (e.g. submission/) so the editor and deno check find deno.json.
Existing files are kept unless --force is given.

Options:
${usageLines(INIT_SPEC).join("\n")}
`;

/**
 * Writes the four skeletons into `dir` (created when missing); returns the
 * files written. Throws naming the file when one exists and `force` is off.
 */
export async function initSubmission(dir: string, force = false): Promise<string[]> {
  const targets = TASK_NUMBERS.map((t) => join(dir, `task${t}.ts`));
  if (!force) {
    for (const path of targets) {
      try {
        await Deno.lstat(path);
        throw new Error(`${path} exists; pass --force to replace it`);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
  }
  for (const [i, path] of targets.entries()) {
    await atomicWrite(path, await Deno.readTextFile(join(TEMPLATE_DIR, `task${i + 1}.ts`)));
  }
  return targets;
}

/** Runs the command with `args`; returns the exit code. */
export async function main(args: string[], cwd: string = Deno.cwd()): Promise<number> {
  try {
    const flags = parseFlags(args, INIT_SPEC);
    if (flags.values.help) {
      console.log(INIT_HELP);
      return 0;
    }
    if (flags.positionals.length !== 1) {
      throw new Error(`expected exactly one folder (DIR), got ${flags.positionals.length}`);
    }
    const written = await initSubmission(
      resolve(cwd, flags.positionals[0]),
      flags.values.force,
    );
    console.log(`wrote ${written.join(", ")}`);
    console.log(
      `next: deno check ${written[0]}; deno task grade --profile quick --task 1=${written[0]}`,
    );
    return 0;
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n\n${INIT_HELP}`);
    return 2;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
