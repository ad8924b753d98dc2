/**
 * The teacher's batch grader end to end: a five-student class (a good one, a
 * broken one, a hostile one, the skeletons, one that crashes) on a toy
 * archive, graded by the CLI, interrupted after the first student and resumed;
 * plus the gradebook's pure parts.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "../deps/assert.ts";
import { join } from "node:path";
import { gradeClass, STUDENT_NAME } from "../grader/class/grade_class.ts";
import { StudentNameClashError } from "../grader/class/student_names.ts";
import {
  classMarkdown,
  GRADEBOOK_COLUMNS,
  gradebookCsv,
  type GradebookRow,
} from "../grader/class/gradebook.ts";
import { stageSubmission, SUBMISSION_LIMITS } from "../grader/intake/stage.ts";
import { parseClassArgs, planJobs, progressLine } from "../grader/class/cli.ts";
import { grade } from "../grader/grade.ts";
import { scoreHistogramSvg } from "../models/pictures.ts";
import { loadGradeData } from "../grader/grade_data.ts";
import { writeToyArchive } from "./toy_archive.ts";
import { CENTROID_HELPER, CENTROID_TASK, writeClass, writeFlagClass } from "./class_fixture.ts";

const root = new URL("..", import.meta.url).pathname;

/** Splits one CSV line, honouring quoted cells ("a, b" and doubled quotes). */
function csvCells(line: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      cells.push(cell);
      cell = "";
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

function parseCsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split("\n");
  const cols = csvCells(head);
  return lines.map((l) => {
    const cells = csvCells(l);
    assertEquals(cells.length, cols.length, l);
    return Object.fromEntries(cells.map((v, i) => [cols[i], v]));
  });
}

function cli(args: string[], tmp: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-net",
      "--allow-ffi",
      "--allow-sys",
      "--allow-run",
      join(root, "grader/class/cli.ts"),
      ...args,
    ],
    cwd: root,
    // The run that is killed cannot remove its temp folders: keep them inside the test's folder.
    env: { TMPDIR: tmp },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function finish(p: Deno.ChildProcess): Promise<{ code: number; text: string }> {
  const out = await p.output();
  const d = new TextDecoder();
  return { code: out.code, text: d.decode(out.stdout) + d.decode(out.stderr) };
}

Deno.test("grade-class grades five students, survives hostile ones, and resumes after a kill", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nm-class-" });
  try {
    const data = join(dir, "data");
    await writeToyArchive(data, 40);
    const classDir = join(dir, "class");
    await writeClass(classDir);
    const out = join(dir, "out");
    const tmp = join(dir, "tmp");
    await Deno.mkdir(tmp);
    const common = [
      classDir,
      "--out",
      out,
      "--profile",
      "quick",
      "--epochs",
      "1",
      "--data-dir",
      data,
      "--cache-dir",
      join(dir, "cache"),
      "--timeout-scale",
      "0.2",
      "--no-typecheck",
    ];

    // Run 1, one job: killed as soon as the first student's row is written.
    const first = cli([...common, "--jobs", "1"], tmp);
    const row = join(out, "alice", "gradebook_row.json");
    for (let i = 0; i < 1200; i++) {
      if (await Deno.stat(row).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    first.kill("SIGKILL");
    const killed = await finish(first);
    assert(killed.code !== 0, killed.text);
    const partial = parseCsv(await Deno.readTextFile(join(out, "gradebook.csv")));
    assert(partial.length >= 1 && partial.length < 5, `rows after the kill: ${partial.length}`);
    assertEquals(partial[0].student, "alice");

    // Run 2, two jobs: alice is skipped, the others are graded; one bad student never stops it.
    const second = await finish(cli([...common, "--jobs", "2"], tmp));
    assertEquals(second.code, 0, second.text);
    assert(/\] alice: .*unchanged: skipped/.test(second.text), second.text);
    // A folder whose name is not a safe one is graded under a safe name, never dropped.
    assert(/folder "bad name" graded as bad_name-[0-9a-f]{8} /.test(second.text), second.text);
    const rows = parseCsv(await Deno.readTextFile(join(out, "gradebook.csv")));
    const bad = rows.find((r) => r.folder === "bad name")?.student ?? "";
    assert(/^bad_name-[0-9a-f]{8}$/.test(bad), bad);
    assertEquals(rows.map((r) => r.student), ["alice", bad, "bob", "carol", "dave", "erin"]);
    const by = Object.fromEntries(rows.map((r) => [r.student, r]));
    assertEquals(
      [by.alice.task1_status, by.alice.task2_status, by.alice.task4_status],
      // task 4 misses its recipe checks (a nearest-centroid model records no momentum or decay)
      ["pass", "missing", "below threshold"],
    );
    // alice's task 4 is a nearest-centroid model: no optimizer or schedule for the recipe checks
    assertEquals(by.alice.total, "40.00");
    assertEquals(by.alice.max_total, "100");
    assertEquals([by.bob.task1_status, by.bob.task2_status], [
      "failed: import",
      "failed: exception",
    ]);
    assertEquals(
      [by.carol.task1_status, by.carol.task2_status, by.carol.task3_status, by.carol.task4_status],
      ["failed: permission", "failed: permission", "missing", "failed: forbidden-import"],
    );
    assert(["pass", "below threshold"].includes(by.dave.task1_status), by.dave.task1_status);
    // Deno.exit() inside the sandbox's Worker is reported as an exception, not left to the time limit.
    assertEquals([by.erin.task1_status, by.erin.task4_status], [
      "failed: exception",
      "failed: nan",
    ]);
    for (const r of rows) assert(/^[0-9a-f]{64}$/.test(r.submission_sha256), r.student);
    assert(by.dave.backend.length > 0);
    for (const s of ["alice", "bob", "carol", "dave", "erin"]) {
      for (const f of ["results.json", "junit.xml", "summary.md", "report.json"]) {
        assert((await Deno.stat(join(out, s, f))).size > 0, `${s}/${f}`);
      }
    }
    assert((await Deno.stat(join(out, "alice", "grader", "task1", "grader_confusion.svg"))).isFile);
    const md = await Deno.readTextFile(join(out, "class.md"));
    assert(md.includes("![score distribution](class_scores.svg)"), md);
    assert(md.includes("| Task 1: runs and returns valid predictions | 3 |"), md);
    assert((await Deno.readTextFile(join(out, "class_scores.svg"))).startsWith("<svg"));

    // Run 3: nothing changed, everyone skipped; then one edit regrades that student only.
    const third = await finish(cli([...common, "--jobs", "2"], tmp));
    assert(third.text.includes("0 graded, 6 unchanged (skipped)"), third.text);
    await Deno.writeTextFile(
      join(classDir, "bob", "task1.ts"),
      CENTROID_TASK.replace("./centroid.ts", "./c.ts"),
    );
    await Deno.writeTextFile(join(classDir, "bob", "c.ts"), CENTROID_HELPER);
    const fourth = await finish(cli([...common, "--jobs", "2"], tmp));
    assert(fourth.text.includes("1 graded, 5 unchanged (skipped)"), fourth.text);
    const after = parseCsv(await Deno.readTextFile(join(out, "gradebook.csv")));
    assertEquals(after.find((r) => r.student === "bob")?.task1_status, "pass");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a grader-side failure for one student is recorded and retried, the batch goes on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nm-class-err-" });
  try {
    const data = join(dir, "data");
    await writeToyArchive(data, 20);
    const loaded = await loadGradeData({ dataDir: data, cacheDir: join(dir, "cache") });
    for (const s of ["ann", "ben"]) {
      await Deno.mkdir(join(dir, "class", s), { recursive: true });
      await Deno.writeTextFile(join(dir, "class", s, "notes.txt"), s);
    }
    let calls = 0;
    const opts = {
      classDir: join(dir, "class"),
      outDir: join(dir, "out"),
      jobs: 2,
      profile: "quick" as const,
      data: loaded.data,
      dataSha256: loaded.dataSha256,
      projectRoot: root,
    };
    const first = await gradeClass({
      ...opts,
      gradeFn: (o) => {
        calls++;
        if (o.outDir.endsWith("ann")) throw new Error("disk full");
        return grade(o);
      },
    });
    assertEquals(calls, 2);
    assertEquals(first.rows.map((r) => [r.student, r.error]), [["ann", "disk full"], [
      "ben",
      undefined,
    ]]);
    const csv = await Deno.readTextFile(join(dir, "out", "gradebook.csv"));
    assert(csv.includes("error: disk full"), csv);
    const second = await gradeClass(opts);
    assertEquals([second.graded, second.skipped], [["ann"], ["ben"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("staging copies regular files only, within limits, and hashes the copy", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nm-stage-" });
  try {
    const src = join(dir, "src");
    await Deno.mkdir(join(src, "lib"), { recursive: true });
    await Deno.writeTextFile(join(src, "task2.ts"), "export {};\n");
    await Deno.writeTextFile(join(src, "lib", "util.ts"), "export const x = 1;\n");
    await Deno.writeTextFile(join(src, ".hidden"), "secret");
    await Deno.symlink("/etc/passwd", join(src, "task1.ts"));
    const a = await stageSubmission(src, join(dir, "a"));
    assertEquals(a.files, ["lib/util.ts", "task2.ts"]);
    assertEquals(a.tasks, [2]);
    assert(a.skipped[0].startsWith("task1.ts: symbolic link"));
    const b = await stageSubmission(src, join(dir, "b"));
    assertEquals(b.sha256, a.sha256);
    await Deno.writeTextFile(join(src, "lib", "util.ts"), "export const x = 2;\n");
    assert((await stageSubmission(src, join(dir, "c"))).sha256 !== a.sha256);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("staging bounds a hostile folder: file count, total size, depth", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nm-stage-limits-" });
  try {
    const src = join(dir, "src");
    await Deno.mkdir(join(src, "a/b/c/d/e/f"), { recursive: true });
    await Deno.writeTextFile(join(src, "a/b/c/d/e/f/deep.ts"), "export {};\n");
    await Deno.writeFile(join(src, "big.bin"), new Uint8Array(SUBMISSION_LIMITS.bytes + 1));
    for (let i = 0; i < SUBMISSION_LIMITS.files + 5; i++) {
      await Deno.writeTextFile(join(src, `f${String(i).padStart(3, "0")}.ts`), `// ${i}\n`);
    }
    const staged = await stageSubmission(src, join(dir, "copy"));
    assertEquals(staged.files.length, SUBMISSION_LIMITS.files);
    assert(staged.skipped.some((s) => /^big\.bin: over the \d+-byte submission limit/.test(s)));
    assert(staged.skipped.some((s) => /^a\/b\/c\/d\/e: deeper than the limit/.test(s)));
    assertEquals(staged.skipped.filter((s) => s.includes("more than")).length, 5);
    let copied = 0;
    for await (const _ of Deno.readDir(join(dir, "copy"))) copied++;
    assertEquals(copied, SUBMISSION_LIMITS.files);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gradebook CSV, class report, job plan, progress and argument errors", () => {
  const row: GradebookRow = {
    student: "=cmd",
    points: { 1: 25, 2: 0, 3: 12.5, 4: 0 },
    status: { 1: "pass", 2: "failed: timeout", 3: "below threshold", 4: "missing" },
    total: 37.5,
    maxTotal: 100,
    wallSeconds: 12.34,
    backend: "wasm",
    numericsFingerprint: "",
    submissionSha256: "ab".repeat(32),
    rubricSha256: "r",
    settingsSha256: "s",
    dataSha256: "d",
    failedChecks: ["Task 2: runs and returns valid predictions", "Task 3: test accuracy (main)"],
    gradedAt: "2026-01-01T00:00:00Z",
  };
  const csv = gradebookCsv([row]).trim().split("\n");
  assertEquals(
    csv[0],
    "student,task1_points,task2_points,task3_points,task4_points,total,max_total," +
      "task1_status,task2_status,task3_status,task4_status,wall_seconds,backend," +
      "numerics_id,submission_sha256,folder,similar_to,nondeterministic",
  );
  assertEquals(
    csv[1],
    `'=cmd,25.00,0.00,12.50,0.00,37.50,100,pass,failed: timeout,below threshold,missing,12.3,wasm,,${
      "ab".repeat(32)
    },,,`,
  );
  const long = "reproducible; ".repeat(30);
  const twin = { ...row, student: "twin", numericsFingerprint: long };
  const withPrint = gradebookCsv([{ ...row, numericsFingerprint: long }, twin]);
  assert(!withPrint.includes(long), "the CSV carries a short id, not the fingerprint");
  assert(/,[0-9a-f]{8},/.test(withPrint), withPrint);
  const twinMd = classMarkdown([{ ...row, numericsFingerprint: long }, twin], "h.svg", 5);
  assertEquals(twinMd.split(long.trim()).length, 2, "the full fingerprint once in class.md");
  assert(twinMd.includes("5 students; 2 graded, 3 not reached"), twinMd);
  const md = classMarkdown([row], "h.svg");
  assert(md.includes("| Task 3: test accuracy (main) | 1 |"));
  assert(md.includes("| failed: timeout | 1 |"));
  const svg = scoreHistogramSvg([0, 49, 50, 100, NaN], 100, "scores", 2);
  assert(svg.includes("4 scores in 2 bins of 50.0 points; 1 missing"), svg);
  assertEquals(
    [...svg.matchAll(
      /text-anchor="middle">(\d+)<\/text>\n<text x="[\d.]+" y="\d+" text-anchor="middle">\d+</g,
    )].map((m) => m[1]),
    ["2", "2"],
  );
  assertEquals(planJobs(2), { jobs: 2, blasThreads: 1, oversubscribed: false });
  assertEquals(planJobs(16, undefined, 4), { jobs: 4, blasThreads: 4, oversubscribed: false });
  assertEquals(planJobs(2, 1), { jobs: 1, blasThreads: 1, oversubscribed: false });
  assertEquals(planJobs(2, 3), { jobs: 3, blasThreads: 1, oversubscribed: true });
  assertEquals(planJobs(2, undefined, 8), { jobs: 1, blasThreads: 8, oversubscribed: true });
  const p = { student: "x", row, skipped: false, done: 1, total: 4, graded: 1, elapsedSeconds: 10 };
  assert(progressLine(p, false).startsWith("[1/4] x: 37.50 / 100"));
  assert(progressLine(p, true).includes("ETA 0:30"));
  assertThrows(() => parseClassArgs([]), /exactly one class folder/);
  assertThrows(() => parseClassArgs(["c", "--jobs", "0"]), /--jobs expects an integer/);
  assertThrows(() => parseClassArgs(["c", "--profile", "slow"]), /--profile expects quick or full/);
  const a = parseClassArgs(["c", "--jobs", "3"], "/tmp");
  assert(a !== "help");
  assertEquals([a.classDir, a.jobs, a.profile, a.out], ["/tmp/c", 3, "full", "/tmp/out/class"]);
});

Deno.test("gradebook CSV guards formulas after a tab or `;`, class.md escapes every cell", () => {
  const base: GradebookRow = {
    student: "alice",
    points: { 1: 0, 2: 0, 3: 0, 4: 0 },
    status: { 1: "pass", 2: "pass", 3: "pass", 4: "pass" },
    total: 0,
    maxTotal: 100,
    wallSeconds: 1,
    backend: '\t=HYPERLINK("http://e.invalid")',
    numericsFingerprint: "",
    folder: "x;=1+1",
    submissionSha256: " =2+3",
    rubricSha256: "r",
    settingsSha256: "s",
    dataSha256: "d",
    failedChecks: ["<img src=x> [l](javascript:alert(1))\n# PASS"],
    gradedAt: "2026-01-01T00:00:00Z",
  };
  const cells = csvCells(gradebookCsv([base]).trim().split("\n")[1]);
  const byName = Object.fromEntries(cells.map((c, i) => [GRADEBOOK_COLUMNS[i], c]));
  assertEquals(byName.backend, '\'\t=HYPERLINK("http://e.invalid")');
  assertEquals(byName.submission_sha256, "' =2+3");
  // Quoted, so a `;`-separated reading keeps it in one cell.
  assert(gradebookCsv([base]).includes(`"x;=1+1"`));
  const md = classMarkdown([base], "h.svg");
  assert(!/<img|(?<!\\)\]\(javascript:|\n# PASS/.test(md), md);
});

Deno.test("every student folder gets a row: unsafe names graded under a safe name, escaped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nm-class-names-" });
  try {
    const data = join(dir, "data");
    await writeToyArchive(data, 20);
    const loaded = await loadGradeData({ dataDir: data, cacheDir: join(dir, "cache") });
    const folders = ["Mary Smith", "josé", "red\u001b[31m\u202eevil", "alice"];
    for (const f of folders) await Deno.mkdir(join(dir, "class", f), { recursive: true });
    await Deno.writeTextFile(join(dir, "class", "notes\u001b[2J.txt"), "x");
    const result = await gradeClass({
      classDir: join(dir, "class"),
      outDir: join(dir, "out"),
      jobs: 2,
      profile: "quick",
      data: loaded.data,
      dataSha256: loaded.dataSha256,
      projectRoot: root,
    });
    assertEquals(result.rows.length, folders.length);
    assertEquals(result.rows.map((r) => r.folder ?? r.student).sort(), [...folders].sort());
    for (const r of result.rows) {
      assert(STUDENT_NAME.test(r.student), r.student);
      assert((await Deno.stat(join(dir, "out", r.student, "summary.md"))).isFile, r.student);
    }
    const mary = result.rows.find((r) => r.folder === "Mary Smith")!;
    assert(/^Mary_Smith-[0-9a-f]{8}$/.test(mary.student), mary.student);
    assert(/^jose-[0-9a-f]{8}$/.test(result.rows.find((r) => r.folder === "josé")!.student));
    assertEquals(result.rows.find((r) => r.student === "alice")?.folder, undefined);
    assertEquals(result.ignored, ["notes\\u{1b}[2J.txt: not a folder"]);
    const csv = await Deno.readTextFile(join(dir, "out", "gradebook.csv"));
    const md = await Deno.readTextFile(join(dir, "out", "class.md"));
    for (const text of [csv, md]) {
      assert(!text.includes("\u001b") && !text.includes("\u202e"), text);
    }
    assert(csv.includes(",red\\u{1b}[31m\\u{202e}evil,"), csv);
    assert(md.includes(`(folder "Mary Smith")`), md);
    // Two folders that would share a safe name: the run refuses, naming both.
    await Deno.mkdir(join(dir, "class", mary.student));
    await assertRejects(
      () =>
        gradeClass({
          classDir: join(dir, "class"),
          outDir: join(dir, "out2"),
          jobs: 1,
          profile: "quick",
          data: loaded.data,
          dataSha256: loaded.dataSha256,
          projectRoot: root,
        }),
      StudentNameClashError,
      `"Mary Smith"`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("grade-class flags copies, a classmate's import, type errors and clock seeding; stops cleanly on SIGINT", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nm-class-flags-" });
  try {
    const data = join(dir, "data");
    await writeToyArchive(data, 40);
    const classDir = join(dir, "class");
    await writeFlagClass(classDir);
    const out = join(dir, "out");
    const tmp = join(dir, "tmp");
    await Deno.mkdir(tmp);
    const common = [
      classDir,
      "--out",
      out,
      "--profile",
      "quick",
      "--epochs",
      "1",
      "--data-dir",
      data,
      "--cache-dir",
      join(dir, "cache"),
      "--timeout-scale",
      "0.2",
      "--repeat",
      "2",
    ];

    // Run 1: Ctrl-C once the first student is written: staging folders removed, a message,
    // exit code 130, and class.md counts the students not reached.
    const first = cli([...common, "--jobs", "1", "--no-typecheck"], tmp);
    const row = join(out, "alice", "gradebook_row.json");
    for (let i = 0; i < 1200; i++) {
      if (await Deno.stat(row).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    first.kill("SIGINT");
    const stopped = await finish(first);
    assertEquals(stopped.code, 130, stopped.text);
    assert(/SIGINT: stopped after \d of 6 students/.test(stopped.text), stopped.text);
    const staged = (await Array.fromAsync(Deno.readDir(tmp))).filter((e) =>
      e.name.startsWith("notmnist-class-")
    );
    assertEquals(staged.map((e) => e.name), []);
    const partial = await Deno.readTextFile(join(out, "class.md"));
    assert(/6 students; [1-5] graded, [1-5] not reached/.test(partial), partial);

    // Run 2: everyone, two at a time, type-checked, each task twice.
    const second = await finish(cli([...common, "--jobs", "2"], tmp));
    assertEquals(second.code, 0, second.text);
    const counters = [...second.text.matchAll(/^\[(\d)\/6\]/gm)].map((m) => m[1]).sort();
    assertEquals(counters, ["1", "2", "3", "4", "5", "6"], second.text);
    const rows = parseCsv(await Deno.readTextFile(join(out, "gradebook.csv")));
    const by = Object.fromEntries(rows.map((r) => [r.student, r]));
    assertEquals(
      by.alice.similar_to,
      "task1 identical: frank; task1 near-identical: frank gina; task4 identical: frank",
    );
    assertEquals(by.gina.similar_to, "task1 near-identical: alice frank");
    assertEquals(by.ivan.similar_to, "");
    assertEquals(by.jill.nondeterministic, "task1");
    assertEquals(by.alice.nondeterministic, "");
    for (const r of rows) assert(/^([0-9a-f]{8})?$/.test(r.numerics_id), r.numerics_id);
    const md = await Deno.readTextFile(join(out, "class.md"));
    assert(md.includes("| 1 | identical | alice, frank |"), md);
    assert(md.includes("| 1 | near-identical | alice, frank, gina |"), md);
    assert(md.includes("- jill: predictions differ between repeated runs of task 1"), md);
    assert(/## Numerics fingerprints\n\n- `[0-9a-f]{8}` \(\d students\): /.test(md), md);
    assert(md.includes("6 students; 6 graded."), md);
    const hank = await Deno.readTextFile(join(out, "hank", "results.json"));
    assert(
      hank.includes(
        `imports \\"../alice/task4.ts\\", which is in another student's folder (alice)`,
      ),
      hank,
    );
    const ivan = await Deno.readTextFile(join(out, "ivan", "results.json"));
    assert(ivan.includes("Task 1: type-checks (deno check)") && ivan.includes("TS2322"), ivan);
    assertEquals(by.ivan.task1_status, "pass", "a type error is a warning by default");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
