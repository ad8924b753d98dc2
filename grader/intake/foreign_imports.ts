/**
 * Imports that leave a student's folder: `import ... from "../alice/task4.ts"`
 * works in the class folder but fails from the staged copy with a bare
 * "Module not found". Intake reads the relative specifiers of the copied
 * sources and names the folder they reach - another student's, or simply
 * outside the submission - so the report says what happened.
 *
 * @module
 */
import { dirname, join, normalize, sep } from "node:path";
import type { TaskNumber } from "../rubric/rubric.ts";
import type { IntakeFinding } from "./findings.ts";

/** Relative specifiers of static imports, re-exports and literal dynamic imports in `source`. */
export function relativeSpecifiers(source: string): string[] {
  const out = new Set<string>();
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of source.matchAll(re)) {
      if (m[1].startsWith("./") || m[1].startsWith("../")) out.add(m[1]);
    }
  }
  return [...out].sort();
}

/** Where a relative import of file `from` (relative to the submission) lands, relative to it. */
export function importTarget(from: string, specifier: string): string {
  return normalize(join(dirname(from), specifier));
}

/**
 * The findings for every copied source (`files`, relative to the
 * submission, as staged in `stagedDir`) that imports a path outside the
 * submission; `student` names the submission's folder inside its class
 * folder, so `../<name>/...` is reported as another student's folder.
 * Each finding is charged to the tasks whose module is (or may import) the
 * file: the file itself when it is `taskN.ts`, else every submitted task.
 */
export async function foreignImports(
  stagedDir: string,
  files: readonly string[],
  tasks: readonly TaskNumber[],
  student: string,
): Promise<IntakeFinding[]> {
  const findings: IntakeFinding[] = [];
  for (const file of files.filter((f) => /\.(ts|js|mts|mjs|tsx|jsx)$/.test(f))) {
    const source = await Deno.readTextFile(join(stagedDir, file));
    for (const spec of relativeSpecifiers(source)) {
      const target = importTarget(file, spec);
      if (target !== ".." && !target.startsWith(`..${sep}`)) continue;
      const parts = target.split(sep);
      const other = parts[0] === ".." && parts[1] !== ".." && parts.length > 2
        ? parts[1]
        : undefined;
      const where = other && other !== student
        ? `another student's folder (${other})`
        : "a path outside your submission folder";
      const m = /^task([1-4])\.ts$/.exec(file);
      const charged = m ? [Number(m[1]) as TaskNumber] : tasks;
      for (const task of charged) {
        findings.push({
          task,
          kind: "foreign-import",
          message: `${file} imports "${spec}", which is in ${where}; a submission may import ` +
            `only its own files and the lab's package (@notmnist/lab)`,
        });
      }
    }
  }
  return findings;
}
