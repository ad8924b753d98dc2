/**
 * Data benchmark: decode+cache and cache reload of notMNIST_small and of a
 * generated large-size archive (default 529,114 PNGs: shifted copies of the
 * small images, built in a temp folder and deleted afterwards). Each
 * measurement runs in its own process under `/usr/bin/time -v`, so its peak RSS
 * is its own. Prints plain lines; nothing here fails on a slow machine.
 *
 * Usage: `deno run -A bench/data_bench.ts [--data-dir DIR] [--large-count N]
 * [--workers N] [--skip-large] [--keep DIR]`
 *
 * Goals (issue 2): decode >= 20,000 images/s on 2 cores; the large-size set
 * reloads from cache in < 2 s with peak RSS < 1.5 GB.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DATA_FLAGS } from "../data/flags.ts";
import { intFlag, parseFlags, stringFlag, switchFlag, usageLines } from "../deps/flags.ts";
import { defaultWorkers, loadArchive } from "../data/archive.ts";
import { findArchive, resolveDataDir } from "../data/paths.ts";
import { writeLargeArchive } from "../data/synthetic.ts";

const SELF = fileURLToPath(import.meta.url);
const LARGE_COUNT = 529_114;

interface ChildResult {
  count: number;
  skipped: number;
  seconds: number;
  fromCache: boolean;
  workers: number;
  wall: number;
  peakRssMb: number | null;
  cpuSeconds: number | null;
}

/** Child mode: load one archive and print one JSON line. */
async function child(path: string, cacheDir: string, workers: number): Promise<void> {
  const a = await loadArchive(path, { cacheDir, workers });
  console.log(JSON.stringify({
    count: a.set.count,
    skipped: a.skipped.length,
    seconds: a.seconds,
    fromCache: a.fromCache,
    workers,
  }));
}

async function runChild(path: string, cacheDir: string, workers: number): Promise<ChildResult> {
  const useTime = await Deno.stat("/usr/bin/time").then(() => true, () => false);
  const args = [Deno.execPath(), "run", "-A", SELF, "--child", path, "--cache-dir", cacheDir];
  args.push("--workers", String(workers));
  const t0 = performance.now();
  const out = await new Deno.Command(useTime ? "/usr/bin/time" : args[0], {
    args: useTime ? ["-v", ...args] : args.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - t0) / 1000;
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`bench child failed (${out.code}):\n${stdout}\n${stderr}`);
  const line = stdout.trim().split("\n").pop()!;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  return {
    ...JSON.parse(line),
    wall,
    peakRssMb: rss ? Number(rss[1]) / 1024 : null,
    cpuSeconds: user && sys ? Number(user[1]) + Number(sys[1]) : null,
  };
}

function report(label: string, r: ChildResult): void {
  const rate = Math.round(r.count / r.seconds).toLocaleString("en-US");
  const rss = r.peakRssMb === null ? "n/a" : `${r.peakRssMb.toFixed(0)} MB`;
  const cpu = r.cpuSeconds === null ? "" : `, process CPU ${r.cpuSeconds.toFixed(2)} s`;
  console.log(
    `data ${label}: ${r.count} images in ${r.seconds.toFixed(2)} s = ${rate} images/s ` +
      `(workers ${r.workers}${r.fromCache ? ", from cache" : ""}), peak RSS ${rss}, ` +
      `process wall ${r.wall.toFixed(2)} s${cpu}`,
  );
}

/** The flags of the data benchmark. */
export const DATA_BENCH_FLAGS = {
  "data-dir": DATA_FLAGS["data-dir"],
  "large-count": intFlag({
    help: "PNGs in the generated large-size archive",
    min: 1,
    max: 10_000_000,
    default: LARGE_COUNT,
  }),
  workers: intFlag({
    help: "decode workers (0: decode on the main thread)",
    min: 0,
    max: 64,
    shownDefault: "the data layer's",
  }),
  "skip-large": switchFlag("measure notMNIST_small only"),
  keep: stringFlag({ arg: "DIR", help: "build in DIR and keep it (default: a temp folder)" }),
  child: stringFlag({ arg: "ARCHIVE", help: "internal: measure one archive in this process" }),
  "cache-dir": {
    ...DATA_FLAGS["cache-dir"],
    help: "internal (with --child): the cache folder",
    shownDefault: undefined,
  },
  help: switchFlag("this text", "h"),
};

async function main(): Promise<void> {
  const { values: flags } = parseFlags(Deno.args, DATA_BENCH_FLAGS);
  if (flags.help) {
    console.log(
      ["deno run -A bench/data_bench.ts [flags]", "", ...usageLines(DATA_BENCH_FLAGS)].join("\n"),
    );
    return;
  }
  const workers = flags.workers ?? defaultWorkers();
  if (flags.child) {
    if (!flags.cacheDir) throw new Error("--child needs --cache-dir");
    await child(flags.child, flags.cacheDir, workers);
    return;
  }
  const dataDir = resolveDataDir(flags.dataDir);
  const count = flags.largeCount;
  const cpus = navigator.hardwareConcurrency;
  console.log(`data bench: ${cpus} CPUs, workers ${workers}, data dir ${dataDir}`);
  console.log(
    `data bench: load average ${await Deno.readTextFile("/proc/loadavg").catch(() => "n/a")}`
      .trim(),
  );
  const tmp = flags.keep ?? await Deno.makeTempDir({ prefix: "notmnist-bench-" });
  await Deno.mkdir(tmp, { recursive: true });
  try {
    const small = await findArchive(dataDir, "small");
    if (!small) {
      throw new Error(`notMNIST_small not found in ${dataDir} (set --data-dir or NOTMNIST_DIR)`);
    }
    const smallCache = join(tmp, "cache-small");
    await Deno.remove(smallCache, { recursive: true }).catch(() => {});
    report("small decode+cache", await runChild(small, smallCache, workers));
    report("small reload", await runChild(small, smallCache, workers));
    if (flags.skipLarge) return;
    const largePath = join(tmp, "notMNIST_large.tar.gz");
    const exists = await Deno.stat(largePath).then(() => true, () => false);
    if (!exists) {
      const source = await loadArchive(small, { cacheDir: smallCache });
      const t0 = performance.now();
      await writeLargeArchive(largePath, source.set, count, 1);
      const s = (performance.now() - t0) / 1000;
      const mb = (await Deno.stat(largePath)).size / 1e6;
      console.log(
        `data large archive generated: ${count} PNGs, ${mb.toFixed(1)} MB, ${s.toFixed(1)} s`,
      );
    }
    const largeCache = join(tmp, "cache-large");
    await Deno.remove(largeCache, { recursive: true }).catch(() => {});
    report("large decode+cache", await runChild(largePath, largeCache, workers));
    report("large reload", await runChild(largePath, largeCache, workers));
  } finally {
    if (!flags.keep) await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) await main();
