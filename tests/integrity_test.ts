/**
 * The memorisation checks (issue 24): perturbed copies of the public test
 * images, the control run on relabelled classes, the hidden test set, the flag
 * in every report format, and the teacher's override; adversarial students
 * are generated from the toy data at run time (tests/fixtures/students/make_cheats.ts).
 */
import { assert, assertEquals, assertNotEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { perturbImages } from "../data/perturb.ts";
import { controlBijection, relabel } from "../grader/checks/relabel.ts";
import { scoreControl } from "../grader/checks/control.ts";
import { testBlock } from "../grader/checks/test_block.ts";
import {
  applyIntegrity,
  integrityFlags,
  integrityStatus,
  retention,
} from "../grader/rubric/integrity.ts";
import { grade, type GradeData } from "../grader/grade.ts";
import {
  type IntegrityPolicy,
  RUBRIC,
  type Rubric,
  type Thresholds,
} from "../grader/rubric/rubric.ts";
import type { GradeReport } from "../grader/report/types.ts";
import type { TestResult } from "../grader/rubric/score.ts";
import { toGradescope, toJUnit, toMarkdown } from "../grader/report/reports.ts";
import { classMarkdown, gradebookCsv, rowOf } from "../grader/class/gradebook.ts";
import type { ImageSet } from "../data/types.ts";
import { toySplits } from "./toy_data.ts";
import {
  embeddedWeightsSource,
  lookupTableSource,
  nearestNeighbourSource,
  writeCheats,
} from "./fixtures/students/make_cheats.ts";

const root = new URL("..", import.meta.url).pathname;
const honest = join(root, "tests/fixtures/students/honest.ts");
const POLICY = RUBRIC.integrity as IntegrityPolicy;
const TH: Thresholds = { floor: 0.5, pass: 0.8, fullCredit: 0.9 };

Deno.test("perturbImages: one-pixel shift plus faint noise, seeded, labels kept", () => {
  const img = new Uint8Array(784);
  img[14 * 28 + 14] = 255;
  const set: ImageSet = { images: img, labels: Uint8Array.of(7), count: 1 };
  const moved = perturbImages(set, 1, 0);
  assertEquals(moved.labels, Uint8Array.of(7));
  const at = moved.images.indexOf(255);
  const [y, x] = [Math.floor(at / 28), at % 28];
  assert(Math.max(Math.abs(y - 14), Math.abs(x - 14)) === 1, `moved to ${y},${x}`);
  const toy = toySplits(4).test;
  const a = perturbImages(toy, 42);
  assertEquals(a.images, perturbImages(toy, 42).images, "same seed, same bits");
  assertNotEquals(a.images, perturbImages(toy, 43).images);
  for (let i = 0; i < toy.count; i++) {
    const s = toy.images.subarray(i * 784, (i + 1) * 784);
    const p = a.images.subarray(i * 784, (i + 1) * 784);
    assertNotEquals(s, p, `image ${i} unchanged`);
  }
});

Deno.test("controlBijection: a seeded bijection of the classes with no fixed point", () => {
  for (const seed of [1, 2, 42, 1000]) {
    const p = controlBijection(seed);
    assertEquals([...p].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert(p.every((to, from) => to !== from), `seed ${seed}: ${p}`);
    assertEquals(p, controlBijection(seed));
  }
  assertNotEquals(controlBijection(1), controlBijection(2));
  const set = relabel({ images: new Uint8Array(784 * 2), labels: Uint8Array.of(3, 5), count: 2 }, [
    ...controlBijection(42),
  ] as unknown as Uint8Array);
  assertEquals([...set.labels], [controlBijection(42)[3], controlBijection(42)[5]]);
});

Deno.test("scoreControl: agreement with the true and the relabelled classes", () => {
  const test: ImageSet = {
    images: new Uint8Array(784 * 4),
    labels: Uint8Array.of(0, 1, 2, 3),
    count: 4,
  };
  const perm = controlBijection(42);
  const oneHot = (labels: number[]) => {
    const p = new Float32Array(40);
    labels.forEach((l, i) => (p[i * 10 + l] = 1));
    return p;
  };
  const ignorer = scoreControl(oneHot([0, 1, 2, 3]), test, perm);
  assertEquals(ignorer, { trueAgreement: 1, relabelledAccuracy: 0 });
  const learner = scoreControl(oneHot([perm[0], perm[1], perm[2], 9]), test, perm);
  assertEquals(learner.relabelledAccuracy, perm[3] === 9 ? 1 : 0.75);
  assert(learner.trueAgreement <= 0.25);
});

Deno.test("testBlock: parts concatenated in order, absent parts skipped", () => {
  const s = toySplits(4);
  const b = testBlock([["public", s.test], ["perturbed", undefined], ["hidden", s.valid]]);
  assertEquals(b.count, s.test.count + s.valid.count);
  assertEquals(b.parts.map((p) => [p.name, p.offset]), [["public", 0], ["hidden", s.test.count]]);
  assertEquals(b.images.subarray(s.test.count * 784), s.valid.images);
});

function accuracyTest(score = 25): TestResult {
  return {
    task: 1,
    name: "Task 1: test accuracy (main)",
    score,
    maxScore: 25,
    passed: true,
    required: true,
    output: "PASS: test accuracy 99.00%",
  };
}

Deno.test("integrityFlags: a drop on perturbed copies, a ceiling, a control run that knows", () => {
  const clean = { publicAccuracy: 0.89, perturbedAccuracy: 0.86 };
  assertEquals(integrityFlags(clean, POLICY, TH), []);
  const table = integrityFlags({ publicAccuracy: 1, perturbedAccuracy: 0.1 }, POLICY, TH);
  assertEquals(table.map((f) => f.kind), ["perturbed", "ceiling"]);
  assert(table[0].message.includes("memorisation suspected"));
  assert(table[0].message.includes("100.00%") && table[0].message.includes("10.00%"));
  const knows = integrityFlags(
    { ...clean, control: { trueAgreement: 0.85, relabelledAccuracy: 0.02, wallSeconds: 1 } },
    POLICY,
    TH,
  );
  assertEquals(knows.map((f) => f.kind), ["control"]);
  const learns = integrityFlags(
    { ...clean, control: { trueAgreement: 0.02, relabelledAccuracy: 0.85, wallSeconds: 1 } },
    POLICY,
    TH,
  );
  assertEquals(learns, []);
  const failed = integrityFlags(
    { ...clean, control: { error: "timeout", wallSeconds: 1 } },
    POLICY,
    TH,
  );
  assertEquals(failed.map((f) => f.kind), ["control"]);
  const hidden = integrityFlags({ ...clean, hiddenAccuracy: 0.99 }, POLICY, TH, TH);
  assertEquals(hidden.map((f) => f.kind), ["ceiling"]);
});

Deno.test("applyIntegrity: no credit when flagged, the teacher's override keeps it", () => {
  const flags = integrityFlags({ publicAccuracy: 1, perturbedAccuracy: 0.1 }, POLICY, TH);
  const m = { publicAccuracy: 1, perturbedAccuracy: 0.1, flags };
  const revoked = applyIntegrity(1, [accuracyTest()], { ...m, overridden: false });
  assertEquals(revoked.map((t) => [t.score, t.passed]), [[0, false], [0, false]]);
  assertEquals(revoked[1].name, "Task 1: integrity checks");
  assert(revoked[1].output.startsWith("FLAGGED: memorisation suspected"));
  const kept = applyIntegrity(1, [accuracyTest()], { ...m, overridden: true });
  assertEquals(kept.map((t) => [t.score, t.passed]), [[25, true], [0, true]]);
  assert(kept[1].output.includes("overridden by the teacher"));
  assert(kept[1].output.includes("memorisation suspected"));
  const ok = applyIntegrity(1, [accuracyTest()], { ...m, flags: [], overridden: false });
  assertEquals(ok.map((t) => [t.score, t.passed]), [[25, true], [0, true]]);
  assertEquals(integrityStatus({ ...m, flags: [], overridden: false }), undefined);
  assert(integrityStatus({ ...m, overridden: false })?.startsWith("flagged: memorisation"));
});

/** A rubric sized for the toy data (nearest centroid reaches about 0.99). */
function toyRubric(): Rubric {
  const rubric = structuredClone(RUBRIC) as Rubric;
  for (const t of rubric.tasks) {
    t.budget.quick = { trainSize: 200, epochs: 1, timeoutSeconds: 60 };
    const th = {
      floor: 0.5,
      pass: 0.7,
      fullCredit: 0.97,
      margin: t.task === 2 ? 0 : undefined,
      gapReduction: t.task === 3 ? -1 : undefined,
    };
    t.thresholds.small.quick = th;
    t.hiddenThresholds = { quick: th, full: th };
  }
  return rubric;
}

/** The toy splits, and a hidden set: images of the same classes that are in no split. */
function toyData(): GradeData {
  const s = toySplits(6);
  const more = toySplits(6, { train: 300, valid: 50, test: 100 }).train;
  const hidden: ImageSet = {
    images: more.images.slice(200 * 784),
    labels: more.labels.slice(200),
    count: 100,
  };
  return { protocol: "small", ...s, hidden };
}

let cheats:
  | Promise<{ dir: string; paths: Record<"lookup" | "nn" | "weights", string> }>
  | undefined;
function cheatModules() {
  cheats ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "nm-cheats-" });
    const s = toySplits(6);
    const all: ImageSet = {
      images: new Uint8Array([...s.train.images, ...s.valid.images, ...s.test.images]),
      labels: new Uint8Array([...s.train.labels, ...s.valid.labels, ...s.test.labels]),
      count: s.train.count + s.valid.count + s.test.count,
    };
    const paths = await writeCheats(dir, {
      lookup: lookupTableSource(all),
      nn: nearestNeighbourSource(s.test),
      weights: embeddedWeightsSource(all),
    });
    return { dir, paths };
  })();
  return cheats;
}

async function gradeToy(
  tasks: [1 | 2 | 3 | 4, string][],
  overrideIntegrity = false,
  hidden = true,
): Promise<GradeReport> {
  const out = await Deno.makeTempDir({ prefix: "nm-integrity-" });
  try {
    const data = toyData();
    return await grade({
      data: hidden ? data : { ...data, hidden: undefined },
      tasks: tasks.map(([task, module]) => ({ task, module, trusted: false })),
      profile: "quick",
      rubric: toyRubric(),
      outDir: out,
      projectRoot: root,
      overrideIntegrity,
    });
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

let honestAndLookup: Promise<GradeReport> | undefined;
async function lookupReport(): Promise<GradeReport> {
  const { paths } = await cheatModules();
  honestAndLookup ??= gradeToy([[1, honest], [4, paths.lookup]]);
  return honestAndLookup;
}

Deno.test("an honest learner passes on the hidden set and is not flagged", async () => {
  const report = await lookupReport();
  const t = report.tasks[0];
  assertEquals(t.runs[0].error, undefined, t.logTail);
  const i = t.integrity;
  assert(i, "integrity record");
  assertEquals(i.flags, [], JSON.stringify(i));
  assert(retention(i.publicAccuracy, i.perturbedAccuracy) >= POLICY.perturbedRetention);
  assert((i.control?.relabelledAccuracy ?? 0) > 0.7, JSON.stringify(i.control));
  assert((i.control?.trueAgreement ?? 1) < 0.2, JSON.stringify(i.control));
  const main = t.runs[0].metrics.main;
  assertEquals(main.testAccuracy, i.hiddenAccuracy, "credit is measured on the hidden set");
  assertEquals(main.publicTestAccuracy, i.publicAccuracy);
  assert(t.passed && t.score > 0, JSON.stringify(t.tests));
  assertEquals(report.splits.hidden, 100);
});

Deno.test("a lookup table of the public images: chance on the hidden set, flagged", async () => {
  const report = await lookupReport();
  const t = report.tasks[1];
  const i = t.integrity;
  assert(i, "integrity record");
  assertEquals(i.publicAccuracy, 1);
  assert(Math.abs((i.hiddenAccuracy ?? 1) - 0.1) <= 0.05, `hidden ${i.hiddenAccuracy}`);
  assert(Math.abs(i.perturbedAccuracy - 0.1) <= 0.05, `perturbed ${i.perturbedAccuracy}`);
  assertEquals(i.control?.trueAgreement, 1);
  assertEquals(i.flags.map((f) => f.kind).sort(), ["control", "perturbed"]);
  assertEquals(t.score, 0);
  assert(!t.passed);
});

Deno.test("nearest neighbours over public images and embedded weights: flagged by the control run", async () => {
  const { paths } = await cheatModules();
  const report = await gradeToy([[1, paths.nn], [4, paths.weights]]);
  for (const t of report.tasks) {
    const i = t.integrity;
    assert(i, `task ${t.task}: ${t.logTail}`);
    assert(i.flags.some((f) => f.kind === "control"), `task ${t.task}: ${JSON.stringify(i)}`);
    assertEquals(t.score, 0, `task ${t.task}`);
  }
});

function reportTexts(report: GradeReport): Record<string, string> {
  const hashes = { submission: "s", rubric: "r", settings: "t", data: "d" };
  const row = rowOf("mallory", report, hashes, 1, toyRubric());
  return {
    "results.json": JSON.stringify(toGradescope(report)),
    "junit.xml": toJUnit(report),
    "summary.md": toMarkdown(report),
    "gradebook.csv": gradebookCsv([row]),
    "class.md": classMarkdown([row], "hist.svg"),
  };
}

Deno.test("the flag, with both numbers, is in every report format", async () => {
  const report = await lookupReport();
  for (const [name, text] of Object.entries(reportTexts(report))) {
    assert(text.includes("memorisation suspected"), `${name} lacks the flag`);
    assert(text.includes("100.00%"), `${name} lacks the public accuracy`);
    const perturbed = ((report.tasks[1].integrity?.perturbedAccuracy ?? 0) * 100).toFixed(2);
    assert(text.includes(`${perturbed}%`), `${name} lacks the perturbed accuracy ${perturbed}%`);
  }
  const honestOnly = { ...report, tasks: [report.tasks[0]], tests: report.tasks[0].tests };
  for (const [name, text] of Object.entries(reportTexts(honestOnly))) {
    assert(!text.includes("memorisation suspected"), `${name} flags the honest learner`);
  }
});

Deno.test("the teacher's override keeps the credit and still reports the flag", async () => {
  const { paths } = await cheatModules();
  // Without a hidden set the table's public accuracy (100%) is what earns credit.
  const report = await gradeToy([[4, paths.lookup]], true, false);
  const t = report.tasks[0];
  assert(t.integrity?.overridden, JSON.stringify(t.integrity));
  assert(t.score > 0, JSON.stringify(t.tests));
  for (const [name, text] of Object.entries(reportTexts(report))) {
    assert(text.includes("memorisation suspected"), `${name} lacks the flag`);
  }
  assert(reportTexts(report)["gradebook.csv"].includes("flagged (overridden)"));
});

Deno.test({
  name: "cleanup: the generated cheat modules",
  fn: async () => {
    if (cheats) await Deno.remove((await cheats).dir, { recursive: true });
  },
});
