/**
 * Runs one task module in a fenced Deno subprocess and collects its
 * predictions.
 *
 * Graded (untrusted) code runs in a Worker of the child process whose
 * permissions are all off except read/write of its own output folder
 * (`grader/sandbox/child_worker.ts`). The child's main isolate (`grader/sandbox/child.ts`, our
 * code only) reads the train/valid files from a fresh temp folder, may load a
 * native BLAS through FFI and serves it to the Worker over a shared buffer
 * (`compute/blas/remote_blas.ts`), and writes the predictions it receives,
 * copied and checked, to a folder the Worker cannot reach. The process gets
 * no network, no subprocesses, and env access only to the BLAS settings.
 * Trusted modules (the lab's own) run in the main isolate with FFI, as before.
 *
 * Deno loads statically imported modules without checking read permission,
 * so before starting the child the parent walks the module graph
 * (`deno info --json`, under its own time limit) and refuses imports not on
 * the lab's list (`allowed_imports.ts`), local modules outside the project and
 * the module's own folder, or inside the data/cache folders, and any remote
 * (http/https) module. No `deno` it starts contacts a registry
 * (`no_registry.ts`): packages come from the lockfile and Deno's cache. Test images are written only after the task has
 * trained and said so; test labels never leave the parent.
 *
 * The parent fences the run: a wall-clock limit, a cap on the child's
 * resident memory (polled from `/proc/<pid>/status`, so ArrayBuffers count),
 * a cap on the output folder's size and a cap on the log it takes in. Each
 * ends the run with its own {@link FailureKind} and a plain message, kills
 * the process group and empties the output folder. Symbolic links and special
 * files are never left in the output folder. Each run has its own origin
 * (`--location`) whose Cache API store is blocked for the run
 * (`grader/sandbox/web_storage.ts`): no web store carries anything from one
 * run (one student) to another.
 *
 * The work is split in a pure {@link planSandbox} (paths, permissions, argv,
 * environment; unit-tested) and a session (spawn, messages, limits, kill).
 * Every failure (import error, exception, permission error, limit, crash,
 * bad protocol) comes back as a {@link SandboxFailure}; this module never
 * throws for a misbehaving task.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { ImageSet } from "../../data/types.ts";
import { PIXELS } from "../../data/types.ts";
import {
  FILES,
  predictionFile,
  ROLE_NAME,
  type RoleError,
  type SandboxFailure,
  splitFile,
} from "./protocol.ts";
import { DEFAULT_LIMITS } from "../rubric/rubric.ts";
import { checkModuleGraph, IMPORT_CHECK_SECONDS, NonLocalModuleError } from "./module_graph.ts";
import { allowedImports } from "./allowed_imports.ts";
import {
  denoDirs,
  type PlanContext,
  planSandbox,
  type SandboxPlan,
  wasmBinaryPaths,
} from "./plan.ts";
import { emptyFolder, LIMIT_KINDS, removeOdd } from "./limits.ts";
import { type Done, hasSetsid, type Ready, runSession } from "./session.ts";
import { blockWebCache, unblockWebCache } from "./web_storage.ts";
import type { RolePredictions, SandboxRequest, SandboxResult } from "./types.ts";

async function writeSet(dir: string, name: "train" | "valid", set: ImageSet): Promise<void> {
  await Deno.writeFile(
    join(dir, splitFile(name, "images")),
    set.images.subarray(0, set.count * PIXELS),
  );
  await Deno.writeFile(join(dir, splitFile(name, "labels")), set.labels.subarray(0, set.count));
}

function randomToken(): string {
  return [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * Runs `req.module` in a fenced subprocess: trains it on the handed data,
 * hands it the test images, and returns each role's raw predictions. Never
 * throws because of the task's behaviour; grader-side setup errors (e.g. the
 * temp folder cannot be created) do throw.
 */
export async function runSandboxed(req: SandboxRequest): Promise<SandboxResult> {
  const started = performance.now();
  const limits = { ...DEFAULT_LIMITS, ...req.limits };
  const work = await Deno.makeTempDir({ prefix: "notmnist-grade-" });
  const result: SandboxResult = {
    roles: {},
    roleErrors: {},
    wallSeconds: 0,
    logTail: "",
    exitCode: null,
    permissions: [],
  };
  const logLines: string[] = [];
  const finish = async (failure?: SandboxFailure): Promise<SandboxResult> => {
    if (failure) result.failure = failure;
    result.wallSeconds = (performance.now() - started) / 1000;
    result.logTail = logLines.join("\n");
    await Deno.remove(work, { recursive: true }).catch(() => {});
    return result;
  };

  let plan: SandboxPlan;
  let planContext: PlanContext;
  let useSetsid: boolean;
  try {
    const dirs = await denoDirs();
    const projectRoot = resolve(req.projectRoot);
    useSetsid = await hasSetsid();
    planContext = {
      work,
      dirs,
      execPath: Deno.execPath(),
      setsid: useSetsid,
      token: randomToken(),
      wasmFiles: req.trusted
        ? {}
        : wasmBinaryPaths(dirs.npmCache, await Deno.readTextFile(join(projectRoot, "deno.json"))),
      childUrl: new URL("./child.ts", import.meta.url).href,
    };
    plan = planSandbox(req, planContext);
  } catch (err) {
    if (err instanceof NonLocalModuleError) {
      return finish({ kind: "import", message: err.message });
    }
    await Deno.remove(work, { recursive: true }).catch(() => {});
    throw err;
  }
  const { outDir } = plan;
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.mkdir(plan.dataDir);
  await Deno.mkdir(plan.predsDir);
  result.permissions = plan.permissions;

  const modulePath = fromFileUrl(plan.moduleUrl);
  try {
    await Deno.stat(modulePath);
  } catch {
    return finish({ kind: "import", message: `task module not found: ${modulePath}` });
  }
  await writeSet(plan.dataDir, "train", req.train);
  await writeSet(plan.dataDir, "valid", req.valid);
  for (const [path, text] of Object.entries(plan.files)) await Deno.writeTextFile(path, text);
  if (plan.header.worker) {
    const missing = Object.values(plan.header.worker.wasmFiles).filter((p) => {
      try {
        return !Deno.statSync(p).isFile;
      } catch {
        return true;
      }
    });
    if (missing.length > 0) {
      return finish({
        kind: "setup",
        message: `tfjs-backend-wasm binaries not found in Deno's npm cache: ${missing.join(", ")}`,
      });
    }
  }

  const projectRoot = resolve(req.projectRoot);
  const denoJson = join(projectRoot, "deno.json");
  const graph = await checkModuleGraph({
    entry: plan.graphEntry,
    name: modulePath,
    config: denoJson,
    allowedRoots: plan.allowedRoots,
    forbiddenRoots: plan.forbiddenRoots,
    allowed: req.trusted ? undefined : allowedImports(await Deno.readTextFile(denoJson)),
    studentRoots: [dirname(modulePath)],
    libraryRoots: [projectRoot, work],
    denoDir: planContext.dirs.denoDir,
    timeoutSeconds: Math.min(IMPORT_CHECK_SECONDS, req.timeoutSeconds),
  });
  if (graph.failure) return finish(graph.failure);
  if (plan.workerPermissions) {
    plan = planSandbox(req, { ...planContext, moduleFiles: graph.files });
    result.permissions = plan.permissions;
  }
  await Deno.writeTextFile(join(plan.dataDir, FILES.header), JSON.stringify(plan.header));
  await blockWebCache(plan.webCache);
  let session: Awaited<ReturnType<typeof runSession>>;
  try {
    session = await runSession(plan, req, limits, useSetsid, logLines);
  } finally {
    await unblockWebCache(plan.webCache);
  }
  Object.assign(result, session.partial);
  if (session.failure) {
    // A run stopped at a cap leaves nothing behind; other failures keep the task's own output.
    if (LIMIT_KINDS.includes(session.failure.kind)) await emptyFolder(outDir);
    await removeOdd(outDir, logLines);
    return finish(session.failure);
  }
  await removeOdd(outDir, logLines);
  return finish(await collect(plan, session.ready!, session.done!, result));
}

async function collect(
  plan: SandboxPlan,
  ready: Ready,
  done: Done,
  result: SandboxResult,
): Promise<SandboxFailure | undefined> {
  for (const [role, info] of Object.entries(ready.roles)) {
    if (!ROLE_NAME.test(role)) continue;
    if (done.roleErrors[role]) {
      result.roleErrors[role] = roleErrorText(done.roleErrors[role]);
      continue;
    }
    try {
      const preds = {} as RolePredictions["predictions"];
      for (const split of ["train", "valid", "test"] as const) {
        const bytes = await Deno.readFile(join(plan.predsDir, predictionFile(role, split)));
        if (bytes.length % 4 !== 0) {
          throw new Error(`${split} predictions are ${bytes.length} bytes, not float32 values`);
        }
        preds[split] = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      }
      result.roles[role] = { info, predictions: preds };
    } catch (err) {
      result.roleErrors[role] = `predictions missing or unreadable: ${(err as Error).message}`;
    }
  }
  return undefined;
}

function roleErrorText(error: RoleError): string {
  return error.errorKind === "permission" ? `permission denied: ${error.message}` : error.message;
}
