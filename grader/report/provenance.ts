/**
 * What a grade report records so that a run can be reproduced: tool and
 * library versions, data files with sizes and SHA-256 checksums, the git
 * commit of the grader, and the numerics fingerprint (mode, CPU, BLAS kernel,
 * threads; whether this machine gives the reference bits).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import {
  type BlasFacts,
  type NumericsFingerprint,
  numericsFingerprint,
  type NumericsMode,
} from "../../compute/numerics.ts";

/** One data file: name, size and checksum. */
export interface FileRecord {
  /** Absolute path. */
  path: string;
  /** File name. */
  name: string;
  /** Size in bytes. */
  bytes: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
}

/** Tool and library versions. */
export interface Versions {
  /** Deno version. */
  deno: string;
  /** V8 version. */
  v8: string;
  /** TypeScript version. */
  typescript: string;
  /** npm packages pinned in deno.json's import map (name to version). */
  packages: Record<string, string>;
}

/** Streams `path` through SHA-256 (works for multi-GB archives) and returns its record. */
export async function fileRecord(path: string): Promise<FileRecord> {
  const hash = createHash("sha256");
  let bytes = 0;
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { path, name: basename(path), bytes, sha256: hash.digest("hex") };
}

/**
 * Records every regular file directly inside `dir` whose name starts with
 * `notMNIST` (the archives); an empty list when the folder cannot be read.
 */
export async function dataFileRecords(dir: string): Promise<FileRecord[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.startsWith("notMNIST")) names.push(e.name);
    }
  } catch {
    return [];
  }
  names.sort();
  const out: FileRecord[] = [];
  for (const n of names) out.push(await fileRecord(join(dir, n)));
  return out;
}

/** Versions of Deno and of the npm packages pinned in `denoJsonPath`'s import map. */
export async function versions(denoJsonPath: string): Promise<Versions> {
  const packages: Record<string, string> = {};
  try {
    const json = JSON.parse(await Deno.readTextFile(denoJsonPath)) as {
      imports?: Record<string, string>;
    };
    for (const [_name, spec] of Object.entries(json.imports ?? {})) {
      const m = /^npm:(@?[^@]+)@(.+)$/.exec(spec);
      if (m) packages[m[1]] = m[2];
    }
  } catch {
    // no import map: versions of Deno only
  }
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    packages,
  };
}

/** The git commit (and whether the tree has local changes) of `root`; undefined without git. */
export async function gitCommit(root: string): Promise<string | undefined> {
  try {
    const head = await new Deno.Command("git", {
      args: ["-C", root, "rev-parse", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!head.success) return undefined;
    const dirty = await new Deno.Command("git", {
      args: ["-C", root, "status", "--porcelain", "--untracked-files=no"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const commit = new TextDecoder().decode(head.stdout).trim();
    return new TextDecoder().decode(dirty.stdout).trim()
      ? `${commit} (with local changes)`
      : commit;
  } catch {
    return undefined;
  }
}

/**
 * The BLAS facts in a backend label as the tasks report it, e.g.
 * `wasm-blas (libopenblas.so.0, 1 threads, Haswell, fixed-order)`.
 */
export function blasFactsOf(backend: string): BlasFacts | undefined {
  const m = /^wasm-blas \((.*)\)$/.exec(backend.trim());
  if (!m) return undefined;
  const parts = m[1].split(",").map((p) => p.trim());
  const threads = parts.map((p) => /^(\d+) threads?$/.exec(p)).find((x) => x !== null);
  const core = parts.find((p) => /^[A-Z][A-Za-z0-9]+$/.test(p));
  return {
    library: parts[0],
    ...(core ? { coreType: core } : {}),
    ...(threads ? { threads: Number(threads[1]) } : {}),
  };
}

/** Whether this runtime validates a wasm SIMD module (tfjs then loads its SIMD binary). */
function wasmSimd(): boolean {
  try {
    return WebAssembly.validate(
      new Uint8Array([
        0,
        97,
        115,
        109,
        1,
        0,
        0,
        0,
        1,
        4,
        1,
        96,
        0,
        0,
        3,
        2,
        1,
        0,
        10,
        9,
        1,
        7,
        0,
        65,
        0,
        253,
        15,
        26,
        11,
      ]),
    );
  } catch {
    return false;
  }
}

/**
 * The run's numerics fingerprint, from the mode the tasks ran in, this
 * machine's CPU, and the backends the tasks reported (`unknown` when a task
 * reported none). The reference bits only when every task ran `wasm-blas` on
 * the portable core (`wasm-blas (portable-wasm-simd, ...)`) with wasm SIMD.
 */
export function numericsRecord(mode: NumericsMode, backends: string[]): NumericsFingerprint {
  const problems: string[] = [];
  let blas: BlasFacts | undefined;
  const others: string[] = [];
  for (const b of backends) {
    const facts = blasFactsOf(b);
    if (facts) {
      if (blas !== undefined && facts.library !== blas.library) others.push(b);
      blas ??= facts;
    } else {
      others.push(b);
    }
  }
  if (!wasmSimd()) problems.push("this runtime has no wasm SIMD");
  if (blas !== undefined && others.length > 0) {
    problems.push(`some tasks ran on ${others.join(", ")}, not on ${blas.library}`);
  }
  return numericsFingerprint(mode, {
    backend: backends.join(", "),
    ...(blas ? { blas } : {}),
    ...(problems.length ? { problem: problems.join("; ") } : {}),
  });
}
