/**
 * Backend selection: tries, in order, tfjs-node-gpu, tfjs-node, the native-BLAS
 * CPU backend ("wasm-blas"), wasm, then pure JS cpu; `--backend NAME` forces one.
 * The run logs the backend in use and, for each skipped one, why. The
 * numerics mode (compute/numerics.ts, default `reproducible`) pins what can
 * change a run's bits: the OpenBLAS kernel and threading of `wasm-blas`, the
 * wasm binary; tfjs-node is not used unless forced or in `fast` mode.
 *
 * ```ts
 * import { selectBackend } from "./compute/backend.ts";
 *
 * const choice = await selectBackend({ log: console.log });
 * // backend: wasm  (after "skipped tfjs-node-gpu: not installed: ..." lines)
 * console.log(choice.name);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import "./cpu_backend.ts";
import {
  defaultTfjsNodeDeps,
  loadTfjsNode,
  TFJS_NODE_BACKEND,
  type TfjsNodeDeps,
  type TfjsNodePackage,
} from "./tfjs_node.ts";
import type { BackendRequest } from "./backend_request.ts";
import { BACKEND_ORDER, type BackendName, parseBackendName } from "./backend_names.ts";
import {
  DEFAULT_NUMERICS,
  type NumericsFingerprint,
  numericsFingerprint,
  type NumericsMode,
} from "./numerics.ts";

export { BACKEND_ORDER, type BackendName, type BackendRequest, parseBackendName };

/** The backend in use and, for each one tried before it, why it was skipped. */
export interface BackendChoice {
  /** The backend now active in tfjs-core. */
  name: BackendName;
  /** Backends tried before `name` and the reason each could not start. */
  skipped: { name: BackendName; reason: string }[];
  /** Extra facts about the chosen backend (library, threads), when it reports any. */
  detail?: string;
  /** The numerics mode and what decides whether the run's bits can be reproduced elsewhere. */
  numerics: NumericsFingerprint;
}

/** What starting one backend gives: the tfjs backend name to activate, or why it cannot start. */
export type BackendStartResult =
  | {
    ok: true;
    tfName: string;
    detail?: string;
    /** The native BLAS behind the backend, for the numerics fingerprint. */
    blas?: { library: string; coreType?: string; threads?: number };
    /** Why the backend cannot give reproducible bits, if it cannot. */
    numericsProblem?: string;
  }
  | { ok: false; reason: string };

/** Makes one backend available to tfjs-core (registers it) without activating it. */
export type BackendStarter = () => Promise<BackendStartResult>;

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions extends BackendRequest {
  /** Where the "backend: NAME" and "skipped NAME: reason" lines go (default: none). */
  log?: (line: string) => void;
  /** Replacement starters by backend (tests); the others keep their real starter. */
  starters?: Partial<Record<BackendName, BackendStarter>>;
  /** Replacement side effects for the tfjs-node loader (tests). */
  tfjsNodeDeps?: Partial<TfjsNodeDeps>;
}

function registeredStarter(tfName: string, what: string): BackendStarter {
  return () =>
    Promise.resolve(
      tf.findBackendFactory(tfName) === null
        ? { ok: false, reason: `not registered: ${what} was not loaded` }
        : { ok: true, tfName },
    );
}

function tfjsNodeStarter(pkg: TfjsNodePackage, overrides: Partial<TfjsNodeDeps>): BackendStarter {
  return async () => {
    const deps = {
      ...defaultTfjsNodeDeps(() => tf.findBackendFactory(TFJS_NODE_BACKEND) !== null),
      ...overrides,
    };
    const loaded = await loadTfjsNode(pkg, deps);
    if (!loaded.ok) return loaded;
    return {
      ok: true,
      tfName: TFJS_NODE_BACKEND,
      detail: loaded.shimmed ? "util.isNullOrUndefined shim installed" : undefined,
    };
  };
}

async function startWasmBlas(numerics: NumericsMode): Promise<BackendStartResult> {
  let mod: typeof import("./wasm_blas/mod.ts");
  try {
    mod = await import("./wasm_blas/mod.ts");
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Deno marks a missing module with a code (typed), not only in the message.
    const missing = (err as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND";
    return {
      ok: false,
      reason: missing
        ? "not available: wasm-blas module missing"
        : `failed to load: ${message.split("\n")[0]}`,
    };
  }
  const r = await mod.registerWasmBlasBackend({ numerics });
  if (!r.ok) return { ok: false, reason: r.reason ?? "not available" };
  // A registration on a served BLAS (graded code's Worker) reports the mode it was served in.
  if (r.numerics !== undefined && r.numerics !== numerics) {
    return {
      ok: false,
      reason: `already registered with ${r.numerics} numerics in this process ` +
        `(OpenBLAS is pinned when loaded: one mode per process)`,
    };
  }
  const facts = [
    r.library,
    r.threads === undefined ? undefined : `${r.threads} threads`,
    r.coreType,
    numerics === "reproducible" ? "fixed-order" : undefined,
    r.coreTypeOverridden ? `OPENBLAS_CORETYPE=${r.coreTypeOverridden} overridden` : undefined,
  ].filter((f) => f !== undefined);
  return {
    ok: true,
    tfName: "wasm-blas",
    detail: facts.join(", ") || undefined,
    blas: { library: r.library ?? "unknown", coreType: r.coreType, threads: r.threads },
  };
}

/**
 * Pins the tfjs wasm binary in reproducible mode: the single-threaded SIMD
 * build (no thread pool). Returns why the bits cannot be the reference's
 * when this runtime has no wasm SIMD (the plain build runs other kernels).
 */
async function pinWasmBinary(numerics: NumericsMode): Promise<string | undefined> {
  if (numerics !== "reproducible") return undefined;
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  return simd ? undefined : "this runtime has no wasm SIMD (the non-SIMD wasm binary is used)";
}

function defaultStarters(
  tfjsNodeDeps: Partial<TfjsNodeDeps>,
  numerics: NumericsMode,
): Record<BackendName, BackendStarter> {
  return {
    "tfjs-node-gpu": tfjsNodeStarter("tfjs-node-gpu", tfjsNodeDeps),
    "tfjs-node": tfjsNodeStarter("tfjs-node", tfjsNodeDeps),
    "wasm-blas": () => startWasmBlas(numerics),
    "wasm": registeredStarter("wasm", "@tensorflow/tfjs-backend-wasm"),
    "cpu": registeredStarter("cpu", "@tensorflow/tfjs-backend-cpu"),
  };
}

/** Backends whose kernels reproducible mode cannot pin (skipped unless forced). */
const UNPINNED: readonly BackendName[] = ["tfjs-node-gpu", "tfjs-node"];

/** Wraps a starter so that the wasm binary is pinned before the backend initialises. */
function pinned(
  starter: BackendStarter,
  name: BackendName,
  numerics: NumericsMode,
): BackendStarter {
  return async () => {
    if (UNPINNED.includes(name)) {
      const r = await starter();
      return r.ok && numerics === "reproducible"
        ? { ...r, numericsProblem: `backend ${name} (TensorFlow C kernels) is not pinned` }
        : r;
    }
    if (name === "cpu") return starter();
    const problem = await pinWasmBinary(numerics);
    const r = await starter();
    return r.ok && problem ? { ...r, numericsProblem: problem } : r;
  };
}

function fingerprintOf(
  numerics: NumericsMode,
  name: BackendName,
  r: BackendStartResult,
): NumericsFingerprint {
  const started = r.ok ? r : undefined;
  return numericsFingerprint(numerics, {
    backend: name,
    blas: started?.blas,
    problem: started?.numericsProblem,
  });
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** Starts a backend and makes it the active tfjs backend; returns why not on failure. */
async function activate(starter: BackendStarter): Promise<BackendStartResult> {
  let started: BackendStartResult;
  try {
    started = await starter();
  } catch (err) {
    return { ok: false, reason: `failed to start: ${err instanceof Error ? err.message : err}` };
  }
  if (!started.ok) return started;
  const warn = console.warn;
  const warnings: string[] = [];
  // tf.setBackend reports an initialisation failure with console.warn and `false`.
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(" "));
  };
  let ok: boolean;
  try {
    ok = await tf.setBackend(started.tfName);
    if (ok) await tf.ready();
  } catch (err) {
    ok = false;
    warnings.push(err instanceof Error ? err.message : String(err));
  } finally {
    console.warn = warn;
  }
  if (!ok || tf.getBackend() !== started.tfName) {
    // tfjs warns twice on a failed initialisation: its generic line first, then the cause.
    const why = warnings.map((w) => w.split("\n")[0].trim()).filter((w) => w !== "").at(-1);
    return {
      ok: false,
      reason: `tf.setBackend("${started.tfName}") failed` + (why ? `: ${clip(why, 240)}` : ""),
    };
  }
  return started;
}

/**
 * Tries each backend in {@link BACKEND_ORDER} (or only `force`), activates the
 * first that starts (`tf.setBackend` + `tf.ready`), logs "backend: NAME" and one
 * "skipped NAME: reason" line per backend tried before it. A forced backend that
 * cannot start throws an Error naming it and the reason; an unknown forced name
 * throws an Error listing the valid names.
 */
export async function selectBackend(opts: SelectBackendOptions = {}): Promise<BackendChoice> {
  const log = opts.log ?? (() => {});
  const numerics = opts.numerics ?? DEFAULT_NUMERICS;
  const starters = { ...defaultStarters(opts.tfjsNodeDeps ?? {}, numerics), ...opts.starters };
  const start = (name: BackendName) => activate(pinned(starters[name], name, numerics));
  if (opts.force !== undefined) {
    const name = parseBackendName(opts.force);
    const r = await start(name);
    if (!r.ok) throw new Error(`--backend ${name}: cannot start: ${r.reason}`);
    log(`backend: ${name}${r.detail ? ` (${r.detail})` : ""}`);
    return { name, skipped: [], detail: r.detail, numerics: fingerprintOf(numerics, name, r) };
  }
  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of BACKEND_ORDER) {
    if (numerics === "reproducible" && UNPINNED.includes(name)) {
      skipped.push({
        name,
        reason: "not used with reproducible numerics (its kernels cannot be pinned; " +
          "--numerics fast or --backend uses it)",
      });
      continue;
    }
    const r = await start(name);
    if (r.ok) {
      for (const s of skipped) log(`skipped ${s.name}: ${s.reason}`);
      log(`backend: ${name}${r.detail ? ` (${r.detail})` : ""}`);
      return { name, skipped, detail: r.detail, numerics: fingerprintOf(numerics, name, r) };
    }
    skipped.push({ name, reason: r.reason });
  }
  throw new Error(
    "no backend could start: " + skipped.map((s) => `${s.name}: ${s.reason}`).join("; "),
  );
}
