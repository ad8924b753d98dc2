/**
 * The student's starting point: `deno task init-submission DIR` writes four
 * skeletons that type-check outside the lab's folder (with its deno.json) and
 * that the grader runs: every task returns valid predictions for every role
 * the rubric requires.
 */
import { assert, assertEquals, assertRejects } from "../deps/assert.ts";
import { join } from "node:path";
import { main as initMain } from "../grader/intake/init_submission.ts";
import { grade } from "../grader/grade.ts";
import { loadGradeData } from "../grader/grade_data.ts";
import { initSubmission } from "../grader/intake/init_submission.ts";
import { TASK_NUMBERS } from "../grader/rubric/rubric.ts";
import { writeToyArchive } from "./toy_archive.ts";

const root = new URL("..", import.meta.url).pathname;

Deno.test("init-submission writes skeletons that deno check accepts and the grader runs", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nm-skeletons-" });
  try {
    const dir = join(tmp, "me");
    assertEquals(await initMain([dir]), 0);
    const files = TASK_NUMBERS.map((t) => join(dir, `task${t}.ts`));
    for (const f of files) assert((await Deno.readTextFile(f)).includes("TODO(lab)"), f);
    await assertRejects(() => initSubmission(dir), /task1\.ts exists; pass --force/);
    assertEquals(await initMain([dir, "--force"]), 0);

    const check = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--config", join(root, "deno.json"), ...files],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(check.success, new TextDecoder().decode(check.stderr));

    await writeToyArchive(join(tmp, "data"), 30);
    const loaded = await loadGradeData({
      dataDir: join(tmp, "data"),
      cacheDir: join(tmp, "cache"),
    });
    const report = await grade({
      data: loaded.data,
      tasks: TASK_NUMBERS.map((task) => ({ task, module: files[task - 1], trusted: false })),
      profile: "quick",
      epochs: 1,
      trainSize: 100,
      outDir: join(tmp, "out"),
      projectRoot: root,
      backend: {},
      forbiddenRoots: loaded.forbiddenRoots,
    });
    for (const t of report.tasks) {
      assertEquals(t.runs[0].error, undefined, `task ${t.task}: ${t.logTail}`);
      assertEquals(t.budget.trainCount, 100);
      assertEquals(Object.keys(t.runs[0].roleErrors), []);
    }
    assertEquals(Object.keys(report.tasks[1].runs[0].metrics).sort(), ["logreg", "main"]);
    assertEquals(Object.keys(report.tasks[2].runs[0].metrics).sort(), ["baseline", "main"]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
