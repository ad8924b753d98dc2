/**
 * Identical and near-identical submissions in a class: per task file, the
 * SHA-256 of its bytes (identical) and of its source with comments and
 * whitespace removed (near-identical: the same code re-indented or
 * re-commented). Groups of two or more students are flagged in class.md and
 * in the gradebook's `similar_to` column; files identical to the lab's
 * untouched skeletons are left out (every student starts from them).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { TASK_NUMBERS, type TaskNumber } from "../rubric/rubric.ts";

/** The two hashes of one task file. */
export interface FileFingerprint {
  /** SHA-256 of the file's bytes. */
  sha256: string;
  /** SHA-256 of {@link normalizeSource} of it. */
  normalizedSha256: string;
}

/** A group of students whose file for one task is the same. */
export interface SimilarityGroup {
  /** The task. */
  task: TaskNumber;
  /** `identical` (same bytes) or `near-identical` (same after normalising). */
  kind: "identical" | "near-identical";
  /** The students, sorted. */
  students: string[];
}

/** `source` without comments and whitespace (string contents are kept as they are). */
export function normalizeSource(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      i = end < 0 ? source.length : end + 2;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === "\\" ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
    } else {
      if (!/\s/.test(c)) out += c;
      i++;
    }
  }
  return out;
}

function sha256(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The fingerprints of the task files of a staged submission, by task number. */
export async function taskFingerprints(
  stagedDir: string,
  tasks: readonly TaskNumber[],
): Promise<Partial<Record<TaskNumber, FileFingerprint>>> {
  const out: Partial<Record<TaskNumber, FileFingerprint>> = {};
  for (const task of tasks) {
    const bytes = await Deno.readFile(join(stagedDir, `task${task}.ts`));
    out[task] = {
      sha256: sha256(bytes),
      normalizedSha256: sha256(normalizeSource(new TextDecoder().decode(bytes))),
    };
  }
  return out;
}

/**
 * The groups of students sharing a task file: identical bytes first, then
 * files that differ in bytes but not once normalised. `ignore` holds
 * normalised hashes not to flag (the untouched skeletons).
 */
export function similarityGroups(
  students: readonly { student: string; files?: Partial<Record<TaskNumber, FileFingerprint>> }[],
  ignore: ReadonlySet<string> = new Set(),
): SimilarityGroup[] {
  const groups: SimilarityGroup[] = [];
  for (const task of TASK_NUMBERS) {
    const byNorm = new Map<string, { student: string; sha256: string }[]>();
    for (const s of students) {
      const f = s.files?.[task];
      if (!f || ignore.has(f.normalizedSha256)) continue;
      byNorm.set(f.normalizedSha256, [
        ...(byNorm.get(f.normalizedSha256) ?? []),
        { student: s.student, sha256: f.sha256 },
      ]);
    }
    for (const members of byNorm.values()) {
      if (members.length < 2) continue;
      const bySha = new Map<string, string[]>();
      for (const m of members) bySha.set(m.sha256, [...(bySha.get(m.sha256) ?? []), m.student]);
      const identical = [...bySha.values()].filter((g) => g.length > 1);
      for (const g of identical) groups.push({ task, kind: "identical", students: g.sort() });
      if (bySha.size > 1) {
        groups.push({
          task,
          kind: "near-identical",
          students: members.map((m) => m.student).sort(),
        });
      }
    }
  }
  return groups;
}

/** One student's `similar_to` cell: e.g. `task4 identical: bob; task1 near-identical: carol`. */
export function similarTo(student: string, groups: readonly SimilarityGroup[]): string {
  return groups.filter((g) => g.students.includes(student)).map((g) =>
    `task${g.task} ${g.kind}: ${g.students.filter((s) => s !== student).join(" ")}`
  ).join("; ");
}

/** The normalised hashes of the lab's skeletons (templates/submission/taskN.ts) under `root`. */
export async function skeletonHashes(root: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const task of TASK_NUMBERS) {
    try {
      const text = await Deno.readTextFile(join(root, "templates", "submission", `task${task}.ts`));
      out.add(sha256(normalizeSource(text)));
    } catch {
      // no skeleton for this task
    }
  }
  return out;
}
