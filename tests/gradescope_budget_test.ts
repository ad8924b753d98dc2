/**
 * Gradescope's time limit and its network: the runner splits a total budget
 * across the tasks, writes a valid results.json before the first task and
 * after each one (a run killed at the limit still reports what finished), and
 * the packed `run_autograder` grades the skeletons with no network at all
 * (`unshare -n`) to the same score as online.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { dirname, join } from "node:path";
import { unzipFiles } from "../deps/zip.ts";
import { buildAutograder } from "../grader/gradescope/pack.ts";
import { type AutograderResults, progressResults } from "../grader/gradescope/autograder.ts";
import { initSubmission } from "../grader/intake/init_submission.ts";
import { MIN_TASK_SECONDS, taskTimeShare } from "../grader/rubric/time_share.ts";
import { RUBRIC, taskPoints, taskRubric } from "../grader/rubric/rubric.ts";
import { writeToyArchive } from "./toy_archive.ts";

const root = new URL("..", import.meta.url).pathname;
const fixture = (name: string): string => join(root, "tests/fixtures/students", `${name}.ts`);
const CENTROID_TASK = `import type { TaskInput, TaskOutput } from "@notmnist/lab";
import { train as honest } from ${JSON.stringify(fixture("honest"))};

export function train(input: TaskInput): Promise<TaskOutput> {
  return honest(input);
}
`;

Deno.test("taskTimeShare: the smaller of a task's own limit and its share of what is left", () => {
  assertEquals(taskTimeShare(300, 1200, 540), 135);
  assertEquals(taskTimeShare(300, 300, 540), 300);
  assertEquals(taskTimeShare(100, 400, 40), 10);
  assertEquals(taskTimeShare(300, 600, -5), MIN_TASK_SECONDS);
});

Deno.test("progressResults before the first task: every submitted task not run yet, 0 points", () => {
  const r = progressResults(undefined, [1, 3]);
  const parsed = JSON.parse(JSON.stringify(r)) as AutograderResults;
  assertEquals(parsed.score, 0);
  assertEquals(parsed.tests.map((t) => [t.number, t.score, t.status]), [
    ["1.0", 0, "failed"],
    ["2.0", 0, "failed"],
    ["3.0", 0, "failed"],
    ["4.0", 0, "failed"],
  ]);
  assert(parsed.tests[0].name.includes("not run yet"));
  assert(parsed.tests[1].name.includes("submitted"));
  assertEquals(
    parsed.tests.reduce((a, t) => a + t.max_score, 0),
    [1, 2, 3, 4].reduce((a, t) => a + taskPoints(taskRubric(t as 1, RUBRIC)), 0),
  );
  assert(/Not run yet .*task1\.ts, task3\.ts/.test(parsed.output), parsed.output);
});

async function readResults(path: string): Promise<AutograderResults | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as AutograderResults;
  } catch {
    return undefined;
  }
}

Deno.test("a Gradescope run killed mid-way leaves a valid results.json with the tasks that finished", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nm-budget-" });
  try {
    await writeToyArchive(join(tmp, "data"), 30);
    const sub = join(tmp, "submission");
    await Deno.mkdir(sub);
    await Deno.writeTextFile(join(sub, "task1.ts"), CENTROID_TASK);
    await Deno.copyFile(fixture("sleeps"), join(sub, "task2.ts"));
    await Deno.writeTextFile(
      join(sub, "task2.ts"),
      (await Deno.readTextFile(join(sub, "task2.ts"))).replace(
        "../../../tasks/types.ts",
        join(root, "tasks/types.ts"),
      ),
    );
    const results = join(tmp, "results", "results.json");
    await Deno.mkdir(dirname(results));
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(root, "grader/gradescope/autograder.ts"),
        ...["--submission", sub, "--results", results, "--work", join(tmp, "work")],
        ...["--profile", "quick", "--epochs", "1", "--train-size", "100"],
        ...["--data-dir", join(tmp, "data"), "--cache-dir", join(tmp, "cache")],
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let seen: AutograderResults | undefined;
    let first: AutograderResults | undefined;
    const t0 = performance.now();
    while (performance.now() - t0 < 120_000) {
      seen = await readResults(results);
      first ??= seen;
      if (seen?.tests.some((t) => t.number.startsWith("1.") && !t.name.includes("not run"))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    await child.output();
    // Before the first task: valid, every task not run yet.
    assert(first !== undefined, "a results.json before the first task");
    assertEquals(first.score, 0);
    // Killed while task 2 sleeps: task 1 is reported with its points, task 2 as not run yet.
    const last = await readResults(results);
    assert(last !== undefined, "results.json parses after the kill");
    const t1 = last.tests.filter((t) => t.number.startsWith("1."));
    const t2 = last.tests.filter((t) => t.number.startsWith("2."));
    assert(t1.length > 1 && t1.some((t) => t.score > 0), JSON.stringify(t1));
    assertEquals(t2.map((t) => [t.name, t.score]), [["Task 2: not run yet", 0]]);
    assertEquals(last.score, t1.reduce((a, t) => a + t.score, 0));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the total budget bounds a task's time limit: a sleeping task is stopped at its share", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nm-budget-" });
  try {
    await writeToyArchive(join(tmp, "data"), 30);
    const sub = join(tmp, "submission");
    await Deno.mkdir(sub);
    await Deno.writeTextFile(
      join(sub, "task1.ts"),
      (await Deno.readTextFile(fixture("sleeps"))).replace(
        "../../../tasks/types.ts",
        join(root, "tasks/types.ts"),
      ),
    );
    const results = join(tmp, "results.json");
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(root, "grader/gradescope/autograder.ts"),
        ...["--submission", sub, "--results", results, "--work", join(tmp, "work")],
        ...["--profile", "quick", "--epochs", "1", "--budget", "12"],
        ...["--data-dir", join(tmp, "data"), "--cache-dir", join(tmp, "cache")],
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - t0) / 1000;
    const text = new TextDecoder().decode(out.stdout);
    const r = await readResults(results);
    assert(r !== undefined, text);
    const run = r.tests.find((t) => t.number === "1.1");
    assert(run && /timeout: timed out after \d+(\.\d)? s/.test(run.output), JSON.stringify(run));
    const limit = Number(/timed out after (\d+(?:\.\d)?) s/.exec(run.output)![1]);
    assert(limit <= 12 && limit < 25, `limit ${limit}`);
    assert(seconds < 24, `took ${seconds} s (the task alone sleeps 25 s)`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

async function unshareWorks(): Promise<boolean> {
  try {
    return (await new Deno.Command("unshare", { args: ["-n", "true"] }).output()).success;
  } catch {
    return false;
  }
}

const offline = await unshareWorks();

Deno.test({
  name: "run_autograder grades the skeletons with no network (unshare -n) to the same score",
  ignore: !offline,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "nm-offline-" });
    try {
      await writeToyArchive(join(tmp, "data"), 30);
      const zip = join(tmp, "autograder.zip");
      await buildAutograder(zip, { dataDir: join(tmp, "data"), profile: "quick" });
      const rootDir = join(tmp, "autograder");
      for (const [name, bytes] of Object.entries(unzipFiles(await Deno.readFile(zip)))) {
        await Deno.mkdir(dirname(join(rootDir, "source", name)), { recursive: true });
        await Deno.writeFile(join(rootDir, "source", name), bytes);
      }
      await initSubmission(join(rootDir, "submission"));
      // A fresh Deno cache filled by setup.sh's install step only (online, as Gradescope does).
      const env: Record<string, string> = {
        AUTOGRADER_ROOT: rootDir,
        DENO: Deno.execPath(),
        AUTOGRADER_EXTRA_ARGS: "--epochs 1 --train-size 100",
        DENO_DIR: join(tmp, "deno_dir"),
      };
      const setup = await Deno.readTextFile(join(rootDir, "source", "setup.sh"));
      const install = setup.slice(setup.indexOf("deno install --frozen"))
        .replace(/\\\n/g, " ").split("\n").filter((l) => /^deno (install|cache) /.test(l));
      assertEquals(install.length, 2, install.join("\n"));
      for (const line of install) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: line.split(/\s+/).filter((a) => a !== "").slice(1),
          cwd: join(rootDir, "source", "lab"),
          env: { DENO_DIR: env.DENO_DIR },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert(out.success, `${line}: ${new TextDecoder().decode(out.stderr)}`);
      }
      for (const n of ["PATH", "HOME", "TMPDIR"]) {
        const v = Deno.env.get(n);
        if (v !== undefined) env[n] = v;
      }
      const grade = async (cmd: string[]): Promise<AutograderResults> => {
        const out = await new Deno.Command(cmd[0], {
          args: cmd.slice(1),
          clearEnv: true,
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const r = await readResults(join(rootDir, "results", "results.json"));
        const d = new TextDecoder();
        assert(r !== undefined, d.decode(out.stdout) + d.decode(out.stderr));
        return r;
      };
      const script = join(rootDir, "source", "run_autograder");
      const online = await grade(["bash", script]); // also the warm-up
      const netless = await grade(["unshare", "-n", "bash", script]);
      const scores = (r: AutograderResults) => r.tests.map((t) => [t.name, t.score, t.status]);
      assertEquals(scores(netless), scores(online), netless.output);
      assertEquals(netless.score, online.score);
      for (const t of netless.tests.filter((t) => t.name.endsWith("valid predictions"))) {
        assertEquals(t.status, "passed", t.output);
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
