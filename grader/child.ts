/**
 * The sandboxed side of grading: runs inside a fenced Deno subprocess started
 * by `grader/sandbox.ts`. It reads the train/valid files handed to it, imports
 * the task module, trains it, reports readiness, then waits for the grader to
 * hand over the test IMAGES (never labels) and writes each model role's
 * predictions as raw float32 files. Everything it tells the parent goes over
 * stdout as lines starting with {@link MESSAGE_MARK}; everything else on
 * stdout/stderr is the task's log.
 *
 * This process is not trusted by the grader: the parent re-checks every file
 * and every number it receives.
 *
 * @module
 */
import type { ImageSet, Protocol } from "../data/types.ts";
import type { EpochRecord, TaskInput, TrainedModel } from "../tasks/types.ts";

/** Prefix of a protocol line on the child's stdout (ASCII record separator + tag). */
export const MESSAGE_MARK = "\u001egrader:";

/** Files and settings the parent writes to the data folder as `header.json`. */
export interface ChildHeader {
  /** Seed for `TaskInput.seed`. */
  seed: number;
  /** `TaskInput.epochs`, when the profile sets one. */
  epochs?: number;
  /** `TaskInput.batchSize`, when set. */
  batchSize?: number;
  /** `TaskInput.protocol`, when known. */
  protocol?: Protocol;
  /** Image counts of the splits written beside the header. */
  counts: { train: number; valid: number };
  /** Backend the child selects before training (`undefined`: the task selects its own). */
  backend?: { force?: string } | null;
}

/** The test images the parent hands over after readiness (`test.json`). */
export interface TestHeader {
  /** Number of test images in `test_images.u8`. */
  count: number;
}

/** Per-role description sent with the readiness message. */
export interface RoleInfo {
  /** The model's name. */
  name: string;
  /** Training history (possibly trimmed). */
  history: EpochRecord[];
  /** Model configuration (JSON-serialisable). */
  config: Record<string, unknown>;
}

/** Messages from child to parent. */
export type ChildMessage =
  | { type: "started" }
  | { type: "backend"; name: string; skipped: string[] }
  | { type: "ready"; roles: Record<string, RoleInfo>; trainSeconds: number }
  | {
    type: "done";
    predictSeconds: number;
    roleErrors: Record<string, string>;
  }
  | {
    type: "error";
    stage: "setup" | "import" | "contract" | "train" | "predict";
    errorName: string;
    message: string;
  };

/** File name of role `role`'s predictions on split `split` in the output's `.grader/` folder. */
export function predictionFile(role: string, split: "train" | "valid" | "test"): string {
  return `pred_${role}_${split}.f32`;
}

/** Role names the grader accepts (they become file names). */
export const ROLE_NAME = /^[A-Za-z0-9_-]{1,40}$/;

/** Optional hook the child runs before training (e.g. backend selection). */
export type BeforeTrain = (
  header: ChildHeader,
) => Promise<{ name: string; skipped: string[] } | undefined>;

function send(message: ChildMessage): void {
  const line = MESSAGE_MARK + JSON.stringify(message) + "\n";
  Deno.stdout.writeSync(new TextEncoder().encode(line));
}

function describe(err: unknown): { errorName: string; message: string } {
  if (err instanceof Error) {
    const stack = err.stack ? err.stack.split("\n").slice(0, 6).join("\n") : "";
    return {
      errorName: err.name,
      message: stack.startsWith(`${err.name}: ${err.message}`) || stack.startsWith(err.message)
        ? stack
        : `${err.name}: ${err.message}${stack ? `\n${stack}` : ""}`,
    };
  }
  return { errorName: typeof err, message: String(err) };
}

function fail(stage: Extract<ChildMessage, { type: "error" }>["stage"], err: unknown): never {
  send({ type: "error", stage, ...describe(err) });
  Deno.exit(3);
}

async function readSet(dir: string, name: string, count: number): Promise<ImageSet> {
  const images = await Deno.readFile(`${dir}/${name}_images.u8`);
  const labels = await Deno.readFile(`${dir}/${name}_labels.u8`);
  if (images.length !== count * 784 || labels.length !== count) {
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

function toFloat32(value: unknown): Float32Array | string {
  if (value instanceof Float32Array) return value;
  if (
    value !== null && typeof value === "object" && "length" in value &&
    typeof (value as { length: unknown }).length === "number"
  ) {
    return Float32Array.from(value as ArrayLike<number>);
  }
  return `predict returned ${value === null ? "null" : typeof value}, expected a Float32Array`;
}

function trimHistory(history: unknown): EpochRecord[] {
  if (!Array.isArray(history)) return [];
  return JSON.parse(JSON.stringify(history.slice(0, 1000))) as EpochRecord[];
}

function safeConfig(config: unknown): Record<string, unknown> {
  try {
    const text = JSON.stringify(config ?? {});
    return text.length > 100_000 ? { truncated: true } : JSON.parse(text);
  } catch {
    return { unserialisable: true };
  }
}

/**
 * Runs the child protocol: `load` imports the task module (a literal dynamic
 * import in the generated entry file, so loading needs no read permission and
 * an import-time failure is reported as such); `args` are
 * `[dataDir, outDir]`. Never returns: exits 0 after the predictions are
 * written, 3 after reporting an error.
 */
export async function runChild(
  load: () => Promise<unknown>,
  args: string[],
  beforeTrain?: BeforeTrain,
): Promise<never> {
  const [dataDir, outDir] = args;
  let header: ChildHeader;
  let train: ImageSet;
  let valid: ImageSet;
  try {
    if (!dataDir || !outDir) throw new Error("usage: child <dataDir> <outDir>");
    header = JSON.parse(await Deno.readTextFile(`${dataDir}/header.json`)) as ChildHeader;
    train = await readSet(dataDir, "train", header.counts.train);
    valid = await readSet(dataDir, "valid", header.counts.valid);
  } catch (err) {
    fail("setup", err);
  }
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
  try {
    const output = await (trainFn as (i: TaskInput) => Promise<unknown>)(input);
    const m = (output as { models?: unknown } | undefined)?.models;
    if (m === null || typeof m !== "object") {
      throw new Error("train() must resolve to { models: { main: TrainedModel, ... } }");
    }
    models = m as Record<string, TrainedModel>;
  } catch (err) {
    fail("train", err);
  }
  const trainSeconds = (performance.now() - t0) / 1000;

  const roles: Record<string, RoleInfo> = {};
  for (const [role, model] of Object.entries(models)) {
    if (!ROLE_NAME.test(role)) continue;
    if (model === null || typeof model !== "object" || typeof model.predict !== "function") {
      continue;
    }
    roles[role] = {
      name: String(model.name ?? role),
      history: trimHistory(model.history),
      config: safeConfig(model.config),
    };
  }
  if (!roles.main) {
    fail(
      "contract",
      new Error("train() returned no usable models.main (an object with a predict function)"),
    );
  }
  send({ type: "ready", roles, trainSeconds });

  const command = await readLine();
  if (command !== "predict") Deno.exit(0);
  let test: ImageSet;
  try {
    const th = JSON.parse(await Deno.readTextFile(`${dataDir}/test.json`)) as TestHeader;
    const images = await Deno.readFile(`${dataDir}/test_images.u8`);
    if (images.length !== th.count * 784) throw new Error("test images do not match test.json");
    test = { images, labels: new Uint8Array(0), count: th.count };
  } catch (err) {
    fail("setup", err);
  }
  const t1 = performance.now();
  const roleErrors: Record<string, string> = {};
  await Deno.mkdir(`${outDir}/.grader`, { recursive: true });
  for (const role of Object.keys(roles)) {
    for (const [split, set] of [["test", test], ["train", train], ["valid", valid]] as const) {
      try {
        const out = toFloat32(await models[role].predict(set.images, set.count));
        if (typeof out === "string") throw new Error(out);
        await Deno.writeFile(
          `${outDir}/.grader/${predictionFile(role, split)}`,
          new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
        );
      } catch (err) {
        roleErrors[role] = `predict on the ${split} images failed: ${describe(err).message}`;
        break;
      }
    }
  }
  send({ type: "done", predictSeconds: (performance.now() - t1) / 1000, roleErrors });
  Deno.exit(0);
}
