/**
 * The module graph of the library, from `deno info --json`: no import cycles,
 * and no import from a higher layer (deps < utils < data | compute < models <
 * tasks < grader; `mod.ts` on top). `data` and `compute` share one level and
 * neither imports the other. Type-only and dynamic imports count too. Also: no
 * library file over {@link MAX_LINES} lines.
 */
import { assertEquals } from "../deps/assert.ts";
import { join, relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("..", import.meta.url));
/** The layers, lowest first; folders in one inner list share a level and may not import each other. */
const LAYERS: readonly (readonly string[])[] = [
  ["deps"],
  ["utils"],
  ["data", "compute"],
  ["models"],
  ["tasks"],
  ["grader"],
  ["mod.ts"],
];
const FOLDERS = LAYERS.flat().filter((f) => f !== "mod.ts");

/** The top folder of a project file (relative path); `data.ts` belongs to `data`. */
function topOf(rel: string): string {
  return rel === "data.ts" ? "data" : rel.split("/")[0];
}

/** The level of a project file (relative path), by its top folder. */
function layerOf(rel: string): number {
  const top = topOf(rel);
  return LAYERS.findIndex((level) => level.includes(top));
}

/** Whether an import from `from` to `to` breaks the layering (upward, or sideways across a level). */
function forbidden(from: string, to: string): boolean {
  const up = layerOf(to) > layerOf(from);
  const sideways = layerOf(to) === layerOf(from) && topOf(to) !== topOf(from);
  return up || sideways;
}

/** The most lines a library file may have. */
const MAX_LINES = 500;

async function libraryFiles(): Promise<string[]> {
  const out: string[] = ["mod.ts", "data.ts"];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(join(ROOT, dir))) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(rel);
      else if (e.isFile && e.name.endsWith(".ts")) out.push(rel);
    }
  };
  for (const dir of FOLDERS) await walk(dir);
  return out.sort();
}

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

/** Edges between project files (relative paths) of the whole library, from `deno info --json`. */
async function moduleGraph(): Promise<Map<string, Set<string>>> {
  const files = await libraryFiles();
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import "${new URL(f, `file://${ROOT}/`).href}";`).join("\n") + "\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", join(ROOT, "deno.json"), entry],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
    const local = (specifier: string): string | undefined => {
      if (!specifier.startsWith("file://")) return undefined;
      const rel = relative(ROOT, fromFileUrl(specifier));
      return files.includes(rel) ? rel : undefined;
    };
    const graph = new Map<string, Set<string>>();
    for (const m of info.modules) {
      const from = local(m.specifier);
      if (from === undefined) continue;
      const to = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          const rel = s === undefined ? undefined : local(s);
          if (rel !== undefined) to.add(rel);
        }
      }
      graph.set(from, to);
    }
    assertEquals(files.filter((f) => !graph.has(f)), [], "files missing from the module graph");
    return graph;
  } finally {
    await Deno.remove(entry);
  }
}

/** Every elementary cycle's first sighting, as `a -> b -> a` (depth-first search). */
function cycles(graph: Map<string, Set<string>>): string[] {
  const found: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") {
        found.push([...stack.slice(stack.indexOf(next)), next].join(" -> "));
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

const graph = await moduleGraph();

Deno.test("layering: no import cycles in the library", () => {
  assertEquals(cycles(graph), []);
});

Deno.test(
  "layering: no import from a higher layer (deps < utils < data | compute < models < tasks < grader)",
  () => {
    const wrong: string[] = [];
    for (const [from, tos] of graph) {
      for (const to of tos) if (forbidden(from, to)) wrong.push(`${from} imports ${to}`);
    }
    assertEquals(wrong, []);
  },
);

/** Library files (relative paths) over {@link MAX_LINES} lines, with their line counts. */
async function oversized(files: readonly string[]): Promise<string[]> {
  const over: string[] = [];
  for (const f of files) {
    const lines = (await Deno.readTextFile(join(ROOT, f))).split("\n").length - 1;
    if (lines > MAX_LINES) over.push(`${f}: ${lines} lines`);
  }
  return over;
}

Deno.test(`layering: no library file over ${MAX_LINES} lines`, async () => {
  assertEquals(await oversized(await libraryFiles()), []);
});

Deno.test("layering: the checks catch a cycle and an upward import", () => {
  const g = new Map([["a.ts", new Set(["b.ts"])], ["b.ts", new Set(["a.ts"])]]);
  assertEquals(cycles(g), ["a.ts -> b.ts -> a.ts"]);
  assertEquals(layerOf("models/train/train.ts") > layerOf("data/types.ts"), true);
  assertEquals(layerOf("data.ts"), layerOf("data/splits.ts"));
  assertEquals(forbidden("data/splits.ts", "compute/numerics.ts"), true);
  assertEquals(forbidden("compute/numerics.ts", "data/types.ts"), true);
  assertEquals(forbidden("models/mlp.ts", "compute/numerics.ts"), false);
  assertEquals(forbidden("compute/backend.ts", "models/mlp.ts"), true);
  assertEquals(layerOf("grader/grade.ts") > layerOf("tasks/types.ts"), true);
});
