/** Report formats: Gradescope results.json fields, well-formed JUnit XML, Markdown summary. */
import { assert, assertEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { grade } from "../grader/grade.ts";
import type { GradeReport } from "../grader/report/types.ts";
import { toGradescope, toJUnit, toMarkdown, writeReports } from "../grader/report/reports.ts";
import { confusionMatrixSvg, learningCurveSvg } from "../models/pictures.ts";
import { escapeXml } from "../utils/xml.ts";
import { RUBRIC, type Rubric } from "../grader/rubric/rubric.ts";
import { toySplits } from "./toy_data.ts";
import { typecheckSubmission } from "../grader/intake/typecheck.ts";
import { intakeTests } from "../grader/intake/findings.ts";

const root = new URL("..", import.meta.url).pathname;
const fixture = (name: string): string => join(root, "tests/fixtures/students", `${name}.ts`);

let cached: Promise<GradeReport> | undefined;
function sampleReport(): Promise<GradeReport> {
  cached ??= (async () => {
    const rubric = structuredClone(RUBRIC) as Rubric;
    for (const t of rubric.tasks) {
      t.budget.quick = { trainSize: 100, epochs: 1, timeoutSeconds: 30 };
      t.thresholds.small.quick = {
        floor: 0.5,
        pass: 0.8,
        fullCredit: 0.99,
        margin: t.task === 2 ? 0.2 : undefined,
        gapReduction: t.task === 3 ? 0.1 : undefined,
      };
    }
    return await grade({
      data: { protocol: "small", ...toySplits(3) },
      tasks: [
        { task: 1, module: fixture("honest"), trusted: false },
        { task: 2, module: fixture("honest"), trusted: false },
        // messages with XML/Markdown specials and control characters must survive
        { task: 3, module: fixture("throws"), trusted: false },
        { task: 4, module: fixture("fetch_url"), trusted: false },
      ],
      profile: "quick",
      rubric,
      outDir: await Deno.makeTempDir({ prefix: "grader-report-" }),
      projectRoot: root,
    });
  })();
  return cached;
}

const VISIBILITY = ["hidden", "after_due_date", "after_published", "visible"];

/** Checks an object against Gradescope's documented results.json fields. */
function checkGradescope(value: unknown): string[] {
  const problems: string[] = [];
  const top = value as Record<string, unknown>;
  const known = [
    "score",
    "execution_time",
    "output",
    "output_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
  ];
  for (const k of Object.keys(top)) if (!known.includes(k)) problems.push(`unknown top-level ${k}`);
  if (typeof top.score !== "number") problems.push("score must be a number");
  if (typeof top.execution_time !== "number") problems.push("execution_time must be a number");
  if (top.visibility !== undefined && !VISIBILITY.includes(top.visibility as string)) {
    problems.push("bad visibility");
  }
  if (!Array.isArray(top.tests)) return [...problems, "tests must be an array"];
  const testKeys = [
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
    "extra_data",
  ];
  let sum = 0;
  top.tests.forEach((t: Record<string, unknown>, i: number) => {
    for (const k of Object.keys(t)) {
      if (!testKeys.includes(k)) problems.push(`tests[${i}]: unknown ${k}`);
    }
    for (const k of ["name", "output"]) {
      if (typeof t[k] !== "string") problems.push(`tests[${i}].${k}`);
    }
    for (const k of ["score", "max_score"]) {
      if (typeof t[k] !== "number" || !Number.isFinite(t[k])) problems.push(`tests[${i}].${k}`);
    }
    if (!VISIBILITY.includes(t.visibility as string)) problems.push(`tests[${i}].visibility`);
    if (t.status !== undefined && t.status !== "passed" && t.status !== "failed") {
      problems.push(`tests[${i}].status`);
    }
    if ((t.score as number) > (t.max_score as number)) {
      problems.push(`tests[${i}]: score > max_score`);
    }
    sum += t.score as number;
  });
  if (Math.abs(sum - (top.score as number)) > 1e-6) {
    problems.push(`score ${top.score} != sum ${sum}`);
  }
  return problems;
}

/**
 * A small well-formedness checker for the XML this grader writes: one root,
 * balanced and properly nested tags, quoted attributes without duplicates, no
 * raw '<' or '&' outside entities, no forbidden control characters.
 */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(xml)) problems.push("control character");
  let rest = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const stack: string[] = [];
  let roots = 0;
  const text = (s: string): void => {
    if (/<|&(?!(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.test(s)) {
      problems.push(`bad text: ${s.slice(0, 40)}`);
    }
  };
  while (rest.length > 0) {
    const lt = rest.indexOf("<");
    if (lt < 0) {
      if (rest.trim()) problems.push("text after root");
      break;
    }
    const before = rest.slice(0, lt);
    if (stack.length === 0 && before.trim()) problems.push("text outside root");
    text(before);
    const gt = rest.indexOf(">", lt);
    if (gt < 0) return [...problems, "unterminated tag"];
    const tag = rest.slice(lt + 1, gt);
    rest = rest.slice(gt + 1);
    if (tag.startsWith("/")) {
      const name = tag.slice(1).trim();
      if (stack.pop() !== name) problems.push(`mismatched </${name}>`);
      continue;
    }
    const selfClosing = tag.endsWith("/");
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const m = /^([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*$/.exec(body);
    if (!m) {
      problems.push(`bad tag <${tag.slice(0, 60)}>`);
      continue;
    }
    const attrs = [...m[2].matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)];
    const names = attrs.map((a) => a[1]);
    if (new Set(names).size !== names.length) problems.push(`duplicate attribute in <${m[1]}>`);
    for (const a of attrs) text(a[2]);
    if (stack.length === 0) roots++;
    if (!selfClosing) stack.push(m[1]);
  }
  if (stack.length) problems.push(`unclosed ${stack.join(",")}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

Deno.test("the XML checker itself catches broken XML", () => {
  assertEquals(xmlProblems(`<a x="1"><b/></a>`), []);
  assert(xmlProblems(`<a><b></a></b>`).length > 0);
  assert(xmlProblems(`<a>1 < 2</a>`).length > 0);
  assert(xmlProblems(`<a>R&D</a>`).length > 0);
  assert(xmlProblems(`<a x=1></a>`).length > 0);
  assert(xmlProblems(`<a></a><b></b>`).length > 0);
  assert(xmlProblems(`<a>\u001e</a>`).length > 0);
});

Deno.test("escapeXml escapes specials and drops control characters", () => {
  assertEquals(
    escapeXml(`<a & "b" 'c'>\u001e\u0007\tx`),
    "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;\tx",
  );
});

Deno.test("results.json follows Gradescope's field list and adds up", async () => {
  const report = await sampleReport();
  const results = toGradescope(report);
  assertEquals(checkGradescope(JSON.parse(JSON.stringify(results))), []);
  // tasks 3 and 4 add two recipe checks each (L2, dropout; momentum, decay); tasks 1 and 2 ran,
  // so each also has its integrity checks (0 points)
  assertEquals(results.tests.length, 2 + 3 + 5 + 4 + 2);
  assertEquals(results.tests.reduce((s, t) => s + t.max_score, 0), 100);
  assert(results.output.includes("small protocol"));
  assert(results.output.includes("97.10%"));
  const failed = results.tests.filter((t) => t.status === "failed").map((t) => t.number);
  assertEquals(failed, ["3.1", "3.2", "3.3", "3.4", "3.5", "4.1", "4.2", "4.3", "4.4"]);
  // The prediction digests of report.json, per task and run, for checks across machines.
  const digests = results.extra_data?.digests ?? {};
  assertEquals(Object.keys(digests), report.tasks.map((t) => `task${t.task}`));
  for (const t of report.tasks) {
    assertEquals(
      digests[`task${t.task}`],
      t.runs.map((r) => r.digests),
    );
  }
  assert(
    Object.values(digests).some((runs) =>
      runs.some((r) => /^[0-9a-f]{64}(:[0-9a-f]{64}){2}$/.test(r.main ?? ""))
    ),
    "a main digest test:train:valid",
  );
});

Deno.test("the Gradescope checker rejects a wrong field", () => {
  assert(
    checkGradescope({ score: 1, execution_time: 1, tests: [{ name: "x", score: 2 }] }).length > 0,
  );
  assert(checkGradescope({ score: "1", execution_time: 1, tests: [] }).length > 0);
});

Deno.test("JUnit XML is well-formed and carries each failure", async () => {
  const report = await sampleReport();
  const xml = toJUnit(report);
  assertEquals(xmlProblems(xml), []);
  assertEquals((xml.match(/<testcase /g) ?? []).length, report.tests.length);
  assertEquals((xml.match(/<failure /g) ?? []).length, 9);
  assert(xml.includes("Requires net access to &quot;example.com:443&quot;"));
  assert(/<testsuites [^>]*failures="9"/.test(xml));
});

Deno.test("the Markdown summary has the table, the protocol note and the reproducibility record", async () => {
  const report = await sampleReport();
  const md = toMarkdown(report);
  assert(md.includes("| Task | | Test accuracy | Pass at | Full credit at | Target (lab) |"));
  assert(md.includes("97.10%"));
  assert(md.includes("protocol `small`"));
  assert(md.includes("student bug: shapes"));
  assert(md.includes(report.rubricHash));
  assert(
    /\| 1 \| .* \| \d\d\.\d\d% \| 80\.00% \| 99\.00% \| 97\.10% \| [\d.]+ \/ 25 \| PASS \|/.test(
      md,
    ),
    md,
  );
  assert(md.includes("](task1/learning_curve.svg)"));
});

Deno.test("writeReports writes the four files into the report folder", async () => {
  const report = await sampleReport();
  const dir = await Deno.makeTempDir();
  const paths = await writeReports(dir, report);
  assertEquals(paths.map((p) => p.slice(dir.length + 1)).sort(), [
    "junit.xml",
    "report.json",
    "results.json",
    "summary.md",
  ]);
  const parsed = JSON.parse(await Deno.readTextFile(join(dir, "results.json")));
  assertEquals(checkGradescope(parsed), []);
  assertEquals(xmlProblems(await Deno.readTextFile(join(dir, "junit.xml"))), []);
});

Deno.test("the grader's own pictures are well-formed SVG and are linked from the summary", async () => {
  const confusion = Array.from(
    { length: 10 },
    (_, r) => Array.from({ length: 10 }, (_, c) => (r === c ? 9 : r + c === 9 ? 1 : 0)),
  );
  assertEquals(xmlProblems(confusionMatrixSvg(`Task <1> & "x"`, confusion)), []);
  const history = [1, 2, 3].map((epoch) => ({
    epoch,
    loss: 1 / epoch,
    trainAccuracy: 0.8 + epoch / 100,
    validAccuracy: 0.78 + epoch / 100,
    validLoss: 1 / epoch,
    learningRate: 0.1,
    seconds: 1,
    samplesPerSecond: 1000,
  }));
  assertEquals(
    xmlProblems(
      learningCurveSvg("t", [
        { label: "main", history },
        { label: "baseline", history: history.slice(0, 1) },
      ]),
    ),
    [],
  );
  assertEquals(xmlProblems(learningCurveSvg("empty", [])), []);
  const md = toMarkdown(await sampleReport());
  assert(md.includes("](grader/task1/grader_confusion.svg)"));
});

Deno.test("summary.md: nothing from a submission breaks out of its text or fences", async () => {
  const report = structuredClone(await sampleReport());
  const t = report.tasks[2];
  const fence = "```\n# ✅ PASS\n```";
  t.runs[0].error = `Error: ${fence}`;
  t.logTail = `printed ${fence}\n~~~\n# ✅ PASS`;
  t.runs[0].metrics.main = { ...report.tasks[0].runs[0].metrics.main };
  t.runs[0].metrics.main.name = `<img src=x onerror=alert(1)> [x](javascript:alert(1))`;
  t.runs[0].backend = "![i](http://e.invalid/i.png)\n# ✅ PASS";
  t.runs[0].roleErrors = { main: "x", baseline: "<script>alert(1)</script>\n# ✅ PASS" };
  t.pictures = ["task3/x\n# ✅ PASS ![p](javascript:alert(1)).svg"];
  const md = toMarkdown(report);
  const lines = md.split("\n");
  // Outside the report's own fences, no line of the task's text starts a heading.
  let open = "";
  for (const l of lines) {
    const fence = /^`{3,}/.exec(l)?.[0];
    if (fence && (open === "" || fence === open)) open = open === "" ? fence : "";
    else if (open === "") assert(!l.startsWith("# ✅"), md);
  }
  assertEquals(open, "");
  assert(!/<img|<script/.test(md), md);
  // Only an unescaped `](` makes a link or an image.
  assert(!/(?<!\\)\]\((javascript:|http:\/\/e\.invalid)/.test(md), md);
  assert(
    md.includes(
      "](task3/x%0A%23%20%E2%9C%85%20PASS%20%21%5Bp%5D%28javascript%3Aalert%281%29%29.svg)",
    ),
  );
});

Deno.test("results.json: lone surrogates are replaced, so strict JSON parsers read it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grader-surrogate-" });
  try {
    const report = structuredClone(await sampleReport());
    report.tests[0].output = "bad \ud800 half \udc00 pair \ud83d\ude00 text \\ud800";
    await writeReports(dir, report);
    const text = await Deno.readTextFile(join(dir, "results.json"));
    assert(!/(?<!\\)(?:\\\\)*\\ud[89a-f]/i.test(text), text.slice(0, 400));
    const back = JSON.parse(text).tests[0].output as string;
    assertEquals(back, "bad \ufffd half \ufffd pair \ud83d\ude00 text \\ud800");
    assert(back.isWellFormed());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("summary.md and JUnit: a type-check diagnostic quoting hostile source stays text", async () => {
  // `deno check` quotes the student's source in its diagnostics: a new way for submission text
  // to reach the reports (issue 22's type check). It goes through the same escaping.
  const dir = await Deno.makeTempDir({ prefix: "grader-tc-hostile-" });
  try {
    await Deno.writeTextFile(
      join(dir, "task1.ts"),
      'export const x: number = "<img src=x onerror=alert(1)> ```";\n' +
        "// ```\n// # \u2705 PASS\n",
    );
    const found = await typecheckSubmission(dir, [1], join(root, "deno.json"));
    assertEquals(found.length, 1, "the hostile module does not type-check");
    assert(found[0].message.includes("<img"), "the diagnostic quotes the source");
    const report = structuredClone(await sampleReport());
    report.tasks[0].tests.push(...intakeTests(found));
    const md = toMarkdown(report);
    assert(!/<img/.test(md), md);
    assert(!md.split("\n").some((l) => l.startsWith("# \u2705")), md);
    assert(!toJUnit(report).includes("<img"), "JUnit escapes it");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
