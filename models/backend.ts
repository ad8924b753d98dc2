/**
 * Backend selection: tries, in order, tfjs-node-gpu, tfjs-node, the native-BLAS
 * CPU backend ("wasm-blas"), wasm, then pure JS cpu; `--backend NAME` forces one.
 * The run logs the backend in use and, for each skipped one, why.
 *
 * ```ts
 * import { selectBackend } from "./models/backend.ts";
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
import "@tensorflow/tfjs-backend-cpu";
import {
  defaultTfjsNodeDeps,
  loadTfjsNode,
  TFJS_NODE_BACKEND,
  type TfjsNodeDeps,
  type TfjsNodePackage,
} from "./tfjs_node.ts";
import { BACKEND_ORDER, type BackendName, parseBackendName } from "./backend_names.ts";

export { BACKEND_ORDER, type BackendName, parseBackendName };

/** The backend in use and, for each one tried before it, why it was skipped. */
export interface BackendChoice {
  /** The backend now active in tfjs-core. */
  name: BackendName;
  /** Backends tried before `name` and the reason each could not start. */
  skipped: { name: BackendName; reason: string }[];
  /** Extra facts about the chosen backend (library, threads), when it reports any. */
  detail?: string;
}

/** What starting one backend gives: the tfjs backend name to activate, or why it cannot start. */
export type BackendStartResult =
  | { ok: true; tfName: string; detail?: string }
  | { ok: false; reason: string };

/** Makes one backend available to tfjs-core (registers it) without activating it. */
export type BackendStarter = () => Promise<BackendStartResult>;

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions {
  /** Backend name to use instead of trying the order (from `--backend`). */
  force?: string;
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

async function startWasmBlas(): Promise<BackendStartResult> {
  let mod: typeof import("./wasm_blas.ts");
  try {
    mod = await import("./wasm_blas.ts");
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const missing = (err as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND" ||
      /not found|Cannot find module/i.test(message);
    return {
      ok: false,
      reason: missing
        ? "not available: wasm-blas module missing"
        : `failed to load: ${message.split("\n")[0]}`,
    };
  }
  const r = await mod.registerWasmBlasBackend();
  if (!r.ok) return { ok: false, reason: r.reason ?? "not available" };
  const facts = [
    r.library,
    r.threads === undefined ? undefined : `${r.threads} threads`,
    r.coreType,
  ].filter((f) => f !== undefined);
  return { ok: true, tfName: "wasm-blas", detail: facts.join(", ") || undefined };
}

function defaultStarters(tfjsNodeDeps: Partial<TfjsNodeDeps>): Record<BackendName, BackendStarter> {
  return {
    "tfjs-node-gpu": tfjsNodeStarter("tfjs-node-gpu", tfjsNodeDeps),
    "tfjs-node": tfjsNodeStarter("tfjs-node", tfjsNodeDeps),
    "wasm-blas": startWasmBlas,
    "wasm": registeredStarter("wasm", "@tensorflow/tfjs-backend-wasm"),
    "cpu": registeredStarter("cpu", "@tensorflow/tfjs-backend-cpu"),
  };
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
    const why = warnings.map((w) => w.split("\n")[0].trim())
      .find((w) => w !== "" && !/^Initialization of backend .* failed$/.test(w));
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
  const starters = { ...defaultStarters(opts.tfjsNodeDeps ?? {}), ...opts.starters };
  if (opts.force !== undefined) {
    const name = parseBackendName(opts.force);
    const r = await activate(starters[name]);
    if (!r.ok) throw new Error(`--backend ${name}: cannot start: ${r.reason}`);
    log(`backend: ${name}${r.detail ? ` (${r.detail})` : ""}`);
    return { name, skipped: [], detail: r.detail };
  }
  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of BACKEND_ORDER) {
    const r = await activate(starters[name]);
    if (r.ok) {
      for (const s of skipped) log(`skipped ${s.name}: ${s.reason}`);
      log(`backend: ${name}${r.detail ? ` (${r.detail})` : ""}`);
      return { name, skipped, detail: r.detail };
    }
    skipped.push({ name, reason: r.reason });
  }
  throw new Error(
    "no backend could start: " + skipped.map((s) => `${s.name}: ${s.reason}`).join("; "),
  );
}
