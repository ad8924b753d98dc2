/**
 * The packages graded code may import, in one home: the names of the
 * project's `deno.json` import map (its `imports` keys, the packages the lab
 * lists in STUDENTS.md) and the lab's own name (`@notmnist/lab` and its
 * exports), each also with a subpath. {@link importVerdict} decides one
 * import specifier written in a student's file: local files and `node:`
 * built-ins pass (the module-graph roots and the Worker's permissions fence
 * them), listed names pass, and everything else (`npm:`, `jsr:`, `https:`,
 * `data:`, a name not on the list) is refused.
 *
 * @module
 */

/** The packages graded code may import by name. */
export interface AllowedImports {
  /** Bare names (an exact match or the name followed by `/subpath`). */
  names: string[];
}

/** The allowed names of a project's `deno.json` text: its import map keys and its own name. */
export function allowedImports(denoJson: string): AllowedImports {
  const config = JSON.parse(denoJson) as { name?: string; imports?: Record<string, string> };
  const names = Object.keys(config.imports ?? {}).map((k) => k.replace(/\/$/, ""));
  if (config.name) names.push(config.name);
  return { names: [...new Set(names)].sort() };
}

/** What {@link importVerdict} decided. */
export type ImportVerdict = "local" | "builtin" | "listed" | "refused";

/** Whether graded code may write `specifier` in an import (pure). */
export function importVerdict(specifier: string, allowed: AllowedImports): ImportVerdict {
  if (/^(\.{1,2}\/|\/|file:)/.test(specifier)) return "local";
  if (specifier.startsWith("node:")) return "builtin";
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) return "refused";
  return allowed.names.some((n) => specifier === n || specifier.startsWith(`${n}/`))
    ? "listed"
    : "refused";
}

/** The plain message for a refused `specifier` imported by `file`. */
export function refusedImportMessage(
  specifier: string,
  file: string,
  allowed: AllowedImports,
): string {
  return `${file} imports "${specifier}": graded code may import only local files, node: ` +
    `built-ins and the packages the lab lists, by their names (${allowed.names.join(", ")})`;
}
