/**
 * Reading what a graded task's `train()` returned and what its models
 * predicted, on either side of the sandbox (the child's main isolate for
 * trusted tasks, the Worker for graded code): role descriptions trimmed to
 * JSON-safe sizes, predictions as Float32Array, errors as one message.
 *
 * @module
 */
import type { EpochRecord, TrainedModel } from "../../tasks/types.ts";
import { type ErrorKind, ROLE_NAME, type RoleInfo } from "./protocol.ts";

/**
 * The {@link ErrorKind} of a text that is all the runtime gives about an
 * error (a Worker's uncaught `ErrorEvent`, an error re-thrown as another
 * type): Deno's permission errors say `NotCapable` or `Requires ... access`.
 */
export function errorKindOfText(text: string): ErrorKind {
  return /NotCapable|PermissionDenied|Requires \w+ access/.test(text) ? "permission" : "exception";
}

/** The {@link ErrorKind} of a caught error: by its class, else by what the runtime wrote. */
export function errorKindOf(err: unknown): ErrorKind {
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return "permission";
  }
  if (err instanceof Error && (err.name === "NotCapable" || err.name === "PermissionDenied")) {
    return "permission";
  }
  return errorKindOfText(err instanceof Error ? err.message : String(err));
}

/** An error's name, kind and a message with the first lines of its stack. */
export function describeError(
  err: unknown,
): { errorName: string; errorKind: ErrorKind; message: string } {
  const errorKind = errorKindOf(err);
  if (err instanceof Error) {
    const stack = err.stack ? err.stack.split("\n").slice(0, 6).join("\n") : "";
    return {
      errorName: err.name,
      errorKind,
      message: stack.startsWith(`${err.name}: ${err.message}`) || stack.startsWith(err.message)
        ? stack
        : `${err.name}: ${err.message}${stack ? `\n${stack}` : ""}`,
    };
  }
  return { errorName: typeof err, errorKind, message: String(err) };
}

/** `value` as a Float32Array (array-likes are converted), or why it is not one. */
export function toFloat32(value: unknown): Float32Array | string {
  if (value instanceof Float32Array) return value;
  if (
    value !== null && typeof value === "object" && "length" in value &&
    typeof (value as { length: unknown }).length === "number"
  ) {
    return Float32Array.from(value as ArrayLike<number>);
  }
  return `predict returned ${value === null ? "null" : typeof value}, expected a Float32Array`;
}

/** At most 1000 epochs of history, as plain JSON. */
export function trimHistory(history: unknown): EpochRecord[] {
  if (!Array.isArray(history)) return [];
  try {
    const text = JSON.stringify(history.slice(0, 1000));
    return text.length > 1_000_000 ? [] : JSON.parse(text) as EpochRecord[];
  } catch {
    return [];
  }
}

/** A model config as plain JSON (`{truncated: true}` past 100,000 characters). */
export function safeConfig(config: unknown): Record<string, unknown> {
  try {
    const text = JSON.stringify(config ?? {});
    return text.length > 100_000 ? { truncated: true } : JSON.parse(text);
  } catch {
    return { unserialisable: true };
  }
}

/** An error in what `train()` returned; `contract` marks a broken task contract. */
export class TaskOutputError extends Error {
  /** Whether the task broke the contract (no usable `main`) rather than failing to train. */
  readonly contract: boolean;
  /** Creates the error. */
  constructor(message: string, contract: boolean) {
    super(message);
    this.name = "Error";
    this.contract = contract;
  }
}

/**
 * The usable models of `train()`'s output and their descriptions. Throws a
 * {@link TaskOutputError} when the output has no models or no usable `main`.
 */
export function trainedRoles(
  output: unknown,
): { models: Record<string, TrainedModel>; roles: Record<string, RoleInfo> } {
  const m = (output as { models?: unknown } | undefined)?.models;
  if (m === null || typeof m !== "object") {
    throw new TaskOutputError(
      "train() must resolve to { models: { main: TrainedModel, ... } }",
      false,
    );
  }
  const models = m as Record<string, TrainedModel>;
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
    throw new TaskOutputError(
      "train() returned no usable models.main (an object with a predict function)",
      true,
    );
  }
  return { models, roles };
}
