/**
 * The import check of graded code: only the packages the lab lists (deno.json's
 * import map, the lab's own name), local files and node: built-ins; every
 * other import is refused before the module runs, fast, naming the import; the
 * check has a time limit, never contacts a registry, and blames a package
 * missing from Deno's cache on the grader's setup, not on the student.
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { join } from "node:path";
import type { SandboxResult } from "../grader/sandbox/mod.ts";
import { fenced } from "./sandbox_fixture.ts";
import { checkModuleGraph } from "../grader/sandbox/module_graph.ts";
import { allowedImports, importVerdict } from "../grader/sandbox/allowed_imports.ts";
import { denoDirs, planSandbox } from "../grader/sandbox/plan.ts";
import { toySplits } from "./toy_data.ts";

const root = new URL("..", import.meta.url).pathname;
const fixture = (name: string): string => join(root, "tests/fixtures/students", `${name}.ts`);
const splits = toySplits(7);
const denoJson = await Deno.readTextFile(join(root, "deno.json"));

async function sandboxed(name: string): Promise<SandboxResult> {
  return (await fenced(name)).r;
}

Deno.test("the allowed list is deno.json's import map and the lab's name", () => {
  const allowed = allowedImports(denoJson);
  const config = JSON.parse(denoJson) as { name: string; imports: Record<string, string> };
  assertEquals(allowed.names, [...Object.keys(config.imports), config.name].sort());
  const verdicts = Object.fromEntries(
    [
      "./helper.ts",
      "../tasks/types.ts",
      "node:path",
      "@notmnist/lab",
      "@notmnist/lab/models",
      "@tensorflow/tfjs-core",
      "npm:@tensorflow/tfjs-core@4.22.0",
      "npm:seedrandom@3.0.5",
      "jsr:@std/assert@1",
      "https://example.com/x.ts",
      "data:text/javascript,export default 1",
      "seedrandom",
      "@notmnist/labx",
    ].map((s) => [s, importVerdict(s, allowed)]),
  );
  assertEquals(verdicts, {
    "./helper.ts": "local",
    "../tasks/types.ts": "local",
    "node:path": "builtin",
    "@notmnist/lab": "listed",
    "@notmnist/lab/models": "listed",
    "@tensorflow/tfjs-core": "listed",
    "npm:@tensorflow/tfjs-core@4.22.0": "refused",
    "npm:seedrandom@3.0.5": "refused",
    "jsr:@std/assert@1": "refused",
    "https://example.com/x.ts": "refused",
    "data:text/javascript,export default 1": "refused",
    "seedrandom": "refused",
    "@notmnist/labx": "refused",
  });
});

for (
  const [name, specifier] of [
    ["unlisted_npm", "npm:seedrandom@3.0.5"],
    ["unlisted_jsr", "jsr:@std/assert@1"],
    ["unlisted_https", "https://example.com/notmnist/answers.ts"],
    ["unlisted_name", "seedrandom"],
  ]
) {
  Deno.test(`an import not on the lab's list is refused fast, naming it: ${specifier}`, async () => {
    const t0 = performance.now();
    const r = await sandboxed(name);
    const seconds = (performance.now() - t0) / 1000;
    assertEquals(r.failure?.kind, "unlisted-import", r.failure?.message);
    assert(r.failure!.message.includes(`imports "${specifier}"`), r.failure!.message);
    assert(r.failure!.message.includes(fixture(name)), r.failure!.message);
    assertEquals(r.roles, {});
    assert(seconds < 15, `took ${seconds} s`);
  });
}

Deno.test("a student importing only listed packages, node: built-ins and local files runs", async () => {
  const r = await sandboxed("listed_only");
  assertEquals(r.failure, undefined, r.logTail);
  assert(r.roles.main !== undefined, r.logTail);
});

Deno.test("the import check stops at its time limit with its own failure kind", async () => {
  const dirs = await denoDirs();
  const g = await checkModuleGraph({
    entry: fixture("honest"),
    name: fixture("honest"),
    config: join(root, "deno.json"),
    allowedRoots: [root],
    forbiddenRoots: [],
    allowed: allowedImports(denoJson),
    denoDir: dirs.denoDir,
    timeoutSeconds: 0.001,
  });
  assertEquals(g.failure?.kind, "import-timeout");
  assert(/did not finish within 0.001 s; it was stopped/.test(g.failure!.message));
});

Deno.test("a package missing from Deno's cache is the grader's setup error, not the student's", async () => {
  const empty = await Deno.makeTempDir({ prefix: "grader-empty-deno-dir-" });
  try {
    const t0 = performance.now();
    const skeleton = join(root, "templates/submission/task1.ts");
    const g = await checkModuleGraph({
      entry: skeleton,
      name: skeleton,
      config: join(root, "deno.json"),
      allowedRoots: [root],
      forbiddenRoots: [],
      allowed: allowedImports(denoJson),
      studentRoots: [join(root, "templates/submission")],
      libraryRoots: [root],
      denoDir: empty,
    });
    const seconds = (performance.now() - t0) / 1000;
    assertEquals(g.failure?.kind, "setup", g.failure?.message);
    assert(/^grader setup: npm packages the lab lists are missing/.test(g.failure!.message));
    assert(g.failure!.message.includes("@tensorflow/tfjs-core@4.22.0"), g.failure!.message);
    assert(g.failure!.message.includes("deno install --frozen"), g.failure!.message);
    assert(!g.failure!.message.includes(skeleton), "the student's file is not blamed");
    // Nothing was fetched: the registry is never asked (the closed proxy refuses at once).
    assertEquals(
      await Array.fromAsync(Deno.readDir(join(empty, "npm"))).catch(() => []),
      [],
    );
    assert(seconds < 30, `took ${seconds} s`);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("planSandbox: the child resolves from the lockfile and the cache only, through a closed proxy", async () => {
  const dirs = await denoDirs();
  const plan = planSandbox({
    module: fixture("honest"),
    train: splits.train,
    valid: splits.valid,
    testImages: splits.test,
    seed: 1,
    outDir: "/tmp/out",
    timeoutSeconds: 10,
    trusted: false,
    projectRoot: root,
  }, {
    work: "/tmp/work",
    dirs,
    execPath: "/bin/deno",
    setsid: false,
    token: "t",
    wasmFiles: {},
    childUrl: new URL("../grader/sandbox/child.ts", import.meta.url).href,
  });
  assert(
    plan.args.includes("--frozen") && plan.args.includes("--cached-only"),
    plan.args.join(" "),
  );
  assert(!plan.args.includes("--no-lock"));
  assertEquals(plan.env.HTTPS_PROXY, "http://127.0.0.1:9");
});

Deno.test("a deno.lock that lacks a package deno.json lists is the grader's setup error", async () => {
  const project = await Deno.makeTempDir({ prefix: "grader-stale-lock-" });
  try {
    const config = JSON.parse(denoJson) as { imports: Record<string, string> };
    config.imports["seedrandom"] = "npm:seedrandom@3.0.5";
    await Deno.writeTextFile(join(project, "deno.json"), JSON.stringify(config));
    await Deno.copyFile(join(root, "deno.lock"), join(project, "deno.lock"));
    await Deno.writeTextFile(
      join(project, "task1.ts"),
      `import seedrandom from "seedrandom";\nexport const s = seedrandom;\n`,
    );
    const g = await checkModuleGraph({
      entry: join(project, "task1.ts"),
      name: join(project, "task1.ts"),
      config: join(project, "deno.json"),
      allowedRoots: [project],
      forbiddenRoots: [],
      allowed: allowedImports(await Deno.readTextFile(join(project, "deno.json"))),
      denoDir: (await denoDirs()).denoDir,
    });
    assertEquals(g.failure?.kind, "setup", g.failure?.message);
    assert(/deno\.lock lacks a package/.test(g.failure!.message), g.failure!.message);
    // The project's own lockfile is left as it was.
    assertEquals(
      await Deno.readTextFile(join(project, "deno.lock")),
      await Deno.readTextFile(join(root, "deno.lock")),
    );
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});
