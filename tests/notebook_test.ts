/**
 * notebooks/lab.ipynb: valid nbformat 4 JSON for the Deno kernel, committed
 * without outputs, importing only the public entry points, covering the four
 * tasks and the six pitfalls, and type-checking as TypeScript (its code cells
 * joined into one module, as the kernel runs them one after the other). CI
 * executes it (.ci/run); these tests need no Jupyter.
 *
 * @module
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT_URL = new URL("../", import.meta.url);
const ROOT = fileURLToPath(ROOT_URL);
const NOTEBOOK = join(ROOT, "notebooks", "lab.ipynb");
/** The only modules the notebook may import, relative to notebooks/. */
const PUBLIC = ["../mod.ts", "../data.ts", "../models/mod.ts", "../tasks/mod.ts"];

interface Cell {
  cell_type: string;
  source: string[] | string;
  outputs?: unknown[];
  execution_count?: number | null;
  metadata: Record<string, unknown>;
}

async function readNotebook(): Promise<{ cells: Cell[]; metadata: Record<string, unknown> }> {
  const nb = JSON.parse(await Deno.readTextFile(NOTEBOOK));
  assertEquals(nb.nbformat, 4, "nbformat");
  assert(Array.isArray(nb.cells) && nb.cells.length > 0, "cells");
  return nb;
}

const text = (c: Cell): string => Array.isArray(c.source) ? c.source.join("") : c.source;

/** Every module specifier of `code` (static and dynamic imports, re-exports). */
function specifiers(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(/\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) out.push(m[1]);
  return out;
}

Deno.test("notebook: nbformat 4 for the Deno kernel, no outputs committed", async () => {
  const nb = await readNotebook();
  const ks = nb.metadata.kernelspec as Record<string, string>;
  assertEquals([ks.name, ks.language], ["deno", "typescript"]);
  for (const [i, c] of nb.cells.entries()) {
    assert(["markdown", "code"].includes(c.cell_type), `cell ${i}: type ${c.cell_type}`);
    assert(text(c).trim().length > 0, `cell ${i} is empty`);
    if (c.cell_type === "code") {
      assertEquals(c.outputs, [], `cell ${i}: outputs are not committed`);
      assertEquals(c.execution_count, null, `cell ${i}: execution_count`);
    }
  }
});

Deno.test("notebook: imports only the public entry points", async () => {
  const nb = await readNotebook();
  const used = nb.cells.filter((c) => c.cell_type === "code").flatMap((c) => specifiers(text(c)));
  assert(used.length > 0, "the notebook imports the library");
  for (const s of used) assert(PUBLIC.includes(s), `import "${s}" is not a public entry point`);
  // The checker itself: an internal module is caught.
  assertEquals(specifiers(`import { x } from "../models/train/train.ts";`), [
    "../models/train/train.ts",
  ]);
});

Deno.test("notebook: the four tasks in order and the six pitfalls explained", async () => {
  const nb = await readNotebook();
  const md = nb.cells.filter((c) => c.cell_type === "markdown").map(text).join("\n");
  const positions = [1, 2, 3, 4].map((n) => md.indexOf(`## Task ${n}:`));
  assert(positions.every((p) => p >= 0), `task headings: ${positions}`);
  assertEquals([...positions].sort((a, b) => a - b), positions, "tasks in order");
  for (
    const pitfall of [
      /class-sorted validation/i,
      /row L2 normalisation/i,
      /softmax as a hidden activation/i,
      /test leakage/i,
      /fixed "dynamic" rate/i,
      /reused dropout layer/i,
    ]
  ) assert(pitfall.test(md), `pitfall not explained: ${pitfall}`);
  const code = nb.cells.filter((c) => c.cell_type === "code").map(text).join("\n");
  assert(code.includes('Deno.env.get("NOTMNIST_NOTEBOOK_QUICK")'), "quick mode switch");
});

Deno.test("notebook: a prediction demo and a closing discussion after task 4", async () => {
  const nb = await readNotebook();
  const at = (re: RegExp) => nb.cells.findIndex((c) => re.test(text(c)));
  const task4 = at(/^## Task 4:/m);
  const predicting = at(/^## Predicting letters/m);
  const discussion = at(/^## Discussion/m);
  assert(task4 >= 0 && predicting > task4 && discussion > predicting, `${[task4, predicting]}`);
  assertEquals(discussion, nb.cells.length - 1, "the discussion closes the notebook");
  const demo = nb.cells.slice(predicting + 1, discussion).filter((c) => c.cell_type === "code");
  assert(demo.some((c) => /\.predict\(/.test(text(c))), "the demo predicts with a trained model");
});

Deno.test("notebook: task 4's curves are drawn alone, on its own epoch axis", async () => {
  const nb = await readNotebook();
  const cell = nb.cells.find((c) => c.cell_type === "code" && /evaluate\(4,/.test(text(c)));
  assert(cell, "task 4's code cell");
  const calls = [...text(cell).matchAll(/curves\([^;]*?\[([^\]]*)\]\)/g)].map((m) => m[1].trim());
  assertEquals(calls, ["t4"]);
});

Deno.test("notebook: its code cells type-check against the library", async () => {
  const nb = await readNotebook();
  const code = nb.cells.filter((c) => c.cell_type === "code").map(text).join("\n\n");
  // The cells import "../x.ts" relative to notebooks/; point them at the repository instead.
  const rooted = code.replace(
    /(from\s*["'])\.\.\/([^"']+)(["'])/g,
    (_m, a: string, path: string, b: string) => `${a}${new URL(path, ROOT_URL).href}${b}`,
  );
  const dir = await Deno.makeTempDir({ prefix: "nm-notebook-" });
  try {
    const file = join(dir, "lab_cells.ts");
    await Deno.writeTextFile(file, rooted + "\nexport {};\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", join(ROOT, "deno.json"), file],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const errors = new TextDecoder().decode(out.stderr);
    assert(out.success, `deno check of the notebook's code cells failed:\n${errors}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * `deno fmt` of the whole notebook: deno 2.9.6's `--check` flags every `.ipynb` as not formatted
 * on a cold cache while `deno fmt` changes nothing (its notebook formatter reports a change even
 * when the text is equal), so deno.json excludes notebooks/ from `deno fmt` and this test formats
 * each cell itself, with the project's fmt options: code cells as TypeScript, markdown as Markdown.
 */
Deno.test("notebook: every cell is formatted as deno fmt would", async () => {
  const nb = await readNotebook();
  const format = async (source: string, ext: string): Promise<string> => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--config", join(ROOT, "deno.json"), `--ext=${ext}`, "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(source));
    await writer.close();
    const out = await child.output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout);
  };
  const bad: number[] = [];
  for (const [i, c] of nb.cells.entries()) {
    const source = text(c).trimEnd() + "\n";
    const formatted = await format(source, c.cell_type === "code" ? "ts" : "md");
    if (formatted !== source) bad.push(i);
  }
  assertEquals(bad, [], "cells not formatted (run the cell through `deno fmt --ext=ts -`)");
  // The checker itself: a badly formatted cell is caught.
  assert((await format("const  x=1\n", "ts")) !== "const  x=1\n");
});
