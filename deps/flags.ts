/**
 * Command-line flags, each declared once: one {@link Flag} per flag carries its
 * value placeholder, help, default and parser (type and range). The usage text
 * ({@link usageLines}) and the typed result ({@link parseFlags},
 * {@link FlagValues}) are generated from that one declaration, so adding a flag
 * is adding one entry to a spec.
 *
 * `@std/cli` (JSR) is unreachable here, so this seam wraps Node's
 * `util.parseArgs`; switching back is a change to this file alone.
 *
 * ```ts
 * import { intFlag, parseFlags, switchFlag, usageLines } from "./flags.ts";
 *
 * const SPEC = {
 *   epochs: intFlag({ help: "epochs per model", min: 1, max: 100, default: 10 }),
 *   "dry-run": switchFlag("print what would run"),
 * };
 * const { values } = parseFlags(["--epochs", "3"], SPEC);
 * console.log(values.epochs + 1, values.dryRun); // 4 false
 * console.log(usageLines(SPEC).join("\n"));
 * ```
 *
 * @module
 */
import { parseArgs as nodeParseArgs } from "node:util";

/** What the command line gave for one flag: a value, a switch, repeated values, or nothing. */
export type RawFlag = string | boolean | string[] | undefined;

/** Declaration of one flag. Build it with the constructors below. */
export interface Flag<T> {
  /** Placeholder of the value in the usage text (e.g. `N`, `DIR`); absent for a switch. */
  readonly arg?: string;
  /** One line of help. */
  readonly help: string;
  /** The default as shown in the usage text (absent: no "(default ...)"). */
  readonly shownDefault?: string;
  /** One-letter alias, e.g. `h` for `--help`. */
  readonly short?: string;
  /** Whether the flag may be given several times (values collected in order). */
  readonly multiple?: boolean;
  /** Turns what the command line gave into the value; throws naming `--name` on a bad value. */
  readonly parse: (raw: RawFlag, name: string) => T;
}

/** A spec: flag name (kebab-case, without `--`) to its declaration. */
export type FlagSpecs = Record<string, Flag<unknown>>;

/** `batch-size` -> `batchSize`. */
export type CamelCase<S extends string> = S extends `${infer H}-${infer T}`
  ? `${H}${Capitalize<CamelCase<T>>}`
  : S;

/** The typed result of a spec: camelCase flag names to parsed values. */
export type FlagValues<S extends FlagSpecs> = {
  -readonly [K in keyof S & string as CamelCase<K>]: S[K] extends Flag<infer T> ? T : never;
};

/** Parsed flags: typed values and the positional arguments. */
export interface ParsedFlags<S extends FlagSpecs> {
  /** Flag values by camelCase name (defaults applied). */
  values: FlagValues<S>;
  /** Arguments that are not flags. */
  positionals: string[];
}

/** `batch-size` -> `batchSize` (the key of a flag in {@link FlagValues}). */
export function camelCase<S extends string>(name: S): CamelCase<S> {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()) as CamelCase<S>;
}

/** "a", "a or b", "a, b or c". */
export function orList(items: readonly string[]): string {
  return items.length <= 1
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

/** Common fields of the value-flag constructors. */
export interface ValueFlagOptions<T> {
  /** One line of help. */
  help: string;
  /** Placeholder of the value in the usage text (default `VALUE`; `N` for numbers). */
  arg?: string;
  /** Value when the flag is absent. */
  default?: T;
  /** The default as shown in the usage text (default: `String(default)` when there is one). */
  shownDefault?: string;
  /** One-letter alias. */
  short?: string;
}

function shown<T>(o: ValueFlagOptions<T>): string | undefined {
  return o.shownDefault ?? (o.default === undefined ? undefined : String(o.default));
}

function rawString(raw: RawFlag, name: string): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "string") throw new Error(`--${name} expects a value`);
  if (raw.trim() === "") throw new Error(`--${name} expects a non-empty value`);
  return raw;
}

/**
 * A flag taking one value, turned into `T` by `parse` (which throws naming
 * the flag on a bad value). Empty values are refused.
 */
export function valueFlag<T>(
  o: ValueFlagOptions<T> & { default: T; parse: (value: string, name: string) => T },
): Flag<T>;
/** A flag taking one value without a default: `undefined` when absent. */
export function valueFlag<T>(
  o: ValueFlagOptions<T> & { parse: (value: string, name: string) => T },
): Flag<T | undefined>;
export function valueFlag<T>(
  o: ValueFlagOptions<T> & { parse: (value: string, name: string) => T },
): Flag<T | undefined> {
  return {
    arg: o.arg ?? "VALUE",
    help: o.help,
    shownDefault: shown(o),
    short: o.short,
    parse: (raw, name) => {
      const s = rawString(raw, name);
      return s === undefined ? o.default : o.parse(s, name);
    },
  };
}

/** A string flag (e.g. a folder). */
export function stringFlag(o: ValueFlagOptions<string> & { default: string }): Flag<string>;
/** A string flag without a default. */
export function stringFlag(o: ValueFlagOptions<string>): Flag<string | undefined>;
export function stringFlag(o: ValueFlagOptions<string>): Flag<string | undefined> {
  return valueFlag({ ...o, parse: (s) => s });
}

/** Range of a numeric flag (inclusive). */
export interface RangeOptions {
  /** Smallest allowed value (default -Infinity). */
  min?: number;
  /** Largest allowed value (default Infinity). */
  max?: number;
}

/** Parses an integer in `[min, max]`; throws naming `--name` and the range otherwise. */
export function parseInteger(s: string, name: string, min = -Infinity, max = Infinity): number {
  const n = Number(s);
  if (s.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} expects an integer in [${min}, ${max}], got "${s}"`);
  }
  return n;
}

/** An integer flag within `[min, max]` (`--epochs abc` or `--epochs 0` name the flag and range). */
export function intFlag(o: ValueFlagOptions<number> & RangeOptions & { default: number }): Flag<
  number
>;
/** An integer flag without a default. */
export function intFlag(o: ValueFlagOptions<number> & RangeOptions): Flag<number | undefined>;
export function intFlag(o: ValueFlagOptions<number> & RangeOptions): Flag<number | undefined> {
  return valueFlag({ arg: "N", ...o, parse: (s, name) => parseInteger(s, name, o.min, o.max) });
}

/** A finite number flag within `[min, max]`, with the same error style as {@link intFlag}. */
export function numberFlag(o: ValueFlagOptions<number> & RangeOptions & { default: number }): Flag<
  number
>;
/** A number flag without a default. */
export function numberFlag(o: ValueFlagOptions<number> & RangeOptions): Flag<number | undefined>;
export function numberFlag(o: ValueFlagOptions<number> & RangeOptions): Flag<number | undefined> {
  const min = o.min ?? -Infinity;
  const max = o.max ?? Infinity;
  return valueFlag({
    arg: "X",
    ...o,
    parse: (s, name) => {
      const n = Number(s);
      if (!Number.isFinite(n) || n < min || n > max) {
        throw new Error(`--${name} expects a number in [${min}, ${max}], got "${s}"`);
      }
      return n;
    },
  });
}

/** A flag whose value is one of `choices` (`--profile expects quick or full, got "fast"`). */
export function choiceFlag<const C extends string>(
  o: ValueFlagOptions<C> & { choices: readonly C[]; default: C },
): Flag<C>;
/** A choice flag without a default. */
export function choiceFlag<const C extends string>(
  o: ValueFlagOptions<C> & { choices: readonly C[] },
): Flag<C | undefined>;
export function choiceFlag<const C extends string>(
  o: ValueFlagOptions<C> & { choices: readonly C[] },
): Flag<C | undefined> {
  return valueFlag({
    arg: o.choices.join("|"),
    ...o,
    parse: (s, name) => {
      if (!(o.choices as readonly string[]).includes(s)) {
        throw new Error(`--${name} expects ${orList(o.choices)}, got "${s}"`);
      }
      return s as C;
    },
  });
}

/** A comma-separated list flag (`--models a,c`); `parse` checks each item. */
export function listFlag<T>(
  o: ValueFlagOptions<T[]> & { default: T[]; parse: (item: string, name: string) => T },
): Flag<T[]> {
  return valueFlag({
    ...o,
    shownDefault: o.shownDefault ?? o.default.join(","),
    parse: (s, name) =>
      s.split(",").map((x) => x.trim()).filter((x) => x !== "").map((x) => o.parse(x, name)),
  });
}

/** A flag that may be given several times; each value goes through `parse`, in order. */
export function repeatedFlag<T>(
  o: Omit<ValueFlagOptions<T[]>, "default"> & { parse: (value: string, name: string) => T },
): Flag<T[]> {
  return {
    arg: o.arg ?? "VALUE",
    help: o.help,
    shownDefault: o.shownDefault,
    short: o.short,
    multiple: true,
    parse: (raw, name) => {
      if (raw === undefined) return [];
      const values = Array.isArray(raw) ? raw : [raw];
      return values.map((v) => o.parse(rawString(v, name)!, name));
    },
  };
}

/** A switch (`--download`): `true` when given, `false` otherwise. */
export function switchFlag(help: string, short?: string): Flag<boolean> {
  return { help, short, parse: (raw) => raw === true };
}

/**
 * Parses `args` against `spec`. Unknown flags throw an error naming the flag
 * and listing the known ones, so a typo never silently falls back to a
 * default; a bad value throws an error naming the flag and what it expects.
 */
export function parseFlags<S extends FlagSpecs>(args: string[], spec: S): ParsedFlags<S> {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const [name, flag] of Object.entries(spec)) {
    options[name] = {
      type: flag.arg === undefined ? "boolean" : "string",
      ...(flag.short ? { short: flag.short } : {}),
      ...(flag.multiple ? { multiple: true } : {}),
    };
  }
  let parsed: { values: Record<string, RawFlag>; positionals: string[] };
  try {
    parsed = nodeParseArgs({
      args,
      options,
      allowPositionals: true,
      strict: true,
    }) as typeof parsed;
  } catch (err) {
    const known = Object.keys(spec).map((k) => `--${k}`).join(", ");
    throw new Error(`${(err as Error).message}. Known flags: ${known}`);
  }
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec)) {
    values[camelCase(name)] = flag.parse(parsed.values[name], name);
  }
  return { values: values as FlagValues<S>, positionals: parsed.positionals };
}

/**
 * The usage lines of `spec`, one entry per flag: `  --name ARG   help (default X)`,
 * aligned, wrapped at `width` columns. `defaults` overrides the shown default
 * of some flags (e.g. a task's own epochs).
 */
export function usageLines(
  spec: FlagSpecs,
  defaults: Record<string, string> = {},
  width = 100,
): string[] {
  const heads = Object.entries(spec).map(([name, f]) =>
    `${f.short ? `-${f.short}, ` : ""}--${name}${f.arg ? ` ${f.arg}` : ""}`
  );
  const column = 2 + Math.max(...heads.map((h) => h.length)) + 2;
  return Object.entries(spec).flatMap(([name, f], i) => {
    const d = defaults[name] ?? f.shownDefault;
    const text = f.help + (d === undefined ? "" : ` (default ${d})`) +
      (f.multiple ? " (repeatable)" : "");
    const lines = [`  ${heads[i]}`.padEnd(column)];
    for (const word of text.split(" ")) {
      const last = lines[lines.length - 1];
      if (last.length > column && last.length + 1 + word.length > width) {
        lines.push(" ".repeat(column) + word);
      } else {
        lines[lines.length - 1] = last + (last.length > column ? " " : "") + word;
      }
    }
    return lines;
  });
}
