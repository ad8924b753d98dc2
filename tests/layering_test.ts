/**
 * The module graph of the library, from `deno info --json`: no import cycles,
 * and no import from a higher layer (deps < utils < data < models < tasks <
 * grader; `mod.ts` on top). Type-only and dynamic imports count too.
 */
import { assertEquals } from "../deps/assert.ts";
import { join, relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("..", import.meta.url));
const LAYERS = ["deps", "utils", "data", "models", "tasks", "grader", "mod.ts"];

/** The layer of a project file (relative path), by its top folder (`data.ts` is the data layer). */
function layerOf(rel: string): number {
  const top = rel === "data.ts" ? "data" : rel.split("/")[0];
  return LAYERS.indexOf(top);
}

async function libraryFiles(): Promise<string[]> {
  const out: string[] = ["mod.ts", "data.ts"];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(join(ROOT, dir))) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(rel);
      else if (e.isFile && e.name.endsWith(".ts")) out.push(rel);
    }
  };
  for (const dir of LAYERS.slice(0, -1)) await walk(dir);
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

Deno.test("layering: no import from a higher layer (deps < utils < data < models < tasks < grader)", () => {
  const upward: string[] = [];
  for (const [from, tos] of graph) {
    for (const to of tos) {
      if (layerOf(to) > layerOf(from)) upward.push(`${from} imports ${to}`);
    }
  }
  assertEquals(upward, []);
});

Deno.test("layering: the checks catch a cycle and an upward import", () => {
  const g = new Map([["a.ts", new Set(["b.ts"])], ["b.ts", new Set(["a.ts"])]]);
  assertEquals(cycles(g), ["a.ts -> b.ts -> a.ts"]);
  assertEquals(layerOf("models/train.ts") > layerOf("data/types.ts"), true);
  assertEquals(layerOf("data.ts"), layerOf("data/splits.ts"));
  assertEquals(layerOf("grader/grade.ts") > layerOf("tasks/types.ts"), true);
});
