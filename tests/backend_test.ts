import * as tf from "@tensorflow/tfjs-core";
import { quietCpuBackend } from "../compute/cpu_backend.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../deps/assert.ts";
import {
  BACKEND_ORDER,
  type BackendStarter,
  parseBackendName,
  selectBackend,
} from "../compute/backend.ts";
import {
  cudaMessage,
  explainTfjsNodeError,
  installIsNullOrUndefinedShim,
  loadTfjsNode,
  TFJS_NODE_BACKEND,
  type TfjsNodeDeps,
} from "../compute/tfjs_node.ts";

const notFound = (specifier: string): never => {
  const err = new TypeError(
    `Import "${specifier}" not a dependency and not in import map from "file:///x.ts"`,
  );
  (err as TypeError & { code: string }).code = "ERR_MODULE_NOT_FOUND";
  throw err;
};

/** A machine where both packages are absent and wasm-blas cannot start. */
const absent: Partial<TfjsNodeDeps> = { resolve: notFound };
const noWasmBlas: BackendStarter = () =>
  Promise.resolve({ ok: false, reason: "not available: test says so" });

/** A machine with tfjs-node-gpu installed, CUDA 11.2 present and FFI granted. */
function presentDeps(importer: TfjsNodeDeps["importer"]): Partial<TfjsNodeDeps> {
  return {
    resolve: (s) => `npm:${s}`,
    ffiGranted: () => true,
    probeLibrary: () => undefined,
    os: "linux",
    env: () => undefined,
    util: {},
    importer,
  };
}

function fullDeps(over: Partial<TfjsNodeDeps>): TfjsNodeDeps {
  return {
    importer: () => Promise.reject(new Error("importer must not be called")),
    resolve: (s) => s,
    probeLibrary: () => undefined,
    ffiGranted: () => true,
    env: () => undefined,
    util: {},
    backendRegistered: () => true,
    os: "linux",
    ...over,
  };
}

Deno.test("parseBackendName accepts every name and lists them on a bad one", () => {
  for (const name of BACKEND_ORDER) assertEquals(parseBackendName(name), name);
  assertEquals(parseBackendName(" WASM "), "wasm");
  assertThrows(
    () => parseBackendName("gpu"),
    /--backend: unknown backend "gpu"; expected one of: tfjs-node-gpu, tfjs-node, wasm-blas, wasm, cpu/,
  );
});

Deno.test("absent tfjs-node packages are skipped with a reason and the next backend is chosen", async () => {
  const lines: string[] = [];
  const choice = await selectBackend({
    log: (l) => lines.push(l),
    tfjsNodeDeps: absent,
    starters: { "wasm-blas": noWasmBlas },
    numerics: "fast",
  });
  assertEquals(choice.name, "wasm");
  assertEquals(tf.getBackend(), "wasm");
  assertEquals(choice.skipped.map((s) => s.name), ["tfjs-node-gpu", "tfjs-node", "wasm-blas"]);
  assert(choice.skipped[0].reason.startsWith("not installed:"), choice.skipped[0].reason);
  assert(
    choice.skipped[0].reason.includes(
      'set "nodeModulesDir": "auto" in deno.json, then run: deno install ' +
        "--allow-scripts=npm:@tensorflow/tfjs-node-gpu npm:@tensorflow/tfjs-node-gpu@4.22.0",
    ),
    choice.skipped[0].reason,
  );
  assert(choice.skipped[1].reason.includes("--allow-scripts=npm:@tensorflow/tfjs-node "));
  assertEquals(lines.length, 4);
  assert(lines[0].startsWith("skipped tfjs-node-gpu: not installed"), lines[0]);
  assertEquals(lines[2], "skipped wasm-blas: not available: test says so");
  assertEquals(lines[3], "backend: wasm");
});

Deno.test("the real loader reports the packages absent on a machine without them", async () => {
  // This checks the real resolution path (no import map entry, no node_modules).
  const choice = await selectBackend({ starters: { "wasm-blas": noWasmBlas }, numerics: "fast" });
  const reasons = choice.skipped.filter((s) => s.name.startsWith("tfjs-node"));
  for (const r of reasons) assert(/^not installed|^no /.test(r.reason), r.reason);
  assertEquals(reasons.length, 2);
});

Deno.test("a fake tfjs-node-gpu that registers a 'tensorflow' backend is chosen first", async () => {
  let imported = "";
  const lines: string[] = [];
  const choice = await selectBackend({
    numerics: "fast",
    log: (l) => lines.push(l),
    tfjsNodeDeps: presentDeps((specifier) => {
      imported = specifier;
      tf.registerBackend(TFJS_NODE_BACKEND, quietCpuBackend);
      return Promise.resolve({});
    }),
  });
  try {
    assertEquals(imported, "@tensorflow/tfjs-node-gpu");
    assertEquals(choice.name, "tfjs-node-gpu");
    assertEquals(choice.skipped, []);
    assertEquals(tf.getBackend(), TFJS_NODE_BACKEND);
    const t = tf.tensor1d([1, 2]);
    assertEquals(Array.from(t.dataSync()), [1, 2]);
    t.dispose();
    assertEquals(lines, ["backend: tfjs-node-gpu (util.isNullOrUndefined shim installed)"]);
  } finally {
    tf.removeBackend(TFJS_NODE_BACKEND);
    await tf.setBackend("cpu");
  }
});

Deno.test("the isNullOrUndefined shim is installed only when missing", async () => {
  const bare: Record<string, unknown> = {};
  assertEquals(installIsNullOrUndefinedShim(bare), true);
  const shim = bare.isNullOrUndefined as (v: unknown) => boolean;
  assertEquals([null, undefined, 0, "", false, {}].map(shim), [
    true,
    true,
    false,
    false,
    false,
    false,
  ]);

  const own = (v: unknown): boolean => v == null;
  const withFn: Record<string, unknown> = { isNullOrUndefined: own };
  assertEquals(installIsNullOrUndefinedShim(withFn), false);
  assertEquals(withFn.isNullOrUndefined, own);

  // Through the loader: the shim is in place before the package is imported.
  const util: Record<string, unknown> = {};
  const r = await loadTfjsNode(
    "tfjs-node",
    fullDeps({
      util,
      importer: () => {
        assertEquals(typeof util.isNullOrUndefined, "function");
        return Promise.resolve({});
      },
    }),
  );
  assertEquals(r, { ok: true, specifier: "@tensorflow/tfjs-node", shimmed: true });
  const kept = await loadTfjsNode(
    "tfjs-node",
    fullDeps({ util: withFn, importer: () => Promise.resolve({}) }),
  );
  assertEquals(kept.ok && kept.shimmed, false);
  assertEquals(withFn.isNullOrUndefined, own);
});

Deno.test("a libcudart error maps to the CUDA 11.2 / cuDNN 8.1 message", () => {
  const reason = explainTfjsNodeError(
    "tfjs-node-gpu",
    new Error(
      "Could not load dynamic library 'libcudart.so.11.0'; dlerror: libcudart.so.11.0: " +
        "cannot open shared object file: No such file or directory",
    ),
  );
  assertEquals(reason, cudaMessage("libcudart.so.11.0"));
  for (
    const part of ["no CUDA", "libcudart.so.11.0", "CUDA 11.2", "cuDNN 8.1", "LD_LIBRARY_PATH"]
  ) {
    assert(reason.includes(part), `${part} missing from: ${reason}`);
  }
  assert(
    explainTfjsNodeError("tfjs-node-gpu", new Error("libcudnn.so.8: no")).includes("cuDNN 8.1"),
  );
});

Deno.test("missing CUDA libraries skip tfjs-node-gpu before importing it", async () => {
  const probed: string[] = [];
  const r = await loadTfjsNode(
    "tfjs-node-gpu",
    fullDeps({
      probeLibrary: (name) => {
        probed.push(name);
        return name === "libcudart.so.11.0" ? `${name}: cannot open shared object file` : undefined;
      },
    }),
  );
  assertEquals(r, { ok: false, reason: cudaMessage("libcudart.so.11.0") });
  assertEquals(probed, ["libcuda.so.1", "libcudart.so.11.0"]);

  const noDriver = await loadTfjsNode(
    "tfjs-node-gpu",
    fullDeps({ probeLibrary: (name) => `${name}: cannot open shared object file` }),
  );
  assert(!noDriver.ok && noDriver.reason.includes("libcuda.so.1"));
  assert(!noDriver.ok && noDriver.reason.includes("no NVIDIA GPU driver"));

  // The CPU package does not probe CUDA.
  const cpu = await loadTfjsNode(
    "tfjs-node",
    fullDeps({
      probeLibrary: () => "must not be probed",
      importer: () => Promise.resolve({}),
    }),
  );
  assertEquals(cpu.ok, true);
});

Deno.test("loader reasons: no --allow-ffi, binding missing, no libtensorflow, not registered", async () => {
  const noFfi = await loadTfjsNode("tfjs-node", fullDeps({ ffiGranted: () => false }));
  assert(!noFfi.ok && noFfi.reason.startsWith("no --allow-ffi"));

  const libtf = await loadTfjsNode(
    "tfjs-node",
    fullDeps({
      importer: () =>
        Promise.reject(
          new Error(
            "libtensorflow.so.2: cannot open shared object file: No such file or directory",
          ),
        ),
    }),
  );
  assert(!libtf.ok && libtf.reason.startsWith("no libtensorflow: libtensorflow.so.2"));

  const unregistered = await loadTfjsNode(
    "tfjs-node",
    fullDeps({ importer: () => Promise.resolve({}), backendRegistered: () => false }),
  );
  assert(!unregistered.ok && unregistered.reason.includes(`"${TFJS_NODE_BACKEND}" backend`));
});

Deno.test("a module that throws tfjs-node's binding error, imported via the env specifier", async () => {
  // The real import path: a module on disk named by NOTMNIST_TFJS_NODE_SPECIFIER that
  // throws the exact error tfjs-node 4.22's dist/index.js throws without its addon.
  const dir = await Deno.makeTempDir();
  const file = `${dir}/fake_tfjs_node.js`;
  await Deno.writeTextFile(
    file,
    `throw new Error("The Node.js native addon module (tfjs_binding.node) can not be found at ` +
      `path: /x/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node. \\nPlease run ` +
      `command 'npm rebuild @tensorflow/tfjs-node --build-addon-from-source' to rebuild.");\n`,
  );
  Deno.env.set("NOTMNIST_TFJS_NODE_SPECIFIER", new URL(`file://${file}`).href);
  try {
    const err = await selectBackend({
      force: "tfjs-node",
      tfjsNodeDeps: { ffiGranted: () => true },
    })
      .then(() => undefined, (e: Error) => e);
    assert(err instanceof Error);
    assert(err.message.startsWith("--backend tfjs-node: cannot start: installed but"), err.message);
    assert(err.message.includes("tfjs_binding.node"), err.message);
    assert(
      err.message.includes(
        'set "nodeModulesDir": "auto" in deno.json, then run: deno install ' +
          "--allow-scripts=npm:@tensorflow/tfjs-node npm:@tensorflow/tfjs-node@4.22.0",
      ),
      err.message,
    );
  } finally {
    Deno.env.delete("NOTMNIST_TFJS_NODE_SPECIFIER");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("forced backends: unknown name lists the valid ones; unavailable gives the reason", async () => {
  await assertRejects(
    selectBackend({ force: "cuda" }),
    /unknown backend "cuda"; expected one of: tfjs-node-gpu, tfjs-node, wasm-blas, wasm, cpu/,
  );
  await assertRejects(
    selectBackend({ force: "tfjs-node-gpu", tfjsNodeDeps: absent }),
    /^Error: --backend tfjs-node-gpu: cannot start: not installed: /,
  );
  await assertRejects(
    selectBackend({ force: "wasm-blas", starters: { "wasm-blas": noWasmBlas } }),
    /--backend wasm-blas: cannot start: not available: test says so/,
  );
  const lines: string[] = [];
  const cpu = await selectBackend({ force: "cpu", log: (l) => lines.push(l) });
  assertEquals({ ...cpu, numerics: undefined }, {
    name: "cpu",
    skipped: [],
    detail: undefined,
    numerics: undefined,
  });
  assertEquals(cpu.numerics.mode, "reproducible");
  assertEquals(cpu.numerics.backend, "cpu");
  assertEquals(tf.getBackend(), "cpu");
  assertEquals(lines, ["backend: cpu"]);
});

Deno.test("a starter that throws, or a backend whose init fails, is skipped with why", async () => {
  tf.registerBackend("broken-test-backend", () => {
    throw new Error("kaboom");
  });
  try {
    const choice = await selectBackend({
      numerics: "fast",
      tfjsNodeDeps: absent,
      starters: {
        "wasm-blas": () => Promise.reject(new Error("boom")),
        "wasm": () => Promise.resolve({ ok: true, tfName: "broken-test-backend" }),
      },
    });
    assertEquals(choice.name, "cpu");
    assertEquals(choice.skipped[2], { name: "wasm-blas", reason: "failed to start: boom" });
    assert(choice.skipped[3].reason.includes("kaboom"), choice.skipped[3].reason);
  } finally {
    tf.removeBackend("broken-test-backend");
  }
});

Deno.test("no backend at all is an error naming each reason", async () => {
  const fail: BackendStarter = () => Promise.resolve({ ok: false, reason: "nope" });
  await assertRejects(
    selectBackend({
      numerics: "fast",
      starters: {
        "tfjs-node-gpu": fail,
        "tfjs-node": fail,
        "wasm-blas": fail,
        "wasm": fail,
        "cpu": fail,
      },
    }),
    /no backend could start: tfjs-node-gpu: nope; tfjs-node: nope; wasm-blas: nope; wasm: nope; cpu: nope/,
  );
});

Deno.test("reproducible numerics (the default) skip tfjs-node with the reason; fast tries it", async () => {
  const choice = await selectBackend({
    tfjsNodeDeps: absent,
    starters: { "wasm-blas": noWasmBlas },
  });
  assertEquals(choice.name, "wasm");
  assertEquals(choice.numerics.mode, "reproducible");
  assertEquals(choice.skipped.map((s) => s.name), ["tfjs-node-gpu", "tfjs-node", "wasm-blas"]);
  for (const s of choice.skipped.slice(0, 2)) {
    assert(s.reason.startsWith("not used with reproducible numerics"), s.reason);
  }
  assertEquals(tf.env().get("WASM_HAS_MULTITHREAD_SUPPORT"), false);
  const fast = await selectBackend({
    tfjsNodeDeps: absent,
    starters: { "wasm-blas": noWasmBlas },
    numerics: "fast",
  });
  assertEquals(fast.numerics.mode, "fast");
  assertEquals(fast.numerics.bitIdentical, false);
  assert(fast.skipped[0].reason.startsWith("not installed"), fast.skipped[0].reason);
});
