// The one list of BLAS environment names (compute/blas_env.ts) reaches every
// place that forwards or reads them, and the grade's numerics mode reaches the
// children (issue 20).
import { assert, assertEquals } from "../deps/assert.ts";
import { BLAS_ENV_NAMES, BLAS_LIB_ENV, BLAS_THREADS_ENV } from "../compute/blas_env.ts";
import { TRUSTED_ENV_NAMES } from "../grader/trusted_env.ts";
import { planSandbox } from "../grader/sandbox/plan.ts";
import { sandboxBackend } from "../grader/grade.ts";
import { toySplits } from "./toy_data.ts";

const splits = toySplits(7);

/** The environment a trusted task process is planned with, given the teacher's environment. */
function trustedProcessEnv(
  teacher: Record<string, string>,
  numerics: "reproducible" | "fast" = "fast",
): Record<string, string> {
  // what grader/cli.ts forwards: the trusted names the teacher has set
  const trustedEnv: Record<string, string> = {};
  for (const name of TRUSTED_ENV_NAMES) {
    if (teacher[name] !== undefined) trustedEnv[name] = teacher[name];
  }
  const plan = planSandbox({
    module: "/home/t/student/task1.ts",
    train: splits.train,
    valid: splits.valid,
    testImages: splits.test,
    seed: 3,
    outDir: "/tmp/out/task1",
    timeoutSeconds: 10,
    projectRoot: "/home/lab",
    trusted: true,
    backend: { numerics },
    trustedEnv,
  }, {
    work: "/tmp/w",
    dirs: { denoDir: "/d", npmCache: "/d/npm" },
    execPath: "/bin/deno",
    setsid: false,
    token: "t0k",
    wasmFiles: { "tfjs-backend-wasm-simd.wasm": "/d/npm/simd.wasm" },
    childUrl: "file:///home/lab/grader/child.ts",
    moduleFiles: ["/home/t/student/task1.ts"],
  });
  return plan.env;
}

Deno.test("blas env: a fast trusted task process receives NOTMNIST_BLAS_LIB (the name the loader reads)", () => {
  assertEquals(BLAS_LIB_ENV, "NOTMNIST_BLAS_LIB");
  const teacher = {
    [BLAS_LIB_ENV]: "/opt/blas/libcustom.so",
    [BLAS_THREADS_ENV]: "3",
    HOME: "/root",
  };
  const env = trustedProcessEnv(teacher);
  assertEquals(env[BLAS_LIB_ENV], "/opt/blas/libcustom.so");
  assertEquals(env[BLAS_THREADS_ENV], "3");
  assertEquals(env.HOME, undefined);
  // Reproducible: the portable core loads no native library; only its thread count goes through.
  const repro = trustedProcessEnv(teacher, "reproducible");
  assertEquals(repro[BLAS_LIB_ENV], undefined);
  assertEquals(repro[BLAS_THREADS_ENV], "3");
});

Deno.test("blas env: the grader forwards exactly the one list, and nothing names a variable no one reads", () => {
  assertEquals(TRUSTED_ENV_NAMES, BLAS_ENV_NAMES);
  assert(!BLAS_ENV_NAMES.includes("NOTMNIST_BLAS_LIBRARY"));
  assertEquals(new Set(BLAS_ENV_NAMES).size, BLAS_ENV_NAMES.length);
});

Deno.test("grade numerics: a numerics mode without a backend reaches the children", () => {
  assertEquals(sandboxBackend({}), null);
  assertEquals(sandboxBackend({ numerics: "fast" }), { numerics: "fast" });
  assertEquals(sandboxBackend({ backend: { force: "wasm" } }), {
    force: "wasm",
    numerics: "reproducible",
  });
  assertEquals(sandboxBackend({ backend: { force: "cpu" }, numerics: "fast" }), {
    force: "cpu",
    numerics: "fast",
  });
});
