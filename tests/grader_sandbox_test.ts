/**
 * End-to-end tests of the sandboxed grader with fixture students on tiny
 * synthetic data: good and bad modules, each failure shown in the reports.
 */
import { assert, assertEquals, assertThrows } from "../deps/assert.ts";
import { join } from "node:path";
import { grade, stratifiedSubset, type TaskSpec } from "../grader/grade.ts";
import type { GradeReport } from "../grader/report/types.ts";
import { toGradescope } from "../grader/report/reports.ts";
import { RUBRIC, type Rubric, type TaskNumber, taskPoints } from "../grader/rubric/rubric.ts";
import { runSandboxed } from "../grader/sandbox/mod.ts";
import { folderUsage, parseVmRss } from "../grader/sandbox/limits.ts";
import { planSandbox } from "../grader/sandbox/plan.ts";
import { webCachePath } from "../grader/sandbox/web_storage.ts";
import { moduleUrl, NonLocalModuleError } from "../grader/sandbox/module_graph.ts";
import { checkedErrorKind, PORTABLE_DIR } from "../grader/sandbox/protocol.ts";
import { describeError, errorKindOfText } from "../grader/sandbox/task_output.ts";
import { loadBlas } from "../compute/blas/library.ts";
import { toySplits } from "./toy_data.ts";
import { fenced } from "./sandbox_fixture.ts";

const root = new URL("..", import.meta.url).pathname;
const fixture = (name: string): string => join(root, "tests/fixtures/students", `${name}.ts`);
const splits = toySplits(7);
const data = { protocol: "small" as const, ...splits };

/** A rubric sized for the synthetic data (nearest centroid reaches about 0.96). */
function testRubric(timeoutSeconds = 30): Rubric {
  const r = structuredClone(RUBRIC) as Rubric;
  for (const t of r.tasks) {
    // the fixtures are nearest-centroid models: no optimizer, schedule or network to check
    delete t.recipe;
    t.budget.quick = { trainSize: 150, epochs: 1, timeoutSeconds };
    t.thresholds.small.quick = {
      floor: 0.5,
      pass: 0.9,
      fullCredit: 0.99,
      margin: t.task === 2 ? 0.2 : undefined,
      gapReduction: t.task === 3 ? 0.1 : undefined,
    };
  }
  return r;
}

async function gradeOne(
  module: string,
  task: TaskNumber = 1,
  rubric = testRubric(),
  extra: { forbiddenRoots?: string[]; repeat?: number } = {},
): Promise<GradeReport> {
  const outDir = await Deno.makeTempDir({ prefix: "grader-test-" });
  const spec: TaskSpec = { task, module, trusted: false };
  try {
    return await grade({
      data,
      tasks: [spec],
      profile: "quick",
      rubric,
      outDir,
      projectRoot: root,
      ...extra,
    });
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
}

Deno.test("grader's files live outside the task's folder: its names there block nothing", async () => {
  const report = await gradeOne(fixture("grader_names"));
  const t = report.tasks[0];
  assert(!t.runs[0].error, t.runs[0].error);
  assertEquals(t.graderPictures, ["grader/task1/grader_confusion.svg"]);
  // The task's own files stay the task's: listed as such, never as the grader's.
  assert(t.pictures.includes("task1/grader_learning_curve.svg"), t.pictures.join(","));
  assert(!t.graderPictures.some((p) => p.startsWith("task1/")));
});

Deno.test("an honest student passes every task test, measured by the grader", async () => {
  const report = await gradeOne(fixture("honest"), 3, testRubric(), { repeat: 2 });
  const t = report.tasks[0];
  assert(t.passed, JSON.stringify(t.tests, null, 1));
  // tasks 1, 2 and 4 were not graded: named, 0 points, and the report is not a PASS
  assertEquals(report.missingTasks, [1, 2, 4]);
  assertEquals(report.maxScore, testRubric().tasks.reduce((s, x) => s + taskPoints(x), 0));
  assert(!report.passed);
  assertEquals(t.budget.trainCount, 150);
  const main = t.runs[0].metrics.main;
  const base = t.runs[0].metrics.baseline;
  assert(main.testAccuracy > 0.9 && main.testAccuracy < 1, `main ${main.testAccuracy}`);
  assertEquals(base.trainAccuracy, 1);
  assert(base.testAccuracy < main.testAccuracy);
  // 5 tests: runs, accuracy, gap, reproducible, integrity checks
  assertEquals(t.tests.length, 5);
  assert(t.tests[3].output.includes("bit-identical"));
  assert(t.pictures.some((p) => p.endsWith("learning_curve.svg")), t.pictures.join(","));
  const score = t.tests[1].score;
  const expected = Math.round(10 * Math.min(1, (main.testAccuracy - 0.5) / 0.49) * 1e4) / 1e4;
  assertEquals(score, expected);
});

Deno.test("task 2: the grader checks the margin over logistic regression itself", async () => {
  const report = await gradeOne(fixture("honest"), 2);
  const margin = report.tests.find((t) => t.name.includes("beats logreg"));
  assert(margin?.passed, margin?.output);
  assert(margin.output.includes("logreg 10.00%"), margin.output);
});

const badStudents: [string, string, RegExp][] = [
  ["throws", "throws in train()", /exception: train failed: Error: student bug: shapes/],
  [
    "throws_on_import",
    "throws while being imported",
    /import: import failed: Error: top-level failure while importing/,
  ],
  ["nan", "predicts NaN", /nan: role "main" \(diverged\) on the test images: value NaN at image 0/],
  [
    "wrong_shape",
    "returns the wrong output shape",
    // 100 test images and their 100 perturbed copies (the memorisation check)
    /shape: role "main" \(labels only\) on the test images: expected 200 x 10 = 2000 values, got 200/,
  ],
  [
    "fetch_url",
    "fetches a URL",
    /permission: .*NotCapable: Requires net access to "example.com:443"/,
  ],
  [
    "read_shared",
    "reads ../shared",
    /permission: .*NotCapable: Requires read access to ".*shared\/notmnist"/,
  ],
  [
    "write_outside",
    "writes outside its folder",
    /permission: .*NotCapable: Requires write access to ".*escaped.txt"/,
  ],
  ["read_env", "reads env", /permission: .*NotCapable: Requires env access to "NOTMNIST_DIR"/],
  [
    "run_process",
    "starts a subprocess",
    /permission: .*NotCapable: Requires run access to "\/bin\/cat"/,
  ],
  ["ffi", "opens a native library", /permission: .*NotCapable: Requires ffi access to "libc.so.6"/],
  [
    "exits",
    "calls Deno.exit",
    /exception: train failed: Error: the task called Deno.exit\(\); graded code must return/,
  ],
  // Graded code cannot even list the folder its data came from (it gets the data by message).
  [
    "read_test",
    "looks for the test split",
    /permission: train failed: NotCapable: Requires read access to ".*notmnist-grade-.*data"/,
  ],
];

for (const [name, what, message] of badStudents) {
  Deno.test(`a student that ${what} fails, with the message in results.json`, async () => {
    const report = await gradeOne(fixture(name));
    assertEquals(report.passed, false);
    const results = toGradescope(report);
    const runs = results.tests[0];
    assertEquals(runs.status, "failed");
    assert(message.test(runs.output), runs.output);
    assertEquals(results.score, 0);
    assert(results.tests.every((t) => t.status === "failed"));
    // The run's typed failure kind is the one the message starts with.
    assertEquals(report.tasks[0].runs[0].failureKind, message.source.split(":")[0]);
  });
}

Deno.test("graded code sees no file of the grader's: not even the listing of its data folder", async () => {
  const report = await gradeOne(fixture("read_test"));
  const tail = report.tasks[0].logTail;
  assertEquals([...tail.matchAll(/handed: (\S+)/g)].length, 0, tail);
});

Deno.test("a student that never finishes is killed at the time limit and reported", async () => {
  const t0 = performance.now();
  const report = await gradeOne(fixture("timeout"), 1, testRubric(2));
  const seconds = (performance.now() - t0) / 1000;
  assert(seconds < 15, `took ${seconds} s`);
  const out = toGradescope(report).tests[0].output;
  assert(
    /timeout: timed out after 2 s \(while training\); the process group was killed/.test(out),
    out,
  );
});

Deno.test("a module that statically imports a file from a forbidden folder is refused before it runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grader-sneaky-" });
  await Deno.mkdir(join(dir, "cache"));
  await Deno.writeTextFile(join(dir, "cache", "test_labels.json"), "[0,1,2]");
  await Deno.writeTextFile(
    join(dir, "task1.ts"),
    `import labels from "./cache/test_labels.json" with { type: "json" };\n` +
      `export function train() { return Promise.reject(new Error(String(labels))); }\n`,
  );
  const report = await gradeOne(join(dir, "task1.ts"), 1, testRubric(), {
    forbiddenRoots: [join(dir, "cache")],
  });
  const out = toGradescope(report).tests[0].output;
  assert(/forbidden-import: refused to run .*test_labels.json is inside a folder/.test(out), out);
});

Deno.test("forged protocol messages from train() get no test images and set nothing", async () => {
  const { r, files } = await fenced("forge_protocol", {}, 60, { force: "cpu" }, [
    "early_test_images.txt",
  ]);
  assertEquals(r.failure, undefined, r.logTail);
  // No test image reached the module while it was training.
  assertEquals(files["early_test_images.txt"], "0");
  assertEquals(r.roles.main?.info.name, "nearest centroid");
  // Backend and times are the main isolate's, not the module's word.
  assertEquals(r.backend?.name, "cpu");
  assert(r.trainSeconds !== undefined && r.trainSeconds >= 4 && r.trainSeconds < 60);
});

Deno.test("no persistent web store reaches from one run to the next", async () => {
  type Outcome = { available: boolean; before?: string | null; error?: string };
  const once = async (): Promise<Record<string, Outcome>> => {
    const outDir = await Deno.makeTempDir({ prefix: "grader-storage-" });
    try {
      const r = await runSandboxed({
        module: fixture("web_storage"),
        train: splits.train,
        valid: splits.valid,
        testImages: splits.test,
        seed: 1,
        outDir,
        timeoutSeconds: 60,
        trusted: false,
        projectRoot: root,
      });
      assertEquals(r.failure, undefined, r.logTail);
      return JSON.parse(await Deno.readTextFile(join(outDir, "storage.json")));
    } finally {
      await Deno.remove(outDir, { recursive: true });
    }
  };
  await once();
  const second = await once();
  // Every store is unavailable, or (BroadcastChannel: in-process only) holds nothing of a run before.
  for (const [store, o] of Object.entries(second)) {
    assert(!o.available || o.before === null, `${store}: ${JSON.stringify(o)}`);
  }
  // The Cache API, the one that persisted (outside every cap), is unavailable, nested Workers too.
  assertEquals([second.caches.available, second.nestedCaches.available], [false, false]);
  for (const s of ["localStorage", "sessionStorage", "kv", "indexedDB"]) {
    assertEquals(second[s].available, false, s);
  }
});

Deno.test("runSandboxed reports a missing module without throwing", async () => {
  const r = await runSandboxed({
    module: fixture("does_not_exist"),
    train: splits.train,
    valid: splits.valid,
    testImages: splits.test,
    seed: 1,
    outDir: await Deno.makeTempDir(),
    timeoutSeconds: 10,
    trusted: false,
    projectRoot: root,
  });
  assertEquals(r.failure?.kind, "import");
  assert(r.failure?.message.includes("not found"));
});

Deno.test("stratifiedSubset keeps class proportions, is seeded and keeps the original order", () => {
  const s = stratifiedSubset(splits.train, 50, 3);
  assertEquals(s.count, 50);
  const counts = new Array(10).fill(0);
  for (const l of s.labels) counts[l]++;
  assertEquals(counts, new Array(10).fill(5));
  assertEquals(stratifiedSubset(splits.train, 50, 3).images, s.images);
  assert(stratifiedSubset(splits.train, 50, 4).images.some((v, i) => v !== s.images[i]));
  assertEquals(stratifiedSubset(splits.train, undefined, 3), splits.train);
});

Deno.test("fence: a student's own Worker cannot gain permissions", async () => {
  const { r } = await fenced("worker_escalate");
  assertEquals(r.failure?.kind, "permission", r.failure?.message);
  assert(/NotCapable|escalate|Requires/.test(r.failure!.message), r.failure!.message);
  assert(r.logTail.includes("permission request for read: denied"), r.logTail);
});

Deno.test("fence: symbolic links cannot be planted in the output folder", async () => {
  const { r, left } = await fenced("symlink_out");
  assertEquals(r.failure?.kind, "permission", r.failure?.message);
  assert(
    /NotCapable: Deno.symlinkSync\(\) requires unscoped/.test(r.failure!.message),
    r.failure!.message,
  );
  assertEquals(left, []);
});

Deno.test("fence: memory beyond the cap (ArrayBuffers) stops the run, nothing left behind", async () => {
  const { r, left } = await fenced("memory_hog", { memoryMb: 768 });
  assertEquals(r.failure?.kind, "memory", r.failure?.message);
  assert(/more than the 768 MiB cap/.test(r.failure!.message), r.failure!.message);
  assertEquals(left, []);
});

Deno.test("fence: output beyond the cap stops the run and the output folder is emptied", async () => {
  const { r, left } = await fenced("output_hog", { outputMb: 16 });
  assertEquals(r.failure?.kind, "output", r.failure?.message);
  assert(/more than the 16 MiB cap/.test(r.failure!.message), r.failure!.message);
  assertEquals(left, []);
});

Deno.test("fence: printing beyond the log cap stops the run; the kept log stays small", async () => {
  const { r } = await fenced("log_hog", { logMb: 2 });
  assertEquals(r.failure?.kind, "log", r.failure?.message);
  assert(r.logTail.length < 200_000, `${r.logTail.length} characters kept`);
});

const blasLoads = loadBlas({ threads: 1 });
Deno.test({
  name: `fence: hostile requests on the remote BLAS channel are all refused, the process survives${
    blasLoads.ok ? "" : " (SKIPPED: no BLAS)"
  }`,
  ignore: !blasLoads.ok,
  fn: async () => {
    // Fast numerics: the engine is served over the channel (reproducible runs it in the Worker).
    const { r } = await fenced("hostile_blas", {}, 60, { numerics: "fast" });
    assertEquals(r.failure?.kind, "exception", r.failure?.message);
    assert(/hostile requests: 10 of 10 refused/.test(r.failure!.message), r.failure!.message);
    assert(/an operand has 4 values, the call reads/.test(r.failure!.message), r.failure!.message);
  },
});

Deno.test("folderUsage counts bytes without following links and lists the links", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grader-usage-" });
  try {
    await Deno.mkdir(join(dir, "a"));
    await Deno.writeFile(join(dir, "a", "x.bin"), new Uint8Array(1000));
    await Deno.symlink("/etc", join(dir, "etc"));
    const u = await folderUsage(dir);
    assertEquals(u.bytes, 1000);
    assertEquals(u.odd, [join(dir, "etc")]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const planReq = {
  module: "/home/t/student/task1.ts",
  train: splits.train,
  valid: splits.valid,
  testImages: splits.test,
  seed: 3,
  outDir: "/tmp/out/task1",
  timeoutSeconds: 10,
  projectRoot: "/home/lab",
  trustedEnv: { NOTMNIST_BLAS_THREADS: "2", HOME: "/root", OPENBLAS_CORETYPE: "Haswell" },
};
const planCtx = {
  work: "/tmp/w",
  dirs: { denoDir: "/d", npmCache: "/d/npm" },
  execPath: "/bin/deno",
  setsid: true,
  token: "t0k",
  wasmFiles: { "tfjs-backend-wasm-simd.wasm": "/d/npm/simd.wasm" },
  childUrl: "file:///home/lab/grader/sandbox/child.ts",
  moduleFiles: ["/home/t/student/task1.ts", "/home/lab/models/mlp.ts"],
};

Deno.test("planSandbox: graded code gets a Worker with read/write of its folder and its own modules only", () => {
  const p = planSandbox({ ...planReq, trusted: false }, planCtx);
  assertEquals(p.workerPermissions, {
    read: ["/tmp/out/task1", PORTABLE_DIR, "/home/t/student/task1.ts", "/home/lab/models/mlp.ts"],
    write: ["/tmp/out/task1"],
    env: false,
    ffi: false,
    import: false,
    net: false,
    run: false,
    sys: false,
  });
  assertEquals(p.command, "setsid");
  assertEquals(p.args.slice(0, 2), ["/bin/deno", "run"]);
  assertEquals(p.args.slice(-4), [
    "/tmp/w/entry.ts",
    "/tmp/w/data",
    "/tmp/out/task1",
    "/tmp/w/preds",
  ]);
  assert(p.permissions.includes("--unstable-worker-options"));
  // Reproducible (the default): the portable core, no FFI, only the engine's thread count and
  // V8 flags (the plan's own: they pick the register tile).
  assert(!p.permissions.includes("--allow-ffi"), p.permissions.join(" "));
  assert(!p.permissions.some((f) => /^--allow-(net|run|sys|all)|^-A$|^--allow-env$/.test(f)));
  assert(
    p.permissions.includes("--allow-env=NOTMNIST_BLAS_THREADS,NOTMNIST_ENGINE_V8_FLAGS"),
    p.permissions.join(" "),
  );
  assert(
    p.permissions.some((f) => f.startsWith("--allow-read=") && f.includes("compute/portable")),
  );
  assertEquals(
    p.permissions.find((f) => f.startsWith("--allow-write=")),
    "--allow-write=/tmp/out/task1,/tmp/w/preds",
  );
  // Only the engine's settings reach the environment.
  assertEquals(p.env.HOME, undefined);
  assertEquals(p.env.OPENBLAS_CORETYPE, undefined);
  assertEquals(p.env.NOTMNIST_BLAS_THREADS, "2");
  // Fast numerics: the native BLAS, with FFI and every BLAS setting.
  const fast = planSandbox({ ...planReq, trusted: false, backend: { numerics: "fast" } }, planCtx);
  assert(fast.permissions.includes("--allow-ffi"));
  assert(fast.permissions.some((f) => f.startsWith("--allow-env=NOTMNIST_BLAS_THREADS,")));
  assertEquals(fast.env.OPENBLAS_CORETYPE, "Haswell");
  assertEquals(p.graphEntry, "/tmp/w/worker_entry.ts");
  assert(p.files["/tmp/w/worker_entry.ts"].includes('import("file:///home/t/student/task1.ts")'));
  assertEquals(p.header.token, "t0k");
  assertEquals(p.header.worker?.moduleFiles, planCtx.moduleFiles);
  assertEquals(p.predsDir, "/tmp/w/preds");
  // A per-run origin: its Cache API store is the one the run blocks (web_storage.ts).
  assert(p.args.includes("--location=http://t0k.run.invalid/"), p.args.join(" "));
  assertEquals(p.webCache, webCachePath(planCtx.dirs.denoDir, "http://t0k.run.invalid"));
});

Deno.test("planSandbox: trusted modules run in the main isolate, FFI only for fast; without setsid deno runs directly", () => {
  const p = planSandbox({ ...planReq, trusted: true, backend: { force: "wasm" } }, {
    ...planCtx,
    setsid: false,
  });
  assertEquals(p.workerPermissions, undefined);
  assertEquals(p.command, "/bin/deno");
  assertEquals(p.args[0], "run");
  assert(!p.permissions.includes("--allow-ffi") && p.permissions.includes("--allow-env"));
  const fast = planSandbox({ ...planReq, trusted: true, backend: { numerics: "fast" } }, planCtx);
  assert(fast.permissions.includes("--allow-ffi"));
  assert(!p.permissions.includes("--unstable-worker-options"));
  assert(p.files["/tmp/w/entry.ts"].includes("selectChildBackend(h.backend)"));
  assertEquals(p.header.worker, undefined);
  assertEquals(p.graphEntry, "/tmp/w/entry.ts");
});

Deno.test("parseVmRss reads the resident set from a /proc status line", () => {
  assertEquals(parseVmRss("VmRSS:\t  831200 kB"), 831200);
  assertEquals(parseVmRss("VmHWM:\t  9 kB"), undefined);
});

Deno.test({
  name:
    "graded code on the portable core (in its Worker) predicts the same bits as the trusted run",
  fn: async () => {
    const outputs: { backend?: string; bytes: Uint8Array[] }[] = [];
    for (const trusted of [true, false]) {
      const outDir = await Deno.makeTempDir({ prefix: "grader-same-bits-" });
      try {
        const r = await runSandboxed({
          module: join(root, "tasks/task1.ts"),
          train: splits.train,
          valid: splits.valid,
          testImages: splits.test,
          seed: 5,
          epochs: 1,
          outDir,
          timeoutSeconds: 120,
          trusted,
          backend: { force: "wasm-blas" },
          projectRoot: root,
        });
        assertEquals(r.failure, undefined, r.failure?.message);
        const p = r.roles.main.predictions;
        outputs.push({
          backend: r.backend?.name,
          bytes: [p.train, p.valid, p.test].map((a) =>
            new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
          ),
        });
      } finally {
        await Deno.remove(outDir, { recursive: true });
      }
    }
    for (const o of outputs) assert(o.backend?.includes("portable-wasm-simd"), o.backend);
    assertEquals(outputs[1].bytes, outputs[0].bytes);
  },
});

Deno.test("a remote task module is refused as an import failure, by its error class", async () => {
  assertThrows(() => moduleUrl("https://example.com/task1.ts"), NonLocalModuleError);
  assertEquals(moduleUrl("file:///x/task1.ts"), "file:///x/task1.ts");
  const outDir = await Deno.makeTempDir({ prefix: "nm-remote-" });
  const r = await runSandboxed({
    ...planReq,
    module: "https://example.com/task1.ts",
    outDir,
    trusted: false,
    projectRoot: root,
  });
  assertEquals(r.failure?.kind, "import");
  assert(r.failure?.message.includes("only local files"), r.failure?.message);
  await Deno.remove(outDir, { recursive: true });
});

Deno.test("error kinds are decided where the error is caught and carried by the messages", () => {
  assertEquals(
    describeError(new Deno.errors.NotCapable("Requires net access")).errorKind,
    "permission",
  );
  assertEquals(describeError(new Deno.errors.PermissionDenied("no")).errorKind, "permission");
  assertEquals(describeError(new TypeError("x is not a function")).errorKind, "exception");
  assertEquals(describeError("thrown text").errorKind, "exception");
  // A Worker's uncaught error arrives as text only.
  assertEquals(
    errorKindOfText("Uncaught (in promise) NotCapable: Requires read access"),
    "permission",
  );
  assertEquals(errorKindOfText("Uncaught Error: boom"), "exception");
  // Whatever an untrusted sender puts in the field, only "permission" is taken as such.
  assertEquals(checkedErrorKind("permission"), "permission");
  assertEquals(checkedErrorKind("root"), "exception");
  assertEquals(checkedErrorKind(undefined), "exception");
});
