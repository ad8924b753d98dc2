/**
 * Command-line flag parsing. `@std/cli` (JSR) is unreachable here, so this seam
 * wraps Node's `util.parseArgs`; switching back is a change to this file alone.
 *
 * @module
 */
import { parseArgs as nodeParseArgs } from "node:util";

/** The type of one flag: a string value or a boolean switch. */
export type FlagType = "string" | "boolean";

/** Declaration of one flag. */
export interface FlagSpec {
  /** Whether the flag takes a value (`string`) or is a switch (`boolean`). */
  type: FlagType;
  /** Default value when the flag is absent. */
  default?: string | boolean;
  /** One-letter alias, e.g. `h` for `--help`. */
  short?: string;
  /** Whether the flag may be given several times (values collected in order). */
  multiple?: boolean;
}

/** Parsed flags: flag name to value, plus the positional arguments. */
export interface ParsedFlags {
  /** Flag values by name. Repeated flags give arrays. */
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Arguments that are not flags. */
  positionals: string[];
}

/**
 * Parses `args` against `spec`. Unknown flags throw an error naming the flag and
 * listing the known ones, so a typo never silently falls back to a default.
 */
export function parseFlags(args: string[], spec: Record<string, FlagSpec>): ParsedFlags {
  try {
    const { values, positionals } = nodeParseArgs({
      args,
      options: spec,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedFlags["values"], positionals };
  } catch (err) {
    const known = Object.keys(spec).map((k) => `--${k}`).join(", ");
    throw new Error(`${(err as Error).message}. Known flags: ${known}`);
  }
}

/** Reads a string flag; throws naming the flag if it was given as a switch. */
export function stringFlag(flags: ParsedFlags, name: string): string | undefined {
  const v = flags.values[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new Error(`--${name} expects a value`);
  return v;
}

/**
 * Reads an integer flag within `[min, max]`; throws an error naming the flag and
 * the expected range on anything else (`--epochs abc`, `--epochs 0`).
 */
export function intFlag(
  flags: ParsedFlags,
  name: string,
  min = -Infinity,
  max = Infinity,
): number | undefined {
  const s = stringFlag(flags, name);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} expects an integer in [${min}, ${max}], got "${s}"`);
  }
  return n;
}

/** Reads a finite number flag within `[min, max]`, with the same error style as {@link intFlag}. */
export function numberFlag(
  flags: ParsedFlags,
  name: string,
  min = -Infinity,
  max = Infinity,
): number | undefined {
  const s = stringFlag(flags, name);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new Error(`--${name} expects a number in [${min}, ${max}], got "${s}"`);
  }
  return n;
}
