/**
 * Intake and class flags on their own (issue 22): imports that leave the
 * submission, type errors as findings, identical and near-identical files,
 * nondeterministic repeats.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { foreignImports, relativeSpecifiers } from "../grader/intake/foreign_imports.ts";
import { intakeTests } from "../grader/intake/findings.ts";
import { cleanDiagnostics, typecheckSubmission } from "../grader/intake/typecheck.ts";
import {
  normalizeSource,
  similarityGroups,
  similarTo,
  taskFingerprints,
} from "../grader/class/similarity.ts";
import { nondeterministicTasks } from "../grader/class/repeat_flags.ts";
import type { GradeReport } from "../grader/report/types.ts";
import { CENTROID_TASK, CENTROID_TASK_REFORMATTED } from "./class_fixture.ts";

const root = new URL("..", import.meta.url).pathname;

Deno.test("relative specifiers: static, re-export, side-effect and literal dynamic imports", () => {
  const src = `import { a } from "./a.ts";\nexport { b } from '../bob/b.ts';\n` +
    `import "./side.ts";\nconst m = await import("../x/y.ts");\nimport z from "npm:z";`;
  assertEquals(relativeSpecifiers(src), ["../bob/b.ts", "../x/y.ts", "./a.ts", "./side.ts"]);
});

Deno.test("an import of another student's folder is named, by the folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "intake-" });
  try {
    await Deno.writeTextFile(join(dir, "task4.ts"), `export { train } from "../alice/task4.ts";\n`);
    await Deno.writeTextFile(join(dir, "util.ts"), `import "../../etc/x.ts";\nimport "./ok.ts";\n`);
    const found = await foreignImports(dir, ["task4.ts", "util.ts"], [1, 4], "hank");
    assertEquals(found.map((f) => [f.task, f.kind]), [
      [4, "foreign-import"],
      [1, "foreign-import"],
      [
        4,
        "foreign-import",
      ],
    ]);
    assert(
      found[0].message.includes(
        `"../alice/task4.ts", which is in another student's folder (alice)`,
      ),
    );
    assert(found[1].message.includes("a path outside your submission folder"), found[1].message);
    const [test] = intakeTests([found[0]]);
    assert(test.required && !test.passed && test.name === "Task 4: imports only its own folder");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("type errors are a visible warning, a required failure when the rubric says so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "intake-tc-" });
  try {
    await Deno.writeTextFile(
      join(dir, "task1.ts"),
      `import type { Schedule } from "@notmnist/lab/models";\n` +
        `export const S: Schedule = { kind: "exponential", initial: "0.2", rate: 0.9 };\n`,
    );
    await Deno.writeTextFile(join(dir, "task2.ts"), `export const ok: number = 1;\n`);
    const found = await typecheckSubmission(dir, [1, 2], join(root, "deno.json"));
    assertEquals(found.map((f) => f.task), [1]);
    assert(found[0].message.includes("TS2322"), found[0].message);
    assert(found[0].message.includes("task1.ts:2:"), found[0].message);
    assert(!found[0].message.includes(dir), "paths are relative to the submission");
    const [warn] = intakeTests(found);
    assert(!warn.required && warn.output.startsWith("WARNING: "));
    assert(intakeTests(found, true)[0].required);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertEquals(
    cleanDiagnostics("\x1b[31mTS1\x1b[0m at file:///s/task1.ts:1:1\nStack backtrace:", "/s"),
    "TS1 at task1.ts:1:1",
  );
});

Deno.test("near-identical: the same code with other comments and indentation", async () => {
  assertEquals(normalizeSource(CENTROID_TASK), normalizeSource(CENTROID_TASK_REFORMATTED));
  assert(normalizeSource(`"a  b" // c`) === `"a  b"`, "string contents are kept");
  assert(normalizeSource("x = 1;") !== normalizeSource("x = 2;"));
  const dir = await Deno.makeTempDir({ prefix: "similar-" });
  try {
    const files: Record<string, string> = {
      a: CENTROID_TASK,
      b: CENTROID_TASK,
      c: CENTROID_TASK_REFORMATTED,
      d: "other",
    };
    const rows = [];
    for (const [student, text] of Object.entries(files)) {
      await Deno.mkdir(join(dir, student));
      await Deno.writeTextFile(join(dir, student, "task2.ts"), text);
      rows.push({ student, files: await taskFingerprints(join(dir, student), [2]) });
    }
    const groups = similarityGroups(rows);
    assertEquals(groups, [
      { task: 2, kind: "identical", students: ["a", "b"] },
      { task: 2, kind: "near-identical", students: ["a", "b", "c"] },
    ]);
    assertEquals(similarTo("c", groups), "task2 near-identical: a b");
    assertEquals(similarTo("d", groups), "");
    const skeleton = new Set([rows[0].files[2]!.normalizedSha256]);
    assertEquals(similarityGroups(rows, skeleton), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nondeterministic tasks: repeated runs whose predictions differ", () => {
  const report = (digests: string[]) =>
    ({
      tasks: [
        { task: 1, runs: digests.map((d) => ({ digests: { main: d } })) },
        { task: 4, runs: [{ digests: { main: "x" } }, { digests: { main: "x" } }] },
      ],
    }) as unknown as GradeReport;
  assertEquals(nondeterministicTasks(report(["a", "b"])), [1]);
  assertEquals(nondeterministicTasks(report(["a", "a"])), []);
  assertEquals(nondeterministicTasks(report(["a"])), []);
});
