/**
 * The static module graph check: Deno loads statically imported modules
 * without checking read permission, so before a child starts the parent walks
 * the graph (`deno info --json`, from the lockfile, never a registry, under a
 * time limit) and refuses imports graded code may not write (the lab's list,
 * `allowed_imports.ts`), remote modules and local ones outside the allowed
 * roots or inside the forbidden ones, and reports npm packages missing from
 * Deno's cache as the grader's setup error.
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL } from "node:url";
import { type AllowedImports, importVerdict, refusedImportMessage } from "./allowed_imports.ts";
import { type DenoRun, runDenoBounded } from "./no_registry.ts";
import type { SandboxFailure } from "./protocol.ts";

/** A task module given as a URL that is not a local file (only local files can be graded). */
export class NonLocalModuleError extends Error {
  /** The module as given. */
  readonly module: string;
  /** Builds the error for `module`. */
  constructor(module: string) {
    super(`task module "${module}": only local files can be graded`);
    this.name = "NonLocalModuleError";
    this.module = module;
  }
}

/** Resolves a module path or URL given on the command line to a file URL string. */
export function moduleUrl(module: string, cwd: string = Deno.cwd()): string {
  if (module.startsWith("file:")) return module;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) {
    throw new NonLocalModuleError(module);
  }
  return pathToFileURL(isAbsolute(module) ? module : resolve(cwd, module)).href;
}

function within(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** A dependency of a module in a `deno info --json` graph (fields this grader reads). */
interface GraphDependency {
  /** The specifier as written in the importing file. */
  specifier: string;
}

/** One module of a `deno info --json` graph (fields this grader reads). */
interface GraphModule {
  specifier: string;
  local?: string;
  error?: string;
  kind?: string;
  dependencies?: GraphDependency[];
}

/** One npm package of a `deno info --json` graph (fields this grader reads). */
interface GraphNpmPackage {
  name?: string;
  version?: string;
  localPath?: string;
}

/** The default time limit of the module-graph check, seconds (its own cap, below every task's). */
export const IMPORT_CHECK_SECONDS = 60;

/** What {@link checkModuleGraph} checks. */
export interface GraphCheck {
  /** The file whose static graph is walked. */
  entry: string;
  /** The task module, as messages name it. */
  name: string;
  /** The project's deno.json (its lockfile sits beside it). */
  config: string;
  /** Roots local modules must be in. */
  allowedRoots: string[];
  /** Roots no local module may be in. */
  forbiddenRoots: string[];
  /**
   * Graded code's import list (absent for trusted runs): every import written
   * in a module inside `studentRoots`, or outside `libraryRoots`, must pass
   * {@link importVerdict}.
   */
  allowed?: AllowedImports;
  /** Folders whose modules are the student's (the task module's folder). */
  studentRoots?: string[];
  /** Folders whose modules are the lab's or the grader's (outside `studentRoots`). */
  libraryRoots?: string[];
  /** Deno's cache folder (DENO_DIR) the check and the run use. */
  denoDir: string;
  /** Time limit, seconds (default {@link IMPORT_CHECK_SECONDS}); the check is killed at it. */
  timeoutSeconds?: number;
}

/** The outcome of {@link checkModuleGraph}: a failure, or the local files of the graph. */
export interface GraphOutcome {
  /** Why the module may not run (absent: the graph is acceptable). */
  failure?: SandboxFailure;
  /** Local files of the graph (the Worker may read exactly these). */
  files: string[];
}

interface InfoOutput extends DenoRun {
  /** Whether `deno info` had to add to the lockfile (deno.json lists what deno.lock lacks). */
  lockChanged: boolean;
}

async function denoInfo(check: GraphCheck): Promise<InfoOutput> {
  // A copy of the lockfile: an unlisted import must show up in the graph (and be refused by
  // name), not fail the whole check as a lockfile change would under --frozen.
  const lock = await Deno.makeTempFile({ prefix: "notmnist-graph-", suffix: ".lock" });
  try {
    const before = await Deno.readTextFile(join(dirname(check.config), "deno.lock"))
      .catch(() => undefined);
    if (before === undefined) {
      return { ...await spawnInfo(check, ["--no-lock"]), lockChanged: false };
    }
    await Deno.writeTextFile(lock, before);
    const out = await spawnInfo(check, [`--lock=${lock}`]);
    return { ...out, lockChanged: (await Deno.readTextFile(lock)) !== before };
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}

function spawnInfo(
  check: GraphCheck,
  lockArgs: string[],
): Promise<Omit<InfoOutput, "lockChanged">> {
  return runDenoBounded(["info", "--json", ...lockArgs, "--config", check.config, check.entry], {
    timeoutSeconds: check.timeoutSeconds ?? IMPORT_CHECK_SECONDS,
    clearEnv: true,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DENO_DIR: check.denoDir },
  });
}

function refusedImports(modules: GraphModule[], check: GraphCheck): string[] {
  const allowed = check.allowed;
  if (!allowed) return [];
  const refused: string[] = [];
  for (const m of modules) {
    if (!m.specifier.startsWith("file:")) continue;
    const path = fromFileUrl(m.specifier);
    const student = (check.studentRoots ?? []).some((r) => within(path, r)) ||
      !(check.libraryRoots ?? []).some((r) => within(path, r));
    if (!student) continue;
    for (const dep of m.dependencies ?? []) {
      if (importVerdict(dep.specifier, allowed) === "refused") {
        refused.push(refusedImportMessage(dep.specifier, path, allowed));
      }
    }
  }
  return refused;
}

function missingPackages(packages: Record<string, GraphNpmPackage>): string[] {
  const missing: string[] = [];
  for (const [id, p] of Object.entries(packages)) {
    const ok = p.localPath !== undefined && (() => {
      try {
        return Deno.statSync(join(p.localPath, "package.json")).isFile;
      } catch {
        return false;
      }
    })();
    if (!ok) missing.push(p.name && p.version ? `${p.name}@${p.version}` : id);
  }
  return missing.sort();
}

/**
 * Walks the static module graph of `check.entry` with `deno info --json`
 * (resolved from a copy of the project's lockfile and Deno's cache, no
 * registry, killed at its time limit: {@link runDenoBounded}) and decides whether the module may run. In this
 * order: the check timed out (`import-timeout`); a student's file imports
 * something not on the lab's list (`unlisted-import`, naming each import);
 * the lockfile lacks a listed package, or an npm package of the graph is
 * missing from Deno's cache (`setup`: the grader's installation, not the
 * student's file); a module does not load
 * (`import`); a module is remote, outside `allowedRoots` or inside
 * `forbiddenRoots` (`forbidden-import`).
 */
export async function checkModuleGraph(check: GraphCheck): Promise<GraphOutcome> {
  const seconds = check.timeoutSeconds ?? IMPORT_CHECK_SECONDS;
  const out = await denoInfo(check);
  if (out.timedOut) {
    return {
      files: [],
      failure: {
        kind: "import-timeout",
        message: `the import check (deno info) of ${check.name} did not finish within ${seconds} ` +
          `s; it was stopped`,
      },
    };
  }
  if (!out.ok || out.stdout.trim() === "") {
    return { files: [], failure: { kind: "import", message: out.stderr.trim() } };
  }
  const graph = JSON.parse(out.stdout) as {
    modules?: GraphModule[];
    npmPackages?: Record<string, GraphNpmPackage>;
  };
  const modules = graph.modules ?? [];
  const refused = refusedImports(modules, check);
  if (refused.length > 0) {
    return {
      files: [],
      failure: {
        kind: "unlisted-import",
        message: `refused to run ${check.name}: ${refused.join("; ")}`,
      },
    };
  }
  if (out.lockChanged) {
    return {
      files: [],
      failure: {
        kind: "setup",
        message: `grader setup: the project's deno.lock lacks a package the lab's deno.json ` +
          `lists (${check.config}). This is not the submission's fault: run \`deno install\` in ` +
          `the lab's folder (online, once) and grade again`,
      },
    };
  }
  const missing = missingPackages(graph.npmPackages ?? {});
  if (missing.length > 0) {
    return {
      files: [],
      failure: {
        kind: "setup",
        message: `grader setup: npm packages the lab lists are missing from Deno's cache ` +
          `(${check.denoDir}): ${missing.join(", ")}. This is not the submission's fault: ` +
          `run the install step (\`deno install --frozen\` in the lab's folder; setup.sh on ` +
          `Gradescope) and grade again`,
      },
    };
  }
  const problems: string[] = [];
  const importErrors: string[] = [];
  const files: string[] = [];
  for (const m of modules) {
    if (m.error) {
      importErrors.push(`${m.specifier}: ${m.error}`);
      continue;
    }
    const spec = m.specifier;
    if (spec.startsWith("http:") || spec.startsWith("https:")) {
      problems.push(
        `remote module ${spec} (graded code may import only local files and the packages the lab lists)`,
      );
    } else if (spec.startsWith("file:")) {
      const path = fromFileUrl(spec);
      if (!check.allowedRoots.some((r) => within(path, r))) {
        problems.push(`${path} is outside the project and the module's folder`);
      } else if (check.forbiddenRoots.some((r) => within(path, r))) {
        problems.push(`${path} is inside a folder graded code may not import from`);
      } else {
        files.push(path);
      }
    }
  }
  if (importErrors.length > 0) {
    return {
      files,
      failure: {
        kind: "import",
        message: `the module graph of ${check.name} does not load:\n${importErrors.join("\n")}`,
      },
    };
  }
  if (problems.length > 0) {
    return {
      files,
      failure: {
        kind: "forbidden-import",
        message: `refused to run ${check.name}: ${problems.join("; ")}`,
      },
    };
  }
  return { files };
}
