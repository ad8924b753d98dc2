/**
 * The GitHub Classroom workflow template parses, and every grading command in
 * it is one the grader's argument parser accepts (quick profile, the student's
 * taskN.ts), with the rubric's points and a time limit above the profile's.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { parseYaml } from "../deps/yaml.ts";
import { parseGradeArgs } from "../grader/args.ts";
import { RUBRIC, TASK_NUMBERS, taskPoints, taskRubric } from "../grader/rubric/rubric.ts";
import { DENO_VERSION } from "../grader/gradescope/pack.ts";

const root = new URL("..", import.meta.url).pathname;

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string | number>;
  env?: Record<string, string>;
}

Deno.test("templates/classroom.yml runs commands the grader accepts, one test per task", async () => {
  const doc = parseYaml(await Deno.readTextFile(join(root, "templates/classroom.yml"))) as {
    on: string[];
    jobs: Record<string, { steps: Step[]; env: Record<string, string> }>;
  };
  assert(doc.on.includes("push"));
  const job = Object.values(doc.jobs)[0];
  const steps = job.steps;
  assert(steps.some((s) => s.run === `npm install --global deno@${DENO_VERSION}`));
  const graders = steps.filter((s) =>
    s.uses?.startsWith("classroom-resources/autograding-command-grader@")
  );
  assertEquals(graders.map((s) => s.id), TASK_NUMBERS.map((t) => `task${t}`));
  let total = 0;
  for (const [i, step] of graders.entries()) {
    const task = TASK_NUMBERS[i];
    const command = String(step.with?.command);
    const m = /^cd lab && deno task grade (.*)$/.exec(command);
    assert(m, command);
    assert(!/["'`$\\]/.test(m[1]), `no shell quoting in: ${m[1]}`);
    const args = parseGradeArgs(m[1].split(/\s+/), "/ws/lab");
    assert(args !== "help");
    assertEquals(args.profile, "quick");
    assert(args.studentMode);
    assertEquals(args.tasks, [{ task, module: `/ws/submission/task${task}.ts`, trusted: false }]);
    assertEquals(args.out, `/ws/out/task${task}`);
    assert(String(step.with?.["test-name"]).startsWith(`Task ${task}:`));
    const points = Number(step.with?.["max-score"]);
    assertEquals(points, taskPoints(taskRubric(task, RUBRIC)));
    total += points;
    const minutes = Number(step.with?.timeout);
    assert(
      minutes * 60 > taskRubric(task, RUBRIC).budget.quick.timeoutSeconds,
      `timeout ${minutes}`,
    );
  }
  assertEquals(total, 100);
  const reporter = steps.find((s) =>
    s.uses?.startsWith("classroom-resources/autograding-grader-reporter@")
  );
  assert(reporter);
  assertEquals(reporter.with?.runners, graders.map((s) => s.id).join(","));
  for (const s of graders) {
    assertEquals(
      reporter.env?.[`${s.id!.toUpperCase()}_RESULTS`],
      `\${{ steps.${s.id}.outputs.result }}`,
    );
  }
  assert(job.env.NOTMNIST_DIR.length > 0);
});
