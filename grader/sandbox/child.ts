/**
 * The sandboxed side of grading: the main isolate of the Deno subprocess
 * started by `grader/sandbox/run.ts`. It reads the train/valid files handed to it,
 * has the task trained, reports readiness, then waits for the grader to hand
 * over the test IMAGES (never labels) and writes each model role's
 * predictions as raw float32 files into a folder only it may write. What it
 * tells the parent goes over stdout as lines starting with
 * {@link MESSAGE_MARK} and the run's secret token; everything else on
 * stdout/stderr is the task's log.
 *
 * Two ways to run the task:
 * - {@link runWorkerHost} (graded code): the task runs in a Worker with no
 *   permissions but read/write of its output folder. This isolate (our code
 *   only) hands it the data by message; in `reproducible` numerics the Worker
 *   runs the portable core itself (no FFI anywhere), in `fast` this isolate
 *   holds FFI and serves it the native BLAS over a shared buffer
 *   (`compute/blas/remote_blas.ts`); it
 *   copies and checks everything the Worker sends back before using it.
 * - {@link runChild} (the lab's own, trusted tasks): the task runs in this
 *   isolate.
 *
 * The parent re-checks every file and every number it receives.
 *
 * @module
 */
import { type ImageSet, PIXELS } from "../../data/types.ts";
import type { TaskInput, TrainedModel } from "../../tasks/types.ts";
import type { BlasLibrary } from "../../compute/blas/library.ts";
import { openEngine } from "../../compute/engine.ts";
import { launchedRevectorized } from "../../compute/v8_flags.ts";
import { defaultBlasThreads } from "../../compute/blas/library.ts";

/** The engine's threads for graded code's Worker (which cannot read the environment). */
function engineThreads(): number {
  try {
    return defaultBlasThreads();
  } catch {
    return 1;
  }
}
import { DEFAULT_NUMERICS } from "../../compute/numerics.ts";
import { type BlasChannel, createBlasChannel, serveBlas } from "../../compute/blas/remote_blas.ts";
import {
  checkedErrorKind,
  type ChildHeader,
  type ChildMessage,
  type ErrorKind,
  type ErrorStage,
  EXIT,
  FILES,
  MESSAGE_MARK,
  predictionFile,
  ROLE_NAME,
  type RoleError,
  type RoleInfo,
  splitFile,
  type TestHeader,
  workerPermissions,
  type WorkerStart,
} from "./protocol.ts";
import {
  describeError,
  errorKindOfText,
  safeConfig,
  toFloat32,
  trainedRoles,
  trimHistory,
} from "./task_output.ts";

/** Optional hook the trusted child runs before training (e.g. backend selection). */
export type BeforeTrain = (
  header: ChildHeader,
) => Promise<{ name: string; skipped: string[] } | undefined>;

let token = "";

function send(message: ChildMessage): void {
  const line = MESSAGE_MARK + token + JSON.stringify(message) + "\n";
  Deno.stdout.writeSync(new TextEncoder().encode(line));
}

function fail(stage: ErrorStage, err: unknown): never {
  send({ type: "error", stage, ...describeError(err) });
  Deno.exit(EXIT.reported);
}

async function readSet(dir: string, name: "train" | "valid", count: number): Promise<ImageSet> {
  const images = await Deno.readFile(`${dir}/${splitFile(name, "images")}`);
  const labels = await Deno.readFile(`${dir}/${splitFile(name, "labels")}`);
  if (images.length !== count * PIXELS || labels.length !== count) {
    throw new Error(`${name} files do not match the header count ${count}`);
  }
  return { images, labels, count };
}

async function readLine(): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const buf = new Uint8Array(256);
  while (!text.includes("\n")) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n), { stream: true });
  }
  return text.trim();
}

async function readTest(dataDir: string): Promise<ImageSet> {
  const th = JSON.parse(await Deno.readTextFile(`${dataDir}/${FILES.testHeader}`)) as TestHeader;
  const images = await Deno.readFile(`${dataDir}/${FILES.testImages}`);
  if (!Number.isInteger(th.count) || images.length !== th.count * PIXELS) {
    throw new Error("test images do not match test.json");
  }
  return { images, labels: new Uint8Array(0), count: th.count };
}

async function readStart(
  args: string[],
): Promise<{ header: ChildHeader; train: ImageSet; valid: ImageSet; dirs: string[] }> {
  const [dataDir, outDir, predsDir] = args;
  if (!dataDir || !outDir || !predsDir) {
    throw new Error("usage: child <dataDir> <outDir> <predsDir>");
  }
  const header = JSON.parse(await Deno.readTextFile(`${dataDir}/${FILES.header}`)) as ChildHeader;
  token = String(header.token ?? "");
  const train = await readSet(dataDir, "train", header.counts.train);
  const valid = await readSet(dataDir, "valid", header.counts.valid);
  return { header, train, valid, dirs: [dataDir, outDir, predsDir] };
}

function writePrediction(
  predsDir: string,
  role: string,
  split: string,
  values: Float32Array,
): void {
  Deno.writeFileSync(
    `${predsDir}/${predictionFile(role, split as "train")}`,
    new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  );
}

/**
 * Runs a trusted task in this isolate: `load` imports the task module (a
 * literal dynamic import in the generated entry file, so loading needs no
 * read permission and an import-time failure is reported as such); `args` are
 * `[dataDir, outDir, predsDir]`. Never returns: exits 0 after the predictions
 * are written, 3 after reporting an error.
 */
export async function runChild(
  load: () => Promise<unknown>,
  args: string[],
  beforeTrain?: BeforeTrain,
): Promise<never> {
  let start: Awaited<ReturnType<typeof readStart>>;
  try {
    start = await readStart(args);
  } catch (err) {
    fail("setup", err);
  }
  const { header, train, valid } = start;
  const [dataDir, outDir, predsDir] = start.dirs;
  send({ type: "started" });

  let mod: unknown;
  try {
    mod = await load();
  } catch (err) {
    fail("import", err);
  }
  const trainFn = (mod as { train?: unknown }).train;
  if (typeof trainFn !== "function") {
    fail("contract", new Error("the module exports no `train(input: TaskInput)` function"));
  }
  if (beforeTrain) {
    try {
      const b = await beforeTrain(header);
      if (b) send({ type: "backend", name: b.name, skipped: b.skipped });
    } catch (err) {
      fail("setup", err);
    }
  }
  const input: TaskInput = {
    train,
    valid,
    seed: header.seed,
    epochs: header.epochs,
    batchSize: header.batchSize,
    protocol: header.protocol,
    outDir,
    log: (line: string) => console.log(line),
  };
  const t0 = performance.now();
  let models: Record<string, TrainedModel>;
  let roles: Record<string, RoleInfo>;
  try {
    const output = await (trainFn as (i: TaskInput) => Promise<unknown>)(input);
    ({ models, roles } = trainedRoles(output));
  } catch (err) {
    fail((err as { contract?: boolean }).contract ? "contract" : "train", err);
  }
  send({ type: "ready", roles, trainSeconds: (performance.now() - t0) / 1000 });

  if (await readLine() !== "predict") Deno.exit(EXIT.ok);
  let test: ImageSet;
  try {
    test = await readTest(dataDir);
  } catch (err) {
    fail("setup", err);
  }
  const t1 = performance.now();
  const roleErrors: Record<string, RoleError> = {};
  for (const role of Object.keys(roles)) {
    for (const [split, set] of [["test", test], ["train", train], ["valid", valid]] as const) {
      try {
        const out = toFloat32(await models[role].predict(set.images, set.count));
        if (typeof out === "string") throw new Error(out);
        writePrediction(predsDir, role, split, out);
      } catch (err) {
        const { message, errorKind } = describeError(err);
        roleErrors[role] = {
          message: `predict on the ${split} images failed: ${message}`,
          errorKind,
        };
        break;
      }
    }
  }
  send({ type: "done", predictSeconds: (performance.now() - t1) / 1000, roleErrors });
  Deno.exit(EXIT.ok);
}

function clip(text: unknown, max: number): string {
  const s = typeof text === "string" ? text : String(text);
  return s.length > max ? `${s.slice(0, max)} ...` : s;
}

/** Copies and checks a role map sent by the Worker; drops what does not fit. */
function checkedRoles(value: unknown): Record<string, RoleInfo> {
  const roles: Record<string, RoleInfo> = {};
  if (value === null || typeof value !== "object") return roles;
  for (const [role, info] of Object.entries(value).slice(0, 100)) {
    if (!ROLE_NAME.test(role) || info === null || typeof info !== "object") continue;
    const i = info as Record<string, unknown>;
    roles[role] = {
      name: clip(i.name ?? role, 200),
      history: trimHistory(i.history),
      config: safeConfig(i.config),
    };
  }
  return roles;
}

/** Most prediction values accepted per image (the grader expects 10). */
const MAX_VALUES_PER_IMAGE = 100;

/**
 * Runs graded code in a Worker (`workerUrl`, whose entry calls
 * `runWorker` of `child_worker.ts`) with {@link workerPermissions}, serving it
 * native BLAS when the header allows and a library loads. `args` are
 * `[dataDir, outDir, predsDir]`. Never returns: exits 0 after the predictions
 * are written, 3 after reporting an error.
 */
export async function runWorkerHost(workerUrl: string, args: string[]): Promise<never> {
  let start: Awaited<ReturnType<typeof readStart>>;
  let wasm: Record<string, Uint8Array>;
  try {
    start = await readStart(args);
    wasm = {};
    for (const [name, path] of Object.entries(start.header.worker?.wasmFiles ?? {})) {
      wasm[name] = await Deno.readFile(path);
    }
  } catch (err) {
    fail("setup", err);
  }
  const { header, train, valid } = start;
  const [dataDir, outDir, predsDir] = start.dirs;
  let blas: BlasLibrary | undefined;
  let channel: BlasChannel | undefined;
  let blasSkipped = "";
  let engine: { threads: number; wide: boolean } | undefined;
  const numerics = header.backend?.numerics ?? DEFAULT_NUMERICS;
  if (header.worker?.blas && numerics === "reproducible") {
    // The Worker runs the portable core itself (measured faster than serving it: no copies).
    engine = { threads: engineThreads(), wide: launchedRevectorized() };
  } else if (header.worker?.blas) {
    // Served in the grader's numerics mode (reproducible: the portable core).
    const open = await openEngine(numerics);
    if (open.ok) {
      blas = open.engine.blas;
      channel = createBlasChannel();
    } else {
      blasSkipped = open.reason;
    }
  }
  send({ type: "started" });

  const worker = new Worker(workerUrl, {
    type: "module",
    name: "graded",
    deno: { permissions: workerPermissions(outDir, header.worker?.moduleFiles ?? []) },
  });
  // The protocol's private port: graded code shares the Worker's global channel, never this one.
  const { port1: port, port2: workerPort } = new MessageChannel();
  let finished = false;
  let heap: WebAssembly.Memory | undefined;
  // The run's state and times, kept here: the Worker's word is taken only for what it alone knows.
  let trainingAt: number | undefined;
  let predictAt = 0;
  let backendSeen = false;
  let ready: Record<string, RoleInfo> | undefined;
  let done = false;
  const written = new Set<string>();
  const roleErrors: Record<string, RoleError> = {};
  const counts = { train: train.count, valid: valid.count, test: 0 };

  const stop = (
    stage: ErrorStage,
    errorName: string,
    errorKind: ErrorKind,
    message: string,
  ): void => {
    if (finished) return;
    finished = true;
    send({
      type: "error",
      stage,
      errorName: clip(errorName, 100),
      errorKind,
      message: clip(message, 20_000),
    });
    Deno.exit(EXIT.reported);
  };
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    const message = clip(e.message ?? "uncaught error in the task's worker", 20_000);
    const name = /^Uncaught (?:\(in promise\) )?(\w+)/.exec(message)?.[1] ?? "Error";
    stop(ready ? "predict" : "train", name, errorKindOfText(message), message);
  };
  port.onmessageerror = () =>
    stop(ready ? "predict" : "train", "Error", "exception", "unreadable message");
  // What graded code posts on the Worker's global channel is not the protocol: ignored.
  worker.onmessage = () => {};
  port.onmessage = async (e: MessageEvent<unknown>) => {
    // Untrusted: anything the Worker posts is copied and checked here before use.
    const m = e.data as Record<string, unknown> | null;
    if (finished || m === null || typeof m !== "object") return;
    const type = m.type;
    if (type === "heap" && heap === undefined) {
      // The Worker's wasm heap, served in place: only a shared memory is taken (once); every
      // request on it is bounded by its length when served.
      const memory = m.memory;
      if (memory instanceof WebAssembly.Memory && memory.buffer instanceof SharedArrayBuffer) {
        heap = memory;
      }
    } else if (type === "backend" && typeof m.name === "string" && !backendSeen && !trainingAt) {
      // Selected before graded code loads (child_worker.ts), so once and before training only.
      backendSeen = true;
      const skipped = Array.isArray(m.skipped)
        ? m.skipped.slice(0, 20).map((s) => clip(s, 500))
        : [];
      if (blasSkipped) skipped.push(`wasm-blas: ${blasSkipped}`);
      send({ type: "backend", name: clip(m.name, 200), skipped });
    } else if (type === "error") {
      const stage = (["import", "contract", "train", "predict", "setup"] as const)
        .find((s) => s === m.stage) ?? "train";
      stop(stage, clip(m.errorName, 100), checkedErrorKind(m.errorKind), clip(m.message, 20_000));
    } else if (type === "training" && trainingAt === undefined) {
      trainingAt = performance.now();
    } else if (type === "ready" && !ready && trainingAt !== undefined) {
      ready = checkedRoles(m.roles);
      if (!ready.main) {
        stop(
          "contract",
          "Error",
          "exception",
          "Error: train() returned no usable models.main (an object with a predict function)",
        );
        return;
      }
      send({ type: "ready", roles: ready, trainSeconds: (performance.now() - trainingAt) / 1000 });
      if (await readLine() !== "predict") {
        finished = true;
        Deno.exit(EXIT.ok);
      }
      let test: ImageSet;
      try {
        test = await readTest(dataDir);
      } catch (err) {
        fail("setup", err);
      }
      counts.test = test.count;
      predictAt = performance.now();
      port.postMessage({ type: "predict", test: { images: test.images, count: test.count } }, [
        test.images.buffer as ArrayBuffer,
      ]);
    } else if (type === "prediction" && ready) {
      const role = String(m.role);
      const split = (["train", "valid", "test"] as const).find((s) => s === m.split);
      const values = m.values;
      if (!(role in ready) || split === undefined || written.has(`${role}/${split}`)) return;
      if (!(values instanceof Float32Array)) return;
      if (values.length > counts[split] * MAX_VALUES_PER_IMAGE) {
        roleErrors[role] ??= {
          message: `predict on the ${split} images returned ${values.length} values, ` +
            `more than ${MAX_VALUES_PER_IMAGE} per image`,
          errorKind: "exception",
        };
        return;
      }
      // A copy: the Worker may still hold (or share) the memory it sent.
      const copy = new Float32Array(values.length);
      copy.set(values);
      try {
        writePrediction(predsDir, role, split, copy);
        written.add(`${role}/${split}`);
      } catch (err) {
        fail("setup", err);
      }
    } else if (type === "role-error" && ready) {
      const role = String(m.role);
      if (role in ready) {
        roleErrors[role] ??= {
          message: clip(m.message, 20_000),
          errorKind: checkedErrorKind(m.errorKind),
        };
      }
    } else if (type === "done" && ready && !done) {
      done = true;
      finished = true;
      send({ type: "done", predictSeconds: (performance.now() - predictAt) / 1000, roleErrors });
      Deno.exit(EXIT.ok);
    }
  };

  const startMessage: WorkerStart = {
    type: "start",
    seed: header.seed,
    epochs: header.epochs,
    batchSize: header.batchSize,
    protocol: header.protocol,
    outDir,
    train: { images: train.images, labels: train.labels, count: train.count },
    valid: { images: valid.images, labels: valid.labels, count: valid.count },
    wasm,
    backend: header.backend ?? null,
    port: workerPort,
    ...(engine ? { engine } : {}),
    blas: blas && channel
      ? {
        buffer: channel.buffer,
        library: blas.library,
        family: blas.family,
        coreType: blas.coreType,
        threads: blas.threads,
      }
      : undefined,
  };
  worker.postMessage(startMessage, [workerPort]);
  if (blas && channel) {
    await serveBlas(channel, blas, { stop: () => finished, heap: () => heap });
  }
  // Without BLAS to serve, the Worker's messages keep this isolate alive.
  return await new Promise<never>(() => {});
}
