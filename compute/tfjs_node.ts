/**
 * Loader for the native TensorFlow backends `@tensorflow/tfjs-node-gpu` and
 * `@tensorflow/tfjs-node` (both 4.22.0) under Deno.
 *
 * Neither package is in deno.json: their install script downloads libtensorflow
 * 2.9.1 from storage.googleapis.com, which the machines this project is built on
 * cannot reach. A user who has them installed (see docs/gpu.md) gets them; everyone
 * else gets a specific reason why not, and the caller falls back to the next
 * backend. The specifier is computed at run time so the module graph never pulls
 * either package, and every side effect (import, library probe, permission query,
 * environment) is injectable so tests can fake presence and absence.
 *
 * @module
 */
import nodeUtil from "node:util";

/** The two native tfjs packages, by their short name. */
export type TfjsNodePackage = "tfjs-node-gpu" | "tfjs-node";

/** The tfjs-node version this project's tfjs-core (4.22.0) works with. */
export const TFJS_NODE_VERSION = "4.22.0";

/** The name under which tfjs-node and tfjs-node-gpu register their backend. */
export const TFJS_NODE_BACKEND = "tensorflow";

/** CUDA libraries libtensorflow 2.9.1 (CUDA 11.2 / cuDNN 8.1 build) opens, probed in this order. */
export const CUDA_LIBRARIES: readonly string[] = [
  "libcuda.so.1",
  "libcudart.so.11.0",
  "libcublas.so.11",
  "libcudnn.so.8",
];

/** Result of trying to load one native package. */
export type TfjsNodeLoadResult =
  | { ok: true; specifier: string; shimmed: boolean }
  | { ok: false; reason: string };

/** The side effects {@link loadTfjsNode} performs; each can be replaced in tests. */
export interface TfjsNodeDeps {
  /** Imports a module by specifier (default: dynamic `import()`). */
  importer: (specifier: string) => Promise<unknown>;
  /** Throws when a specifier cannot be resolved (default: `import.meta.resolve`). */
  resolve: (specifier: string) => string;
  /** Opens a shared library; returns an error message, or `undefined` when it loads. */
  probeLibrary: (name: string) => string | undefined;
  /** Whether `--allow-ffi` is granted (Deno needs it to load Node-API addons). */
  ffiGranted: () => boolean;
  /** Reads an environment variable; `undefined` when unset or not permitted. */
  env: (name: string) => string | undefined;
  /** The `node:util` object the package will `require("util")`. */
  util: Record<string, unknown>;
  /** Whether the `tensorflow` backend is now registered with tfjs-core. */
  backendRegistered: () => boolean;
  /** Operating system, as `Deno.build.os`. */
  os: string;
}

/** Environment variable overriding the import specifier of each package. */
export const SPECIFIER_ENV: Readonly<Record<TfjsNodePackage, string>> = {
  "tfjs-node-gpu": "NOTMNIST_TFJS_NODE_GPU_SPECIFIER",
  "tfjs-node": "NOTMNIST_TFJS_NODE_SPECIFIER",
};

/** The npm name of a package, e.g. `@tensorflow/tfjs-node-gpu`. */
export function npmName(pkg: TfjsNodePackage): string {
  return ["@tensorflow", pkg].join("/");
}

/**
 * The exact steps that install `pkg` with its install script allowed. Deno runs
 * npm lifecycle scripts only with a node_modules folder, so deno.json needs
 * `"nodeModulesDir": "auto"` (for the install and for every later run).
 */
export function installCommand(pkg: TfjsNodePackage): string {
  return `set "nodeModulesDir": "auto" in deno.json, then run: deno install ` +
    `--allow-scripts=npm:${npmName(pkg)} npm:${npmName(pkg)}@${TFJS_NODE_VERSION}`;
}

/**
 * Installs `util.isNullOrUndefined` on `util` when it is missing (tfjs-node 4.22
 * calls it; newer Node versions and Deno's node:util removed it, tfjs #8609).
 * Returns true when the shim was installed, false when the function was present.
 */
export function installIsNullOrUndefinedShim(util: Record<string, unknown>): boolean {
  if (typeof util.isNullOrUndefined === "function") return false;
  util.isNullOrUndefined = (value: unknown): boolean => value === null || value === undefined;
  return true;
}

const CUDA_LIB_PATTERN =
  /(libcudart|libcudnn|libcublas(?:Lt)?|libcufft|libcurand|libcusolver|libcusparse|cudart64|cudnn64)[\w.]*/;

/** The message for a missing CUDA runtime library `lib` (e.g. `libcudart.so.11.0`). */
export function cudaMessage(lib: string): string {
  return `no CUDA: ${lib} could not be loaded. tfjs-node-gpu ${TFJS_NODE_VERSION} uses ` +
    "libtensorflow 2.9.1 built for CUDA 11.2 and cuDNN 8.1; CUDA 12+ / cuDNN 9 libraries " +
    "do not satisfy it (tfjs #8362, #8187). Install the CUDA 11.2 runtime and cuDNN 8.1 and " +
    "put their lib folders on LD_LIBRARY_PATH, e.g. " +
    "LD_LIBRARY_PATH=/usr/local/cuda-11.2/lib64:$LD_LIBRARY_PATH";
}

function firstLine(message: string): string {
  return message.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? message;
}

/** Maps an error thrown while loading `pkg` to a one-line reason a user can act on. */
export function explainTfjsNodeError(pkg: TfjsNodePackage, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const cuda = message.match(CUDA_LIB_PATTERN);
  if (cuda) return cudaMessage(cuda[0].replace(/[:;,]+$/, ""));
  if (/libcuda\.so/.test(message)) {
    return "no CUDA: the NVIDIA driver library libcuda.so.1 could not be loaded " +
      "(no NVIDIA driver on this machine?)";
  }
  if (message.includes("tfjs_binding.node")) {
    return `installed but its native binding (tfjs_binding.node) is missing: its install ` +
      `script, which downloads libtensorflow 2.9.1 and the addon from storage.googleapis.com, ` +
      `did not run (Deno skips npm install scripts unless allowed) or failed. To fix: ` +
      installCommand(pkg);
  }
  if (/libtensorflow/.test(message)) {
    return `no libtensorflow: ${firstLine(message)}. Its install script puts libtensorflow ` +
      `2.9.1 in node_modules/${npmName(pkg)}/deps/lib; to reinstall: ${installCommand(pkg)}`;
  }
  if (/NotCapable|--allow-ffi|Requires ffi/.test(message)) {
    return "no --allow-ffi: Deno needs --allow-ffi to load the native tfjs_binding.node addon";
  }
  if (
    code === "ERR_MODULE_NOT_FOUND" ||
    /not a dependency|Cannot find module|not found/i.test(message)
  ) {
    const detail = /not a dependency/.test(message)
      ? `"${npmName(pkg)}" is not in the import map`
      : firstLine(message);
    return `not installed: ${detail} (to install: ${installCommand(pkg)})`;
  }
  return `failed to load: ${firstLine(message)}`;
}

function defaultProbe(name: string): string | undefined {
  try {
    Deno.dlopen(name, {}).close();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function defaultEnv(name: string): string | undefined {
  try {
    // Query first: reading an unpermitted variable would prompt on a TTY.
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function defaultFfiGranted(): boolean {
  return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
}

/** The real side effects; `backendRegistered` must be supplied by the caller. */
export function defaultTfjsNodeDeps(backendRegistered: () => boolean): TfjsNodeDeps {
  return {
    importer: (specifier) => import(specifier),
    resolve: (specifier) => import.meta.resolve(specifier),
    probeLibrary: defaultProbe,
    ffiGranted: defaultFfiGranted,
    env: defaultEnv,
    util: nodeUtil as unknown as Record<string, unknown>,
    backendRegistered,
    os: Deno.build.os,
  };
}

/** Checks the CUDA libraries tfjs-node-gpu needs; returns the reason one is missing. */
export function checkCuda(deps: Pick<TfjsNodeDeps, "probeLibrary" | "os">): string | undefined {
  if (deps.os !== "linux") {
    return `no CUDA: this loader probes the CUDA 11.2 libraries on Linux only (os: ${deps.os})`;
  }
  for (const lib of CUDA_LIBRARIES) {
    const error = deps.probeLibrary(lib);
    if (error === undefined) continue;
    if (lib === "libcuda.so.1") {
      return `no CUDA: the NVIDIA driver library libcuda.so.1 could not be loaded ` +
        `(no NVIDIA GPU driver on this machine): ${firstLine(error)}`;
    }
    return cudaMessage(lib);
  }
  return undefined;
}

/**
 * Loads `pkg` so that the `tensorflow` backend is registered with tfjs-core.
 * Steps: resolve the specifier (env override or the bare npm name, which resolves
 * only if the user installed the package), require `--allow-ffi`, for the GPU
 * package probe the CUDA 11.2 / cuDNN 8 libraries (libtensorflow would otherwise
 * silently fall back to the CPU), install the `util.isNullOrUndefined` shim if
 * missing, import, and check the backend was registered. Never throws.
 */
export async function loadTfjsNode(
  pkg: TfjsNodePackage,
  deps: TfjsNodeDeps,
): Promise<TfjsNodeLoadResult> {
  const specifier = deps.env(SPECIFIER_ENV[pkg]) || npmName(pkg);
  try {
    deps.resolve(specifier);
  } catch (err) {
    return { ok: false, reason: explainTfjsNodeError(pkg, err) };
  }
  if (!deps.ffiGranted()) {
    return {
      ok: false,
      reason: "no --allow-ffi: Deno needs --allow-ffi to load the native tfjs_binding.node addon",
    };
  }
  if (pkg === "tfjs-node-gpu") {
    const missing = checkCuda(deps);
    if (missing !== undefined) return { ok: false, reason: missing };
  }
  const shimmed = installIsNullOrUndefinedShim(deps.util);
  try {
    await deps.importer(specifier);
  } catch (err) {
    return { ok: false, reason: explainTfjsNodeError(pkg, err) };
  }
  if (!deps.backendRegistered()) {
    return {
      ok: false,
      reason: `${specifier} loaded but did not register the "${TFJS_NODE_BACKEND}" backend ` +
        `with this tfjs-core (it needs @tensorflow/tfjs-core ${TFJS_NODE_VERSION})`,
    };
  }
  return { ok: true, specifier, shimmed };
}
