/**
 * The static module graph check: Deno loads statically imported modules
 * without checking read permission, so before a child starts the parent walks
 * the graph (`deno info --json`) and refuses remote modules and local ones
 * outside the allowed roots or inside the forbidden ones.
 *
 * @module
 */
import { isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL } from "node:url";

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

/** One module of a `deno info --json` graph (fields this grader reads). */
interface GraphModule {
  specifier: string;
  local?: string;
  error?: string;
  kind?: string;
}

/**
 * Walks the static module graph of `entry` with `deno info --json` and returns
 * the problems: modules that failed to resolve, remote modules, local modules
 * outside `allowedRoots` or inside `forbiddenRoots`. An empty list means the
 * graph is acceptable.
 */
export async function checkModuleGraph(
  entry: string,
  config: string,
  allowedRoots: string[],
  forbiddenRoots: string[],
): Promise<{ problems: string[]; importErrors: string[]; files: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--no-lock", "--config", config, entry],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success || text.trim() === "") {
    return { problems: [], importErrors: [new TextDecoder().decode(out.stderr).trim()], files: [] };
  }
  const graph = JSON.parse(text) as { modules?: GraphModule[] };
  const problems: string[] = [];
  const importErrors: string[] = [];
  const files: string[] = [];
  for (const m of graph.modules ?? []) {
    if (m.error) {
      importErrors.push(`${m.specifier}: ${m.error}`);
      continue;
    }
    const spec = m.specifier;
    if (spec.startsWith("http:") || spec.startsWith("https:")) {
      problems.push(`remote module ${spec} (graded code may import only local files and npm:)`);
    } else if (spec.startsWith("file:")) {
      const path = fromFileUrl(spec);
      if (!allowedRoots.some((r) => within(path, r))) {
        problems.push(`${path} is outside the project and the module's folder`);
      } else if (forbiddenRoots.some((r) => within(path, r))) {
        problems.push(`${path} is inside a folder graded code may not import from`);
      } else {
        files.push(path);
      }
    }
  }
  return { problems, importErrors, files };
}
