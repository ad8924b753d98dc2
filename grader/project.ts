/**
 * Where the lab's project lives on disk, for the grader's entry points
 * (trusted tasks, templates, `deno.json`, the git commit of a report).
 *
 * @module
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root: the folder above grader/. */
export const PROJECT_ROOT: string = dirname(dirname(fileURLToPath(import.meta.url)));
