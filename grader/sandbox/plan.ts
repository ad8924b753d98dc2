/**
 * The pure part of a sandboxed run: {@link planSandbox} decides paths, entry
 * files, permissions (the child's flags and the Worker's), argv and
 * environment from the request and a few facts found by the session.
 *
 * @module
 */
import { ENGINE_FLAGS_ENV, engineEnv, v8FlagsArg } from "../../compute/v8_flags.ts";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL } from "node:url";
import { type ChildHeader, workerPermissions } from "./protocol.ts";
import { moduleUrl } from "./module_graph.ts";
import { CACHED_ONLY_FLAG, LOCKED_FLAGS, NO_REGISTRY_ENV } from "./no_registry.ts";
import type { SandboxRequest } from "./types.ts";
import { BLAS_ENV_NAMES, BLAS_THREADS_ENV } from "../../compute/blas_env.ts";
import { DEFAULT_NUMERICS } from "../../compute/numerics.ts";
import { runOrigin, webCachePath } from "./web_storage.ts";

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
  /** The run's Cache API store, blocked before the run and removed after it (`web_storage.ts`). */
  webCache: string;
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
  /** URL of `grader/sandbox/child.ts` (its folder holds `child_worker.ts`, `child_backend.ts`). */
  childUrl: string;
  /**
   * Local files of the Worker's module graph (`checkModuleGraph`): a
   * Worker checks read permission even for static imports, so graded code may
   * read exactly these (and its output folder).
   */
  moduleFiles?: string[];
}

/**
 * Whether the child needs FFI: only `fast` numerics (the native BLAS) or a
 * forced tfjs-node backend; `reproducible` runs the portable core, in
 * WebAssembly.
 */
export function childNeedsFfi(req: Pick<SandboxRequest, "backend">): boolean {
  const force = req.backend?.force ?? "";
  return (req.backend?.numerics ?? DEFAULT_NUMERICS) === "fast" || force.startsWith("tfjs-node");
}

/**
 * The environment names the child's main isolate may read: every BLAS
 * setting with FFI, else only the engine's thread count (the portable core's
 * threads; they never change a bit); and the engine's V8 flags (set by the
 * plan itself: they choose the register tile, never a bit).
 */
export function childEnvNames(ffi: boolean): readonly string[] {
  return [...(ffi ? BLAS_ENV_NAMES : [BLAS_THREADS_ENV]), ENGINE_FLAGS_ENV];
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
  const ffi = childNeedsFfi(req);
  const envNames = childEnvNames(ffi);
  // The portable core's Workers (compute/portable/gemm_worker.ts and its imports) must be readable.
  const portableDir = fromFileUrl(new URL("../../compute/portable/", ctx.childUrl));
  const blasEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.trustedEnv ?? {})) {
    if (envNames.includes(k)) blasEnv[k] = v;
  }
  const env: Record<string, string> = {
    DENO_DIR: dirs.denoDir,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    ...NO_REGISTRY_ENV,
    ...blasEnv,
    ...engineEnv(),
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
      `--allow-read=${[dataDir, outDir, dirs.npmCache, "/proc/cpuinfo", portableDir].join(",")}`,
      `--allow-write=${[outDir, predsDir].join(",")}`,
      ...(ffi ? ["--allow-ffi"] : []),
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
          portableDir,
          ...moduleFiles,
        ].join(",")
      }`,
      `--allow-write=${[outDir, predsDir].join(",")}`,
      ...(header.worker.blas
        ? [...(ffi ? ["--allow-ffi"] : []), `--allow-env=${envNames.join(",")}`]
        : []),
    ];
  }
  const origin = runOrigin(ctx.token);
  const denoArgs = [
    "run",
    `--location=${origin}/`,
    ...permissions,
    ...LOCKED_FLAGS,
    CACHED_ONLY_FLAG,
    "--config",
    join(projectRoot, "deno.json"),
    ...v8FlagsArg([`--max-old-space-size=${req.maxMemoryMb ?? 6144}`]),
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
    webCache: webCachePath(dirs.denoDir, origin),
  };
}
