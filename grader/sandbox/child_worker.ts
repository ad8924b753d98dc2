/**
 * The Worker side of a graded run: imports the task module and trains it,
 * inside a Worker of the child process whose permissions are all off except
 * read/write of the task's output folder (`grader/sandbox/child.ts` starts it). The
 * data arrives by message; the tfjs wasm binaries too (the Worker cannot read
 * files); the `wasm-blas` backend is registered on a remote BLAS served by the
 * main isolate (`compute/blas/remote_blas.ts`), so graded code trains at
 * native-BLAS speed without FFI.
 *
 * Nothing here is trusted by the main isolate: it copies and checks every
 * message this Worker posts.
 *
 * @module
 */
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import type { ImageSet } from "../../data/types.ts";
import type { TaskInput, TrainedModel } from "../../tasks/types.ts";
import { registerWasmBlasBackendWith } from "../../compute/wasm_blas/register.ts";
import { remoteBlasLibrary } from "../../compute/blas/remote_blas.ts";
import { createPortableBlas } from "../../compute/portable/mod.ts";
import { shareWasmMemory } from "../../compute/blas/shared_heap.ts";
import type { ErrorStage, MainToWorker, RoleInfo, WorkerStart, WorkerToMain } from "./protocol.ts";
import { selectChildBackend } from "./child_backend.ts";
import { describeError, TaskOutputError, toFloat32, trainedRoles } from "./task_output.ts";

/** The Worker's global scope, as far as this module uses it. */
interface WorkerScope {
  onmessage: ((e: MessageEvent<MainToWorker>) => void) | null;
  postMessage(message: WorkerToMain, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

// Captured before graded code loads (it may replace prototypes and globals later): the protocol
// runs over a private port only this module holds, so nothing graded code posts on the Worker's
// global channel reaches the main isolate as a protocol message, and what the main isolate sends
// (the test images) never arrives on a channel graded code can listen to. The first message the
// port delivers here is `predict`, sent only after this module posted `ready` (train() returned).
const apply = Reflect.apply;
const portPost = MessagePort.prototype.postMessage;
let port: MessagePort | undefined;

function post(message: WorkerToMain, transfer: Transferable[] = []): void {
  if (port) apply(portPost, port, [message, transfer]);
}

class Reported extends Error {}

function report(stage: ErrorStage, err: unknown): never {
  post({ type: "error", stage, ...describeError(err) });
  throw new Reported();
}

/**
 * Points tfjs-backend-wasm at in-memory copies of its binaries (the Worker
 * cannot read files); with `sharedHeap`, their memory made shared so the
 * remote BLAS can work on tensors in place.
 */
function useWasmBinaries(wasm: Record<string, Uint8Array>, sharedHeap: boolean): void {
  const urls: Record<string, string> = {};
  for (const [name, original] of Object.entries(wasm)) {
    const bytes = (sharedHeap ? shareWasmMemory(original) : undefined) ?? original;
    urls[name] = URL.createObjectURL(
      new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/wasm" }),
    );
  }
  const simd = urls["tfjs-backend-wasm-simd.wasm"] ?? urls["tfjs-backend-wasm.wasm"];
  if (simd === undefined) return;
  setWasmPaths({
    "tfjs-backend-wasm.wasm": urls["tfjs-backend-wasm.wasm"] ?? simd,
    "tfjs-backend-wasm-simd.wasm": simd,
    // Never loaded (tfjs turns threads off under Deno), but the map must name it.
    "tfjs-backend-wasm-threaded-simd.wasm": simd,
  }, true);
}

async function trainTask(
  start: WorkerStart,
  load: () => Promise<unknown>,
): Promise<{ models: Record<string, TrainedModel>; roles: Record<string, RoleInfo> }> {
  useWasmBinaries(start.wasm, start.blas !== undefined);
  if (start.engine) {
    // Reproducible: the portable core in this Worker. If it cannot start, wasm-blas registers
    // nothing, backend selection moves on (stock wasm) and the numerics line says "NO" and why.
    const { threads, wide } = start.engine;
    // Not waiting for its threads (~0.5 s to start from this Worker): calls run on this thread
    // until they are up, with the same bits.
    const blas = await createPortableBlas({ threads, wide, wait: false }).catch(() => undefined);
    if (blas) await registerWasmBlasBackendWith(blas, { numerics: start.backend?.numerics });
  } else if (start.blas) {
    const { buffer, ...info } = start.blas;
    const onHeap = (memory: WebAssembly.Memory): void => post({ type: "heap", memory });
    await registerWasmBlasBackendWith(remoteBlasLibrary(buffer, info, { onHeap }), {
      numerics: start.backend?.numerics,
    });
  }
  // Selected and reported before graded code loads: what it does later cannot change the report.
  if (start.backend !== null) {
    try {
      const b = await selectChildBackend(start.backend);
      post({ type: "backend", name: b.name, skipped: b.skipped });
    } catch (err) {
      report("setup", err);
    }
  }
  let mod: unknown;
  try {
    mod = await load();
  } catch (err) {
    report("import", err);
  }
  const trainFn = (mod as { train?: unknown }).train;
  if (typeof trainFn !== "function") {
    report("contract", new Error("the module exports no `train(input: TaskInput)` function"));
  }
  const input: TaskInput = {
    train: start.train,
    valid: start.valid,
    seed: start.seed,
    epochs: start.epochs,
    batchSize: start.batchSize,
    protocol: start.protocol,
    outDir: start.outDir,
    log: (line: string) => console.log(line),
  };
  post({ type: "training" });
  try {
    const output = await (trainFn as (i: TaskInput) => Promise<unknown>)(input);
    const trained = trainedRoles(output);
    post({ type: "ready", roles: trained.roles });
    return trained;
  } catch (err) {
    report(err instanceof TaskOutputError && err.contract ? "contract" : "train", err);
  }
}

async function predictAll(
  trained: { models: Record<string, TrainedModel>; roles: Record<string, RoleInfo> },
  sets: { test: ImageSet; train: ImageSet; valid: ImageSet },
): Promise<void> {
  for (const role of Object.keys(trained.roles)) {
    for (const split of ["test", "train", "valid"] as const) {
      const set = sets[split];
      try {
        const out = toFloat32(await trained.models[role].predict(set.images, set.count));
        if (typeof out === "string") throw new Error(out);
        // A copy of just the view (not the whole buffer behind it), handed over.
        const values = out.slice();
        post({ type: "prediction", role, split, values }, [values.buffer]);
      } catch (err) {
        const { message, errorKind } = describeError(err);
        post({
          type: "role-error",
          role,
          message: `predict on the ${split} images failed: ${message}`,
          errorKind,
        });
        break;
      }
    }
  }
  post({ type: "done" });
}

/**
 * Runs the Worker protocol: waits for the start message, trains the module
 * `load` imports (a literal dynamic import in the generated Worker entry, so
 * loading needs no read permission), posts readiness, then predicts the
 * splits when the test images arrive.
 */
export function runWorker(load: () => Promise<unknown>): void {
  // Deno.exit() and close() in a Worker end only the Worker, silently: the run would wait for its
  // time limit. Replaced before the task module loads, they report instead.
  let stage: ErrorStage = "train";
  const refuseExit = (what: string) => (): never => {
    const err = new Error(`the task called ${what}; graded code must return from train()`);
    post({ type: "error", stage, ...describeError(err) });
    throw err;
  };
  const g = globalThis as unknown as { close?: unknown };
  (Deno as unknown as { exit: unknown }).exit = refuseExit("Deno.exit()");
  g.close = refuseExit("close()");
  let start: WorkerStart | undefined;
  let trained: Promise<Awaited<ReturnType<typeof trainTask>>> | undefined;
  const onMessage = (m: MainToWorker): void => {
    if (m.type === "start" && !start) {
      start = m;
      port = m.port;
      port.onmessage = (e: MessageEvent<MainToWorker>) => onMessage(e.data);
      trained = trainTask(m, load);
      trained.catch((err) => {
        if (!(err instanceof Reported)) {
          post({ type: "error", stage: "train", ...describeError(err) });
        }
      });
    } else if (m.type === "predict" && start && trained) {
      stage = "predict";
      const s = start;
      const test: ImageSet = {
        images: m.test.images,
        labels: new Uint8Array(0),
        count: m.test.count,
      };
      trained.then((t) => predictAll(t, { test, train: s.train, valid: s.valid })).catch((err) => {
        if (!(err instanceof Reported)) {
          post({ type: "error", stage: "predict", ...describeError(err) });
        }
      });
    }
  };
  // Only the start message comes on the global channel (before graded code loads); the rest on
  // the private port it carries.
  scope.onmessage = (e: MessageEvent<MainToWorker>) => {
    if (e.data.type === "start") onMessage(e.data);
  };
}
