/**
 * The Gradescope archive end to end: built from a toy notMNIST_small archive,
 * unpacked into a temp folder laid out like /autograder, and `run_autograder`
 * run (with the installed deno) on a good, a broken and an empty submission.
 * `setup.sh` is not run here (it installs system packages); it is checked with
 * `bash -n` and for what it installs.
 */
import { assert, assertEquals, assertRejects } from "../deps/assert.ts";
import { dirname, join } from "node:path";
import { unzipFiles, zipModes } from "../deps/zip.ts";
import { autograderEntries, buildAutograder, DENO_VERSION } from "../grader/gradescope/pack.ts";
import type { AutograderResults } from "../grader/gradescope/autograder.ts";
import { writeToyArchive } from "./toy_archive.ts";

const GOOD_HELPER = `import type { ImageSet, TrainedModel } from "@notmnist/lab";

export function centroidModel(train: ImageSet): TrainedModel {
  const sums = new Float64Array(7840);
  const counts = new Float64Array(10);
  for (let i = 0; i < train.count; i++) {
    counts[train.labels[i]]++;
    for (let p = 0; p < 784; p++) sums[train.labels[i] * 784 + p] += train.images[i * 784 + p];
  }
  for (let k = 0; k < 7840; k++) sums[k] /= counts[Math.floor(k / 784)] || 1;
  const predict = (images: Uint8Array, count: number) => {
    const out = new Float32Array(count * 10);
    for (let i = 0; i < count; i++) {
      const d = Array.from({ length: 10 }, (_, c) => {
        let s = 0;
        for (let p = 0; p < 784; p++) s += (images[i * 784 + p] - sums[c * 784 + p]) ** 2;
        return s;
      });
      out[i * 10 + d.indexOf(Math.min(...d))] = 1;
    }
    return Promise.resolve(out);
  };
  return { name: "nearest centroid", predict, history: [], config: {} };
}
`;
const GOOD_TASK = `import type { TaskInput, TaskOutput } from "@notmnist/lab";
import { centroidModel } from "./centroid.ts";

export function train(input: TaskInput): Promise<TaskOutput> {
  return Promise.resolve({ models: { main: centroidModel(input.train) } });
}
`;

async function bashSyntax(path: string): Promise<boolean> {
  return (await new Deno.Command("bash", { args: ["-n", path] }).output()).success;
}

function passThrough(...names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = Deno.env.get(n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}

async function runAutograder(
  root: string,
  env: Record<string, string> = {},
): Promise<{ results: AutograderResults; text: string; code: number }> {
  const out = await new Deno.Command("bash", {
    args: [join(root, "run_autograder")],
    // A bare environment, as on Gradescope: run_autograder's own defaults pick the data folder.
    clearEnv: true,
    env: {
      ...passThrough("PATH", "HOME", "DENO_DIR", "TMPDIR"),
      AUTOGRADER_ROOT: root,
      DENO: Deno.execPath(),
      AUTOGRADER_PROFILE: "quick",
      AUTOGRADER_EXTRA_ARGS: "--epochs 1",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  const text = d.decode(out.stdout) + d.decode(out.stderr);
  const results = JSON.parse(
    await Deno.readTextFile(join(root, "results", "results.json")),
  ) as AutograderResults;
  return { results, text, code: out.code };
}

async function submit(root: string, files: Record<string, string>): Promise<void> {
  const dir = join(root, "submission");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.remove(join(root, "results"), { recursive: true }).catch(() => {});
  await Deno.mkdir(join(root, "results"), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(dirname(join(dir, name)), { recursive: true });
    await Deno.writeTextFile(join(dir, name), text);
  }
  await Deno.mkdir(dir, { recursive: true });
}

Deno.test("the Gradescope archive grades a good, a broken and an empty submission in a temp /autograder", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nm-gradescope-" });
  try {
    const data = join(tmp, "data");
    await writeToyArchive(data, 40);
    const zipPath = join(tmp, "autograder.zip");
    const paths = await buildAutograder(zipPath, { dataDir: data });
    const zip = await Deno.readFile(zipPath);
    const modes = zipModes(zip);
    assertEquals([modes["setup.sh"], modes["run_autograder"]], [0o755, 0o755]);
    for (
      const p of [
        "data/notMNIST_small.tar.gz",
        "lab/deno.json",
        "lab/deno.lock",
        "lab/grader/gradescope/autograder.ts",
        "lab/grader/sandbox/child.ts",
        "lab/models/mod.ts",
      ]
    ) assert(paths.includes(p), p);
    assert(!paths.some((p) => p.startsWith("lab/tests/")), "tests are not shipped");

    // Unpack as Gradescope does: the archive into /autograder/source, run_autograder beside it.
    const root = join(tmp, "autograder");
    const source = join(root, "source");
    for (const [name, bytes] of Object.entries(unzipFiles(zip))) {
      await Deno.mkdir(dirname(join(source, name)), { recursive: true });
      await Deno.writeFile(join(source, name), bytes);
    }
    await Deno.copyFile(join(source, "run_autograder"), join(root, "run_autograder"));
    assert(await bashSyntax(join(source, "setup.sh")), "setup.sh: bash -n");
    assert(await bashSyntax(join(root, "run_autograder")), "run_autograder: bash -n");
    const setup = await Deno.readTextFile(join(source, "setup.sh"));
    for (
      const want of ["nodejs npm libopenblas0-pthread", `deno@\${DENO_VERSION}`, "deno install"]
    ) {
      assert(setup.includes(want), want);
    }
    assert(setup.includes(`DENO_VERSION:-${DENO_VERSION}`));

    // A good submission (tasks 1 and 4, a helper module).
    await submit(root, {
      "centroid.ts": GOOD_HELPER,
      "task1.ts": GOOD_TASK,
      "task4.ts": GOOD_TASK,
    });
    const good = await runAutograder(root);
    assertEquals(good.code, 0, good.text);
    const g = good.results;
    // task 4's recipe checks find no optimizer and no rate schedule in a nearest-centroid
    // model: 15 of task 4's 25 points
    assertEquals(g.score, 40, good.text);
    const byName = Object.fromEntries(g.tests.map((t) => [t.name, t]));
    assertEquals(byName["Task 1: test accuracy (main)"].visibility, "after_due_date");
    assertEquals(byName["Task 1: runs and returns valid predictions"].visibility, "visible");
    assertEquals(byName["Task 2: task2.ts submitted"].max_score, 25);
    assertEquals(byName["Task 3: task3.ts submitted"].status, "failed");
    assertEquals(g.tests.reduce((s, t) => s + t.max_score, 0), 100);
    assertEquals(g.leaderboard?.[0].name, "Task 4 test accuracy (%)");
    assert(g.leaderboard![0].value > 90, JSON.stringify(g.leaderboard));
    assert(g.output.includes("shown after due date"), g.output);
    assert(g.output.startsWith("Not submitted: task2.ts, task3.ts (0 points each)."), g.output);
    assert((await Deno.stat(join(root, "work", "grade", "summary.md"))).isFile);

    // A broken submission: a syntax error in task 1, and a module that throws, inside a folder.
    await submit(root, {
      "mine/task1.ts": "export function train( {\n",
      "mine/task2.ts": `export function train(): Promise<never> { throw new Error("oops"); }\n`,
    });
    const broken = await runAutograder(root);
    assertEquals(broken.code, 0, broken.text);
    const b = Object.fromEntries(broken.results.tests.map((t) => [t.name, t]));
    assertEquals(broken.results.score, 0);
    assertEquals(b["Task 1: runs and returns valid predictions"].status, "failed");
    assert(b["Task 1: runs and returns valid predictions"].output.includes("import"));
    assert(b["Task 2: runs and returns valid predictions"].output.includes("oops"));
    assertEquals(broken.results.leaderboard?.[0].value, 0);

    // No data: the results say why instead of leaving Gradescope without results.json.
    await submit(root, {});
    const nodata = await runAutograder(root, { NOTMNIST_DIR: join(tmp, "nowhere") });
    assertEquals(nodata.code, 0);
    assertEquals(nodata.results.score, 0);
    assert(nodata.results.output.includes("could not grade"), nodata.results.output);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the archive refuses to build without the data it must ship", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nm-gradescope-nodata-" });
  try {
    await assertRejects(
      () => autograderEntries({ dataDir: tmp }),
      /notMNIST_small\.tar\.gz not found/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
