/**
 * Runs one task module in a fenced Deno subprocess and collects its
 * predictions.
 *
 * Graded (untrusted) code runs in a Worker of the child process whose
 * permissions are all off except read/write of its own output folder
 * (`grader/child_worker.ts`). The child's main isolate (`grader/child.ts`, our
 * code only) reads the train/valid files from a fresh temp folder, may load a
 * native BLAS through FFI and serves it to the Worker over a shared buffer
 * (`models/wasm_blas/remote_blas.ts`), and writes the predictions it receives,
 * copied and checked, to a folder the Worker cannot reach. The process gets
 * no network, no subprocesses, and env access only to the BLAS settings.
 * Trusted modules (the lab's own) run in the main isolate with FFI, as before.
 *
 * Deno loads statically imported modules without checking read permission,
 * so before starting the child the parent walks the module graph
 * (`deno info --json`) and refuses local modules outside the project and the
 * module's own folder, or inside the data/cache folders, and any remote
 * (http/https) module. Test images are written only after the task has
 * trained and said so; test labels never leave the parent.
 *
 * The parent fences the run: a wall-clock limit, a cap on the child's
 * resident memory (polled from `/proc/<pid>/status`, so ArrayBuffers count),
 * a cap on the output folder's size and a cap on the log it takes in. Each
 * ends the run with its own {@link FailureKind} and a plain message, kills
 * the process group and empties the output folder. Symbolic links and special
 * files are never left in the output folder.
 *
 * The work is split in a pure {@link planSandbox} (paths, permissions, argv,
 * environment; unit-tested) and a session (spawn, messages, limits, kill).
 * Every failure (import error, exception, permission error, limit, crash,
 * bad protocol) comes back as a {@link SandboxFailure}; this module never
 * throws for a misbehaving task.
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL } from "node:url";
import type { ImageSet, Protocol } from "../data/types.ts";
import {
  type ChildHeader,
  type ChildMessage,
  classifyError,
  type FailureKind,
  FILES,
  MESSAGE_MARK,
  predictionFile,
  ROLE_NAME,
  type RoleInfo,
  type SandboxFailure,
  splitFile,
} from "./protocol.ts";
import { workerPermissions } from "./child.ts";
import { DEFAULT_LIMITS } from "./rubric.ts";
import type { BackendRequest } from "../compute/backend_request.ts";
import { BLAS_ENV_NAMES } from "../compute/blas_env.ts";

export type { FailureKind, SandboxFailure } from "./protocol.ts";

/** Predictions of one role on each split, as the child wrote them (not yet validated). */
export interface RolePredictions {
  /** The role's name, history and config as reported by the child. */
  info: RoleInfo;
  /** Raw predictions per split (validated later by `evaluate.ts`). */
  predictions: { train: Float32Array; valid: Float32Array; test: Float32Array };
}

/** The outcome of {@link runSandboxed}. */
export interface SandboxResult {
  /** Set when the run failed as a whole. */
  failure?: SandboxFailure;
  /** Roles whose predictions arrived. */
  roles: Record<string, RolePredictions>;
  /** Per-role failures (e.g. predict threw for `logreg`). */
  roleErrors: Record<string, string>;
  /** Backend reported by the child, when it selected one. */
  backend?: { name: string; skipped: string[] };
  /** Seconds spent in `train()` as measured by the child. */
  trainSeconds?: number;
  /** Seconds spent predicting, as measured by the child. */
  predictSeconds?: number;
  /** Wall-clock seconds of the whole subprocess, measured by the parent. */
  wallSeconds: number;
  /** The last lines of the task's own output (stdout and stderr). */
  logTail: string;
  /** The subprocess's exit code (`null` when killed by a signal). */
  exitCode: number | null;
  /** The exact permission flags the child ran with (for the report). */
  permissions: string[];
  /** Largest resident memory of the child seen by the parent's polls, MiB. */
  peakRssMb?: number;
}

/** Resource caps of one run (MiB); {@link DEFAULT_LIMITS} for those absent. */
export interface SandboxLimits {
  /** Resident memory of the child process. */
  memoryMb?: number;
  /** Total size of the output folder. */
  outputMb?: number;
  /** Bytes of output (stdout + stderr) the parent takes in. */
  logMb?: number;
}

/** One sandboxed run. */
export interface SandboxRequest {
  /** Path (absolute or relative to the cwd) or file URL of the task module. */
  module: string;
  /** Training images handed to the task. */
  train: ImageSet;
  /** Validation images handed to the task. */
  valid: ImageSet;
  /** Test images only: labels stay with the caller. */
  testImages: { images: Uint8Array; count: number };
  /** `TaskInput.seed`. */
  seed: number;
  /** `TaskInput.epochs`. */
  epochs?: number;
  /** `TaskInput.batchSize`. */
  batchSize?: number;
  /** `TaskInput.protocol`: the data protocol of the splits. */
  protocol?: Protocol;
  /** The task's output folder (cleared first); the only place it may write. */
  outDir: string;
  /** Wall-clock limit for the whole subprocess, seconds. */
  timeoutSeconds: number;
  /** Runs the module in the child's main isolate with FFI, env and sys info: the lab's own tasks. */
  trusted: boolean;
  /** Backend selection done by the child before training; `null`/absent: none. */
  backend?: BackendRequest | null;
  /** Project root (holds deno.json); local modules must live here or beside the module. */
  projectRoot: string;
  /** Folders no imported module may come from (data dir, cache dir, out/). */
  forbiddenRoots?: string[];
  /** V8 heap limit for the child, MiB. */
  maxMemoryMb?: number;
  /** Resource caps enforced by the parent. */
  limits?: SandboxLimits;
  /** Serve graded code native BLAS from the child's main isolate (default true). */
  nativeBlas?: boolean;
  /** Receives every line the task prints (up to the log cap). */
  onLine?: (line: string) => void;
  /** BLAS settings passed to the child's environment (e.g. `NOTMNIST_BLAS_THREADS`). */
  trustedEnv?: Record<string, string>;
}

/** Locations of Deno's caches, from `deno info --json`. */
export interface DenoDirs {
  /** Root of Deno's cache. */
  denoDir: string;
  /** npm package cache (the child may read it: wasm binaries live there). */
  npmCache: string;
}

let denoDirsCache: Promise<DenoDirs> | undefined;

/** Asks `deno info --json` where Deno keeps its caches (cached per process). */
export function denoDirs(): Promise<DenoDirs> {
  denoDirsCache ??= (async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno info --json failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      denoDir: string;
      npmCache: string;
    };
    return { denoDir: info.denoDir, npmCache: info.npmCache };
  })();
  return denoDirsCache;
}

/** Resolves a module path or URL given on the command line to a file URL string. */
export function moduleUrl(module: string, cwd: string = Deno.cwd()): string {
  if (module.startsWith("file:")) return module;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) {
    throw new Error(`task module "${module}": only local files can be graded`);
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

/** The tfjs-backend-wasm binaries the Worker needs, by file name. */
export const WASM_FILES: readonly string[] = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
];

/**
 * Paths of tfjs-backend-wasm's binaries in Deno's npm cache, for the version
 * the project's `deno.json` imports (graded code's Worker cannot read files:
 * the child's main isolate reads these and hands the bytes over).
 */
export function wasmBinaryPaths(npmCache: string, denoJson: string): Record<string, string> {
  const imports = (JSON.parse(denoJson) as { imports?: Record<string, string> }).imports ?? {};
  const spec = imports["@tensorflow/tfjs-backend-wasm"] ?? "";
  const version = /@(\d+\.\d+\.\d+[^/]*)$/.exec(spec)?.[1];
  if (!version) {
    throw new Error("deno.json does not pin @tensorflow/tfjs-backend-wasm to a version");
  }
  const dist = join(
    npmCache,
    "registry.npmjs.org",
    "@tensorflow",
    "tfjs-backend-wasm",
    version,
    "dist",
  );
  return Object.fromEntries(WASM_FILES.map((f) => [f, join(dist, f)]));
}

/** BLAS settings the sandboxed child's main isolate may read from its environment. */
export { BLAS_ENV_NAMES };

/** Everything about a run decided before anything starts: a pure function of the request. */
export interface SandboxPlan {
  /** Temp folder of the run (removed at the end). */
  work: string;
  /** Folder with the files handed to the child. */
  dataDir: string;
  /** Folder the child writes predictions to (graded code cannot reach it). */
  predsDir: string;
  /** The task's output folder. */
  outDir: string;
  /** File URL of the task module. */
  moduleUrl: string;
  /** Files to write before spawning: entry files. */
  files: Record<string, string>;
  /** The file whose module graph is checked (holds the task module's import). */
  graphEntry: string;
  /** Roots local modules must be in. */
  allowedRoots: string[];
  /** Roots no local module may be in. */
  forbiddenRoots: string[];
  /** Deno permission flags of the child process. */
  permissions: string[];
  /** Permissions of graded code's Worker (absent for trusted runs). */
  workerPermissions?: Deno.PermissionOptionsObject;
  /** Executable to spawn. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** The child's whole environment. */
  env: Record<string, string>;
  /** The header written to the data folder. */
  header: ChildHeader;
}

/** What {@link planSandbox} needs besides the request: facts found by the session. */
export interface PlanContext {
  /** The run's temp folder. */
  work: string;
  /** Deno's cache folders. */
  dirs: DenoDirs;
  /** Path of the deno executable. */
  execPath: string;
  /** Whether `setsid` is available (the child then gets its own process group). */
  setsid: boolean;
  /** Secret of the run (protocol lines carry it). */
  token: string;
  /** tfjs-backend-wasm binaries for graded code ({@link wasmBinaryPaths}). */
  wasmFiles: Record<string, string>;
  /** URL of `grader/child.ts` (its folder holds `child_worker.ts`, `child_backend.ts`). */
  childUrl: string;
  /**
   * Local files of the Worker's module graph ({@link checkModuleGraph}): a
   * Worker checks read permission even for static imports, so graded code may
   * read exactly these (and its output folder).
   */
  moduleFiles?: string[];
}

/** Plans a run: paths, entry files, permissions, argv and environment. Pure. */
export function planSandbox(req: SandboxRequest, ctx: PlanContext): SandboxPlan {
  const projectRoot = resolve(req.projectRoot);
  const outDir = resolve(req.outDir);
  const url = moduleUrl(req.module);
  const modulePath = fromFileUrl(url);
  const dataDir = join(ctx.work, "data");
  const predsDir = join(ctx.work, "preds");
  const entry = join(ctx.work, "entry.ts");
  const sibling = (name: string): string => new URL(`./${name}`, ctx.childUrl).href;
  const files: Record<string, string> = {};
  const dirs = ctx.dirs;
  const blasEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.trustedEnv ?? {})) {
    if (BLAS_ENV_NAMES.includes(k)) blasEnv[k] = v;
  }
  const env: Record<string, string> = {
    DENO_DIR: dirs.denoDir,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    ...blasEnv,
  };
  const header: ChildHeader = {
    seed: req.seed,
    epochs: req.epochs,
    batchSize: req.batchSize,
    protocol: req.protocol,
    counts: { train: req.train.count, valid: req.valid.count },
    backend: req.backend ?? null,
    token: ctx.token,
  };
  let graphEntry = entry;
  let permissions: string[];
  let worker: Deno.PermissionOptionsObject | undefined;
  const backendLine = req.backend
    ? `import { selectChildBackend } from ${JSON.stringify(sibling("child_backend.ts"))};\n`
    : "";
  if (req.trusted) {
    files[entry] = `import { runChild } from ${JSON.stringify(ctx.childUrl)};\n` + backendLine +
      `await runChild(() => import(${JSON.stringify(url)}), Deno.args${
        req.backend ? ", (h) => selectChildBackend(h.backend)" : ""
      });\n`;
    permissions = [
      "--no-prompt",
      `--allow-read=${[dataDir, outDir, dirs.npmCache, "/proc/cpuinfo"].join(",")}`,
      `--allow-write=${[outDir, predsDir].join(",")}`,
      "--allow-ffi",
      "--allow-env",
      "--allow-sys",
    ];
  } else {
    const workerEntry = join(ctx.work, "worker_entry.ts");
    files[workerEntry] =
      `import { runWorker } from ${JSON.stringify(sibling("child_worker.ts"))};\n` +
      `runWorker(() => import(${JSON.stringify(url)}));\n`;
    files[entry] = `import { runWorkerHost } from ${JSON.stringify(ctx.childUrl)};\n` +
      `await runWorkerHost(${JSON.stringify(pathToFileURL(workerEntry).href)}, Deno.args);\n`;
    graphEntry = workerEntry;
    const moduleFiles = ctx.moduleFiles ?? [];
    header.worker = { wasmFiles: ctx.wasmFiles, blas: req.nativeBlas ?? true, moduleFiles };
    worker = workerPermissions(outDir, moduleFiles);
    permissions = [
      "--no-prompt",
      "--unstable-worker-options",
      `--allow-read=${
        [
          dataDir,
          outDir,
          workerEntry,
          ...Object.values(ctx.wasmFiles),
          "/proc/cpuinfo",
          ...moduleFiles,
        ].join(",")
      }`,
      `--allow-write=${[outDir, predsDir].join(",")}`,
      ...(header.worker.blas ? ["--allow-ffi", `--allow-env=${BLAS_ENV_NAMES.join(",")}`] : []),
    ];
  }
  const denoArgs = [
    "run",
    ...permissions,
    "--no-lock",
    "--config",
    join(projectRoot, "deno.json"),
    `--v8-flags=--max-old-space-size=${req.maxMemoryMb ?? 6144}`,
    entry,
    dataDir,
    outDir,
    predsDir,
  ];
  return {
    work: ctx.work,
    dataDir,
    predsDir,
    outDir,
    moduleUrl: url,
    files,
    graphEntry,
    allowedRoots: [projectRoot, dirname(modulePath), ctx.work],
    forbiddenRoots: [
      join(projectRoot, "out"),
      ...(req.forbiddenRoots ?? []).map((r) => resolve(r)),
    ],
    permissions,
    workerPermissions: worker,
    command: ctx.setsid ? "setsid" : ctx.execPath,
    args: ctx.setsid ? [ctx.execPath, ...denoArgs] : denoArgs,
    env,
    header,
  };
}

async function writeSet(dir: string, name: "train" | "valid", set: ImageSet): Promise<void> {
  await Deno.writeFile(
    join(dir, splitFile(name, "images")),
    set.images.subarray(0, set.count * 784),
  );
  await Deno.writeFile(join(dir, splitFile(name, "labels")), set.labels.subarray(0, set.count));
}

/** A small line splitter over a byte stream; `onBytes` sees every chunk's size first. */
async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  onBytes: (n: number) => boolean,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    // Past the log cap, the rest is read and dropped (the child is being stopped).
    if (!onBytes(chunk.length)) continue;
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
    if (pending.length > 1_000_000) {
      // A runaway line without newline: pass it on in pieces instead of growing without bound.
      onLine(pending);
      pending = "";
    }
  }
  pending += decoder.decode();
  if (pending) onLine(pending);
}

/** Whether `setsid` is available to put the child into its own process group. */
async function hasSetsid(): Promise<boolean> {
  try {
    const out = await new Deno.Command("setsid", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/** Parses the `VmRSS` line of `/proc/<pid>/status` (KiB). */
export function parseVmRss(line: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(line);
  return m ? Number(m[1]) : undefined;
}

/**
 * Watches the resident memory of process `pid` every `intervalMs`, calling
 * `onKb` with each reading (KiB). Deno reads `/proc/<pid>` only with
 * `--allow-all`, so a small shell loop (needs run permission) reads it and
 * streams the `VmRSS` lines. Returns a stopper; a missing shell means no
 * readings (`onKb` is never called).
 */
export function watchRss(
  pid: number,
  onKb: (kb: number) => void,
  intervalMs = 100,
): { stop: () => Promise<void> } {
  let proc: Deno.ChildProcess;
  try {
    proc = new Deno.Command("sh", {
      args: [
        "-c",
        'while [ -r "/proc/$1/status" ]; do grep "^VmRSS:" "/proc/$1/status" || exit 0; ' +
        'sleep "$2"; done',
        "rss-watch",
        String(pid),
        String(intervalMs / 1000),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch {
    return { stop: () => Promise.resolve() };
  }
  const reading = forEachLine(proc.stdout, (line) => {
    const kb = parseVmRss(line);
    if (kb !== undefined) onKb(kb);
  }, () => true).catch(() => {});
  return {
    stop: async () => {
      try {
        proc.kill("SIGKILL");
      } catch {
        // already gone
      }
      await proc.status.catch(() => {});
      await reading;
    },
  };
}

/** Size and oddities of a folder tree, without following links. */
export interface FolderUsage {
  /** Bytes of regular files. */
  bytes: number;
  /** Entries seen. */
  entries: number;
  /** Paths of symbolic links and special files (neither file nor folder). */
  odd: string[];
}

/** Walks `dir` with `lstat` (links are never followed); stops counting past `maxEntries`. */
export async function folderUsage(dir: string, maxEntries = 100_000): Promise<FolderUsage> {
  const usage: FolderUsage = { bytes: 0, entries: 0, odd: [] };
  const stack = [dir];
  while (stack.length > 0 && usage.entries <= maxEntries) {
    const d = stack.pop()!;
    let list: Deno.DirEntry[];
    try {
      list = await Array.fromAsync(Deno.readDir(d));
    } catch {
      continue;
    }
    for (const e of list) {
      usage.entries++;
      const p = join(d, e.name);
      if (e.isSymlink) usage.odd.push(p);
      else if (e.isDirectory) stack.push(p);
      else if (e.isFile) {
        try {
          usage.bytes += (await Deno.lstat(p)).size;
        } catch {
          // removed meanwhile
        }
      } else usage.odd.push(p);
    }
  }
  return usage;
}

async function emptyFolder(dir: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(dir)) {
      await Deno.remove(join(dir, e.name), { recursive: true }).catch(() => {});
    }
  } catch {
    // gone already
  }
}

/** Failure kinds of the parent's caps: such a run's output folder is emptied. */
const LIMIT_KINDS: readonly FailureKind[] = ["memory", "output", "log"];

/** Removes symbolic links and special files from `dir` (nothing but files and folders stays). */
async function removeOdd(dir: string, logLines: string[]): Promise<void> {
  const usage = await folderUsage(dir);
  for (const p of usage.odd) {
    await Deno.remove(p).catch(() => {});
    logLines.push(
      `grader: removed ${relative(dir, p)} from the output folder (not a file or folder)`,
    );
  }
}

function randomToken(): string {
  return [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

const MIB = 1024 * 1024;

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
    if (err instanceof Error && /only local files/.test(err.message)) {
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

  const graph = await checkModuleGraph(
    plan.graphEntry,
    join(resolve(req.projectRoot), "deno.json"),
    plan.allowedRoots,
    plan.forbiddenRoots,
  );
  if (graph.importErrors.length > 0) {
    return finish({
      kind: "import",
      message: `the module graph of ${modulePath} does not load:\n${graph.importErrors.join("\n")}`,
    });
  }
  if (graph.problems.length > 0) {
    return finish({
      kind: "forbidden-import",
      message: `refused to run ${modulePath}: ${graph.problems.join("; ")}`,
    });
  }
  if (plan.workerPermissions) {
    plan = planSandbox(req, { ...planContext, moduleFiles: graph.files });
    result.permissions = plan.permissions;
  }
  await Deno.writeTextFile(join(plan.dataDir, FILES.header), JSON.stringify(plan.header));
  const session = await runSession(plan, req, limits, useSetsid, logLines);
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

type Ready = Extract<ChildMessage, { type: "ready" }>;
type Done = Extract<ChildMessage, { type: "done" }>;

async function collect(
  plan: SandboxPlan,
  ready: Ready,
  done: Done,
  result: SandboxResult,
): Promise<SandboxFailure | undefined> {
  for (const [role, info] of Object.entries(ready.roles)) {
    if (!ROLE_NAME.test(role)) continue;
    if (done.roleErrors[role]) {
      result.roleErrors[role] = classifyRoleError(done.roleErrors[role]);
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

interface SessionOutcome {
  failure?: SandboxFailure;
  ready?: Ready;
  done?: Done;
  partial: Partial<SandboxResult>;
}

/** Spawns the planned child, runs the protocol and enforces the limits. */
async function runSession(
  plan: SandboxPlan,
  req: SandboxRequest,
  limits: { memoryMb: number; outputMb: number; logMb: number },
  useSetsid: boolean,
  logLines: string[],
): Promise<SessionOutcome> {
  const partial: Partial<SandboxResult> = {};
  let logBytes = 0;
  let limitHit: SandboxFailure | undefined;
  const pushLog = (line: string): void => {
    logLines.push(line.length > 2000 ? line.slice(0, 2000) + " ..." : line);
    if (logLines.length > 60) logLines.shift();
    req.onLine?.(line);
  };

  const child = new Deno.Command(plan.command, {
    args: plan.args,
    cwd: plan.work,
    clearEnv: true,
    env: plan.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killGroup = (): void => {
    try {
      if (useSetsid) Deno.kill(-child.pid, "SIGKILL");
      else child.kill("SIGKILL");
    } catch {
      // already gone
    }
  };
  const stopFor = (failure: SandboxFailure): void => {
    limitHit ??= failure;
    killGroup();
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, req.timeoutSeconds * 1000);

  // Output size, polled; resident memory, watched.
  let peakKb = 0;
  let polling = false;
  const poll = async (): Promise<void> => {
    if (polling || limitHit) return;
    polling = true;
    try {
      const usage = await folderUsage(plan.outDir);
      if (usage.bytes > limits.outputMb * MIB || usage.entries > 100_000) {
        stopFor({
          kind: "output",
          message:
            `the task wrote ${(usage.bytes / MIB).toFixed(1)} MiB (${usage.entries} entries) ` +
            `to its output folder, more than the ${limits.outputMb} MiB cap; it was stopped and ` +
            `its output folder emptied`,
        });
      }
    } finally {
      polling = false;
    }
  };
  const poller = setInterval(poll, 100);
  const rss = watchRss(child.pid, (kb) => {
    peakKb = Math.max(peakKb, kb);
    if (kb > limits.memoryMb * 1024) {
      stopFor({
        kind: "memory",
        message: `the task's process used ${Math.round(kb / 1024)} MiB of memory, more than ` +
          `the ${limits.memoryMb} MiB cap; it was stopped and its output folder emptied`,
      });
    }
  });

  const onBytes = (n: number): boolean => {
    logBytes += n;
    if (logBytes > limits.logMb * MIB) {
      stopFor({
        kind: "log",
        message:
          `the task printed more than ${limits.logMb} MiB of output; it was stopped and its ` +
          `output folder emptied`,
      });
      return false;
    }
    return true;
  };

  const messages: ChildMessage[] = [];
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const mark = MESSAGE_MARK + plan.header.token;
  const onStdout = (line: string): void => {
    const at = line.indexOf(mark);
    if (at >= 0) {
      if (at > 0) pushLog(line.slice(0, at));
      try {
        messages.push(JSON.parse(line.slice(at + mark.length)) as ChildMessage);
        notify();
      } catch {
        pushLog(line);
      }
    } else {
      pushLog(line);
    }
  };
  // Protocol lines still count against the log cap: they are bytes the parent reads.
  const stdoutDone = forEachLine(child.stdout, onStdout, onBytes);
  const stderrDone = forEachLine(child.stderr, pushLog, onBytes);
  let exited = false;
  const statusPromise = child.status.then((s) => {
    exited = true;
    notify();
    return s;
  });
  const writer = child.stdin.getWriter();

  const next = async (): Promise<ChildMessage | undefined> => {
    while (messages.length === 0 && !exited) {
      await new Promise<void>((r) => (wake = r));
    }
    return messages.shift();
  };

  let failure: SandboxFailure | undefined;
  let ready: Ready | undefined;
  let done: Done | undefined;
  try {
    for (let msg = await next(); msg; msg = await next()) {
      if (msg.type === "backend") partial.backend = { name: msg.name, skipped: msg.skipped };
      else if (msg.type === "error") {
        const kind: FailureKind = msg.stage === "import"
          ? (classifyError(msg.errorName, msg.message) === "permission" ? "permission" : "import")
          : msg.stage === "contract"
          ? "contract"
          : msg.stage === "setup"
          ? "setup"
          : classifyError(msg.errorName, msg.message);
        failure = { kind, message: `${msg.stage} failed: ${msg.message}` };
        break;
      } else if (msg.type === "ready" && !ready) {
        ready = msg;
        partial.trainSeconds = msg.trainSeconds;
        await Deno.writeFile(
          join(plan.dataDir, FILES.testImages),
          req.testImages.images.subarray(0, req.testImages.count * 784),
        );
        await Deno.writeTextFile(
          join(plan.dataDir, FILES.testHeader),
          JSON.stringify({ count: req.testImages.count }),
        );
        await writer.write(new TextEncoder().encode("predict\n")).catch(() => {});
        await writer.close().catch(() => {});
      } else if (msg.type === "done" && ready) {
        done = msg;
        partial.predictSeconds = msg.predictSeconds;
        break;
      }
    }
  } finally {
    await writer.close().catch(() => {});
  }
  if (!exited) {
    // Give the child a moment to exit on its own, then stop its process group.
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([statusPromise, new Promise((r) => (grace = setTimeout(r, 2000)))]);
    clearTimeout(grace);
  }
  if (!exited) killGroup();
  const status = await statusPromise;
  clearTimeout(timer);
  clearInterval(poller);
  await rss.stop();
  while (polling) await new Promise((r) => setTimeout(r, 10));
  await Promise.all([stdoutDone.catch(() => {}), stderrDone.catch(() => {})]);
  // One last look: a task may write just before it exits.
  await poll();
  partial.exitCode = status.signal ? null : status.code;
  partial.peakRssMb = Math.round(peakKb / 1024);

  if (limitHit) return { failure: limitHit, partial };
  if (timedOut && !done) {
    return {
      failure: {
        kind: "timeout",
        message: `timed out after ${req.timeoutSeconds} s (${
          ready ? "while predicting" : "while training"
        }); the process group was killed`,
      },
      partial,
    };
  }
  if (failure) return { failure, partial };
  if (!ready || !done) {
    const tail = logLines.slice(-8).join("\n");
    const firstPermission = logLines.find((l) => /NotCapable|Requires \w+ access/.test(l));
    return {
      failure: {
        kind: firstPermission ? "permission" : "crash",
        message:
          `the task process exited (code ${status.code}${
            status.signal ? `, signal ${status.signal}` : ""
          }) before ${ready ? "returning predictions" : "finishing training"}` +
          (tail ? `; last output:\n${tail}` : ""),
      },
      partial,
    };
  }
  return { ready, done, partial };
}

function classifyRoleError(message: string): string {
  return classifyError("", message) === "permission" ? `permission denied: ${message}` : message;
}
