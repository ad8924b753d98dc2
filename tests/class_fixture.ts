/**
 * A five-student class for the batch grader's test and for timing it by hand:
 * alice (good: nearest centroid, tasks 1 and 4, a local helper module; the
 * skeletons of tasks 2 and 3 with `allSkeletons`), bob
 * (broken: a syntax error, an exception), carol (hostile: network, FFI, a
 * symlink to alice's work, an import of alice's helper), dave (the
 * init-submission skeletons; task 1 only unless `allSkeletons`), erin (calls
 * Deno.exit mid-training, NaN predictions), plus two entries that are not students.
 *
 * ```sh
 * deno run -A tests/class_fixture.ts /tmp/class --all-skeletons
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { initSubmission } from "../grader/intake/init_submission.ts";

/** A nearest-centroid classifier: the local helper module of a good student. */
export const CENTROID_HELPER = `import type { ImageSet, TrainedModel } from "@notmnist/lab";

/** Nearest-centroid classifier. */
export function centroidModel(train: ImageSet): TrainedModel {
  const sums = new Float64Array(7840);
  const counts = new Float64Array(10);
  for (let i = 0; i < train.count; i++) {
    const c = train.labels[i];
    counts[c]++;
    for (let p = 0; p < 784; p++) sums[c * 784 + p] += train.images[i * 784 + p];
  }
  for (let c = 0; c < 10; c++) for (let p = 0; p < 784; p++) sums[c * 784 + p] /= counts[c] || 1;
  const predict = (images: Uint8Array, count: number) => {
    const out = new Float32Array(count * 10);
    for (let i = 0; i < count; i++) {
      let best = 0, bestD = Infinity;
      for (let c = 0; c < 10; c++) {
        let d = 0;
        for (let p = 0; p < 784; p++) {
          const x = images[i * 784 + p] - sums[c * 784 + p];
          d += x * x;
        }
        if (d < bestD) [best, bestD] = [c, d];
      }
      out[i * 10 + best] = 1;
    }
    return Promise.resolve(out);
  };
  return { name: "nearest centroid", predict, history: [], config: {} };
}
`;

/** A good task module: imports the helper beside it and trains a nearest-centroid `main`. */
export const CENTROID_TASK = `import type { TaskInput, TaskOutput } from "@notmnist/lab";
import { centroidModel } from "./centroid.ts";

export function train(input: TaskInput): Promise<TaskOutput> {
  return Promise.resolve({ models: { main: centroidModel(input.train) } });
}
`;

/** A task module whose `train` has this body. */
export function module(body: string): string {
  return `import type { TaskInput, TaskOutput } from "@notmnist/lab";\n\n` +
    `export async function train(_input: TaskInput): Promise<TaskOutput> {\n${body}\n}\n`;
}

/** Writes the class into `dir`. */
export async function writeClass(dir: string, allSkeletons = false): Promise<void> {
  const put = async (path: string, text: string) => {
    await Deno.mkdir(join(dir, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, path), text);
  };
  // alice: good (task 1 and task 4, a local helper module; with allSkeletons, tasks 2 and 3
  // are the skeletons, so two students train networks).
  await put("alice/centroid.ts", CENTROID_HELPER);
  await put("alice/task1.ts", CENTROID_TASK);
  await put("alice/task4.ts", CENTROID_TASK);
  if (allSkeletons) {
    const mine = await initSubmission(join(dir, "alice-skeletons"));
    await Deno.rename(mine[1], join(dir, "alice/task2.ts"));
    await Deno.rename(mine[2], join(dir, "alice/task3.ts"));
    await Deno.remove(join(dir, "alice-skeletons"), { recursive: true });
  }
  // bob: broken (a syntax error, an exception).
  await put("bob/task1.ts", "export function train( {\n");
  await put("bob/task2.ts", module(`  await Promise.resolve();\n  throw new Error("oops");`));
  // carol: hostile (network, FFI, a symlink to alice's work, an import of alice's helper).
  await put(
    "carol/task1.ts",
    module(`  await fetch("https://example.com/answers.json");\n  throw new Error("unreachable");`),
  );
  await put(
    "carol/task2.ts",
    module(
      `  await Promise.resolve();\n  Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } });\n` +
        `  throw new Error("unreachable");`,
    ),
  );
  await Deno.symlink(join(dir, "alice/task1.ts"), join(dir, "carol/task3.ts"));
  await put(
    "carol/task4.ts",
    `import type { TaskInput, TaskOutput } from "@notmnist/lab";\n` +
      `import { centroidModel } from ${
        JSON.stringify(pathToFileURL(join(dir, "alice/centroid.ts")).href)
      };\n` +
      `export function train(input: TaskInput): Promise<TaskOutput> {\n` +
      `  return Promise.resolve({ models: { main: centroidModel(input.train) } });\n}\n`,
  );
  // dave: the init-submission skeletons (task 1 only unless allSkeletons, to keep the test short).
  const skeletons = await initSubmission(join(dir, "dave"));
  if (!allSkeletons) { for (const f of skeletons.slice(1)) await Deno.remove(f); }
  // erin: a process that exits mid-training, and NaN predictions.
  await put("erin/task1.ts", module(`  await Promise.resolve();\n  Deno.exit(3);`));
  await put(
    "erin/task4.ts",
    module(
      `  const predict = (_i: Uint8Array, n: number) => Promise.resolve(new Float32Array(n * 10).fill(NaN));\n` +
        `  await Promise.resolve();\n` +
        `  return { models: { main: { name: "nan", predict, history: [], config: {} } } };`,
    ),
  );
  // not students: a file and a folder with a name the gradebook refuses.
  await Deno.writeTextFile(join(dir, "README.txt"), "class of 2026\n");
  await Deno.mkdir(join(dir, "bad name"));
}

if (import.meta.main) {
  await writeClass(Deno.args[0], Deno.args.includes("--all-skeletons"));
  console.log(`wrote the class into ${Deno.args[0]}`);
}

/** A module-level comment and re-indentation of {@link CENTROID_TASK}: the same code. */
export const CENTROID_TASK_REFORMATTED = "// my own work, honest\n" +
  CENTROID_TASK.replace("export function train", "/* the entry point */\nexport  function train")
    .replace(/\n {2}/g, "\n    ");

/**
 * A class for the teacher's flags (issue 22): alice (good), frank (alice's
 * files byte for byte), gina (alice's task 1 re-commented and re-indented),
 * hank (task 4 imports `../alice/task4.ts`), ivan (a type error that runs),
 * jill (predictions seeded from the clock).
 */
export async function writeFlagClass(dir: string): Promise<void> {
  const put = async (path: string, text: string) => {
    await Deno.mkdir(join(dir, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, path), text);
  };
  for (const s of ["alice", "frank"]) {
    await put(`${s}/centroid.ts`, CENTROID_HELPER);
    await put(`${s}/task1.ts`, CENTROID_TASK);
    await put(`${s}/task4.ts`, CENTROID_TASK);
  }
  await put("gina/centroid.ts", CENTROID_HELPER);
  await put("gina/task1.ts", CENTROID_TASK_REFORMATTED);
  await put(
    "hank/task4.ts",
    `export { train } from "../alice/task4.ts";\n`,
  );
  await put("ivan/centroid.ts", CENTROID_HELPER);
  await put("ivan/task1.ts", CENTROID_TASK + `\nexport const INITIAL_RATE: number = "0.2";\n`);
  await put(
    "jill/task1.ts",
    module(
      `  await Promise.resolve();\n` +
        `  const seed = Date.now() + Math.random();\n` +
        `  const predict = (_i: Uint8Array, n: number) => {\n` +
        `    const out = new Float32Array(n * 10);\n` +
        `    for (let k = 0; k < n; k++) out[k * 10 + (k % 10)] = 1 + ((seed * (k + 1)) % 1);\n` +
        `    return Promise.resolve(out);\n  };\n` +
        `  return { models: { main: { name: "clock", predict, history: [], config: {} } } };`,
    ),
  );
}
