/**
 * Runs one task module in a fenced Deno subprocess and collects its
 * predictions.
 *
 * The child (`grader/child.ts`) gets no network, no environment variables, no
 * subprocesses, no FFI (unless `trusted`), read access only to a fresh temp
 * folder holding the train/valid files and to the npm cache (module loading:
 * the wasm backend reads its `.wasm` file from there), and write access only
 * to its own output folder. Deno loads statically imported modules without
 * checking read permission, so before starting the child the parent walks the
 * module graph (`deno info --json`) and refuses local modules outside the
 * project and the module's own folder, or inside the data/cache folders, and
 * any remote (http/https) module. Test images are written only after the task
 * has trained and said so; test labels never leave the parent.
 *
 * Every failure (import error, exception, permission error, timeout, crash,
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
  MESSAGE_MARK,
  predictionFile,
  ROLE_NAME,
  type RoleInfo,
} from "./child.ts";

/** What went wrong in a sandboxed run. */
export type FailureKind =
  | "import"
  | "contract"
  | "exception"
  | "permission"
  | "timeout"
  | "crash"
  | "forbidden-import"
  | "setup";

/** A failed sandboxed run: a kind for the report and a message for the student. */
export interface SandboxFailure {
  /** Classification of the failure. */
  kind: FailureKind;
  /** Human-readable explanation, including the task's own error message. */
  message: string;
}

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
  /** Allows FFI (native BLAS backend), `/proc/cpuinfo`, env and sys info: the lab's own tasks. */
  trusted: boolean;
  /** Backend selection done by the child before training; `null`/absent: none. */
  backend?: { force?: string } | null;
  /** Project root (holds deno.json); local modules must live here or beside the module. */
  projectRoot: string;
  /** Folders no imported module may come from (data dir, cache dir, out/). */
  forbiddenRoots?: string[];
  /** V8 heap limit for the child, MiB. */
  maxMemoryMb?: number;
  /** Receives every line the task prints. */
  onLine?: (line: string) => void;
  /** Extra environment variables passed to a trusted child (e.g. `NOTMNIST_BLAS_THREADS`). */
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
): Promise<{ problems: string[]; importErrors: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--no-lock", "--config", config, entry],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success || text.trim() === "") {
    return { problems: [], importErrors: [new TextDecoder().decode(out.stderr).trim()] };
  }
  const graph = JSON.parse(text) as { modules?: GraphModule[] };
  const problems: string[] = [];
  const importErrors: string[] = [];
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
      }
    }
  }
  return { problems, importErrors };
}

function entrySource(module: string, childUrl: string, backend: boolean): string {
  const lines = [
    `import { runChild } from ${JSON.stringify(childUrl)};`,
  ];
  if (backend) {
    lines.push(
      `import { selectChildBackend } from ${
        JSON.stringify(new URL("./child_backend.ts", childUrl).href)
      };`,
    );
  }
  lines.push(
    `await runChild(() => import(${JSON.stringify(module)}), Deno.args${
      backend ? ", selectChildBackend" : ""
    });`,
  );
  return lines.join("\n") + "\n";
}

async function writeSet(dir: string, name: string, set: ImageSet): Promise<void> {
  await Deno.writeFile(join(dir, `${name}_images.u8`), set.images.subarray(0, set.count * 784));
  await Deno.writeFile(join(dir, `${name}_labels.u8`), set.labels.subarray(0, set.count));
}

function classify(errorName: string, message: string): FailureKind {
  if (
    errorName === "NotCapable" || errorName === "PermissionDenied" ||
    /NotCapable|PermissionDenied|Requires \w+ access/.test(message)
  ) {
    return "permission";
  }
  return "exception";
}

/** A small line splitter over a byte stream. */
async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
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

/**
 * Runs `req.module` in a fenced subprocess: trains it on the handed data,
 * hands it the test images, and returns each role's raw predictions. Never
 * throws because of the task's behaviour; grader-side setup errors (e.g. the
 * temp folder cannot be created) do throw.
 */
export async function runSandboxed(req: SandboxRequest): Promise<SandboxResult> {
  const started = performance.now();
  const projectRoot = resolve(req.projectRoot);
  const config = join(projectRoot, "deno.json");
  const outDir = resolve(req.outDir);
  const url = moduleUrl(req.module);
  const modulePath = fromFileUrl(url);
  const work = await Deno.makeTempDir({ prefix: "notmnist-grade-" });
  const dataDir = join(work, "data");
  await Deno.mkdir(dataDir);
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(outDir, { recursive: true });

  const logLines: string[] = [];
  const pushLog = (line: string): void => {
    logLines.push(line.length > 2000 ? line.slice(0, 2000) + " ..." : line);
    if (logLines.length > 60) logLines.shift();
    req.onLine?.(line);
  };
  const result: SandboxResult = {
    roles: {},
    roleErrors: {},
    wallSeconds: 0,
    logTail: "",
    exitCode: null,
    permissions: [],
  };
  const finish = async (failure?: SandboxFailure): Promise<SandboxResult> => {
    if (failure) result.failure = failure;
    result.wallSeconds = (performance.now() - started) / 1000;
    result.logTail = logLines.join("\n");
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await Deno.remove(join(outDir, ".grader"), { recursive: true }).catch(() => {});
    return result;
  };

  try {
    await Deno.stat(modulePath);
  } catch {
    return finish({ kind: "import", message: `task module not found: ${modulePath}` });
  }

  const header: ChildHeader = {
    seed: req.seed,
    epochs: req.epochs,
    batchSize: req.batchSize,
    protocol: req.protocol,
    counts: { train: req.train.count, valid: req.valid.count },
    backend: req.backend ?? null,
  };
  await writeSet(dataDir, "train", req.train);
  await writeSet(dataDir, "valid", req.valid);
  await Deno.writeTextFile(join(dataDir, "header.json"), JSON.stringify(header));
  const entry = join(work, "entry.ts");
  const childUrl = new URL("./child.ts", import.meta.url).href;
  await Deno.writeTextFile(entry, entrySource(url, childUrl, Boolean(req.backend)));

  const graph = await checkModuleGraph(
    entry,
    config,
    [projectRoot, dirname(modulePath), work],
    [join(projectRoot, "out"), ...(req.forbiddenRoots ?? []).map((r) => resolve(r))],
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

  const dirs = await denoDirs();
  const read = [dataDir, outDir, dirs.npmCache];
  const permissions = ["--no-prompt", `--allow-write=${outDir}`];
  const env: Record<string, string> = {
    DENO_DIR: dirs.denoDir,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
  };
  if (req.trusted) {
    read.push("/proc/cpuinfo");
    permissions.push("--allow-ffi", "--allow-env", "--allow-sys");
    Object.assign(env, req.trustedEnv ?? {});
  }
  permissions.push(`--allow-read=${read.join(",")}`);
  result.permissions = permissions;
  const denoArgs = [
    "run",
    ...permissions,
    "--no-lock",
    "--config",
    config,
    `--v8-flags=--max-old-space-size=${req.maxMemoryMb ?? 6144}`,
    entry,
    dataDir,
    outDir,
  ];
  const useSetsid = await hasSetsid();
  const child = new Deno.Command(useSetsid ? "setsid" : Deno.execPath(), {
    args: useSetsid ? [Deno.execPath(), ...denoArgs] : denoArgs,
    cwd: work,
    clearEnv: true,
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let timedOut = false;
  const killGroup = (): void => {
    try {
      if (useSetsid) Deno.kill(-child.pid, "SIGKILL");
      else child.kill("SIGKILL");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, req.timeoutSeconds * 1000);

  const messages: ChildMessage[] = [];
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const onStdout = (line: string): void => {
    const at = line.indexOf(MESSAGE_MARK);
    if (at >= 0) {
      if (at > 0) pushLog(line.slice(0, at));
      try {
        messages.push(JSON.parse(line.slice(at + MESSAGE_MARK.length)) as ChildMessage);
        notify();
      } catch {
        pushLog(line);
      }
    } else {
      pushLog(line);
    }
  };
  const stdoutDone = forEachLine(child.stdout, onStdout);
  const stderrDone = forEachLine(child.stderr, pushLog);
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
  let ready: Extract<ChildMessage, { type: "ready" }> | undefined;
  let done: Extract<ChildMessage, { type: "done" }> | undefined;
  try {
    for (let msg = await next(); msg; msg = await next()) {
      if (msg.type === "backend") result.backend = { name: msg.name, skipped: msg.skipped };
      else if (msg.type === "error") {
        const kind = msg.stage === "import"
          ? (classify(msg.errorName, msg.message) === "permission" ? "permission" : "import")
          : msg.stage === "contract"
          ? "contract"
          : msg.stage === "setup"
          ? "setup"
          : classify(msg.errorName, msg.message);
        failure = { kind, message: `${msg.stage} failed: ${msg.message}` };
        break;
      } else if (msg.type === "ready" && !ready) {
        ready = msg;
        result.trainSeconds = msg.trainSeconds;
        await Deno.writeFile(
          join(dataDir, "test_images.u8"),
          req.testImages.images.subarray(0, req.testImages.count * 784),
        );
        await Deno.writeTextFile(
          join(dataDir, "test.json"),
          JSON.stringify({ count: req.testImages.count }),
        );
        await writer.write(new TextEncoder().encode("predict\n")).catch(() => {});
        await writer.close().catch(() => {});
      } else if (msg.type === "done" && ready) {
        done = msg;
        result.predictSeconds = msg.predictSeconds;
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
  await Promise.all([stdoutDone.catch(() => {}), stderrDone.catch(() => {})]);
  result.exitCode = status.signal ? null : status.code;

  if (timedOut && !done) {
    return finish({
      kind: "timeout",
      message:
        `timed out after ${req.timeoutSeconds} s (${
          ready ? "while predicting" : "while training"
        }); ` +
        `the process group was killed`,
    });
  }
  if (failure) return finish(failure);
  if (!ready || !done) {
    const tail = logLines.slice(-8).join("\n");
    const firstPermission = logLines.find((l) => /NotCapable|Requires \w+ access/.test(l));
    return finish({
      kind: firstPermission ? "permission" : "crash",
      message:
        `the task process exited (code ${status.code}${
          status.signal ? `, signal ${status.signal}` : ""
        }) before ${ready ? "returning predictions" : "finishing training"}` +
        (tail ? `; last output:\n${tail}` : ""),
    });
  }

  for (const [role, info] of Object.entries(ready.roles)) {
    if (!ROLE_NAME.test(role)) continue;
    if (done.roleErrors[role]) {
      result.roleErrors[role] = classifyRoleError(done.roleErrors[role]);
      continue;
    }
    try {
      const preds = {} as RolePredictions["predictions"];
      for (const split of ["train", "valid", "test"] as const) {
        const bytes = await Deno.readFile(join(outDir, ".grader", predictionFile(role, split)));
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
  return finish();
}

function classifyRoleError(message: string): string {
  return classify("", message) === "permission" ? `permission denied: ${message}` : message;
}
