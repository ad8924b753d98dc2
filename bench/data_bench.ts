/**
 * Data benchmark: decode+cache and cache reload of notMNIST_small and of a
 * generated large-size archive (default 529,114 PNGs: shifted copies of the
 * small images, built in a temp folder and deleted afterwards), and the peak
 * RSS of reading generated gzip bombs (one entry of `--bomb-mib` MiB of zeros,
 * default 256 and 2048, beside 10 images) against the same 10 images without
 * one, measured alternately in the same run. Each measurement runs in its own
 * process under `/usr/bin/time -v`, so its peak RSS is its own. Prints plain
 * lines; nothing here fails on a slow machine.
 *
 * Usage: `deno run -A bench/data_bench.ts [--data-dir DIR] [--large-count N]
 * [--workers N] [--bomb-mib N,N] [--skip-bomb] [--skip-large] [--keep DIR]`
 *
 * Goals (issue 2): decode >= 20,000 images/s on 2 cores; the large-size set
 * reloads from cache in < 2 s with peak RSS < 1.5 GB. Issue 15: a bomb's
 * peak RSS does not grow with its declared size.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DATA_FLAGS } from "../data/flags.ts";
import {
  intFlag,
  listFlag,
  parseFlags,
  parseInteger,
  stringFlag,
  switchFlag,
  usageLines,
} from "../deps/flags.ts";
import { defaultWorkers, loadArchive } from "../data/archive.ts";
import { findArchive, resolveDataDir } from "../data/paths.ts";
import {
  grayPng,
  randomImage,
  type RawTarEntry,
  writeLargeArchive,
  writeRawTarGz,
} from "../data/synthetic.ts";
import { LETTERS } from "../data/types.ts";
import { Rng } from "../utils/rng.ts";

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

/**
 * Peak RSS of reading gzip bombs (one entry of `mib[k]` MiB of zeros, streamed
 * into the archive, never held, beside 10 images) against the same 10 images
 * without a bomb, alternated `rounds` times; prints the medians and ratios.
 */
async function bombs(tmp: string, mibs: number[], workers: number, rounds = 3): Promise<void> {
  const rng = new Rng(15);
  const images: RawTarEntry[] = LETTERS.map((l) => ({
    name: `notMNIST_small/${l}/x.png`,
    bytes: grayPng(randomImage(rng)),
  }));
  const paths = new Map<string, string>();
  const peer = join(tmp, "peer", "notMNIST_small.tar.gz");
  await writeRawTarGz(peer, images);
  paths.set("peer", peer);
  for (const mib of mibs) {
    const path = join(tmp, `bomb-${mib}`, "notMNIST_small.tar.gz");
    const t0 = performance.now();
    await writeRawTarGz(path, [
      ...images.slice(0, 5),
      { name: "notMNIST_small/A/bomb.png", zeros: mib * (1 << 20) },
      ...images.slice(5),
    ]);
    const onDisk = (await Deno.stat(path)).size / 1e6;
    console.log(
      `data bomb archive generated: ${mib} MiB declared entry, ${onDisk.toFixed(1)} MB on ` +
        `disk, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    paths.set(`${mib}`, path);
  }
  const rss = new Map<string, number[]>([...paths.keys()].map((k) => [k, []]));
  const last = new Map<string, ChildResult>();
  for (let i = 0; i < rounds; i++) {
    for (const [key, path] of paths) {
      const r = await runChild(path, join(tmp, `cache-${key}-${i}`), workers); // fresh cache
      if (r.peakRssMb === null) {
        console.log("data bomb: /usr/bin/time not found; peak RSS not measured");
        return;
      }
      rss.get(key)!.push(r.peakRssMb);
      last.set(key, r);
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const all = (k: string) => rss.get(k)!.map((v) => v.toFixed(0)).join("/");
  const peerRss = med(rss.get("peer")!);
  for (const mib of mibs) {
    const r = last.get(`${mib}`)!;
    const m = med(rss.get(`${mib}`)!);
    console.log(
      `data bomb ${mib} MiB: drained unread (${r.count} images, ${r.skipped} skipped, ` +
        `process wall ${r.wall.toFixed(2)} s): peak RSS ${m.toFixed(0)} MB vs ` +
        `${peerRss.toFixed(0)} MB without the bomb = ${(m / peerRss).toFixed(2)}x (medians of ` +
        `${rounds} alternated runs: bomb ${all(`${mib}`)} MB, peer ${all("peer")} MB)`,
    );
  }
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
  "bomb-mib": listFlag({
    arg: "N,N",
    help: "declared sizes (MiB) of the generated gzip bombs whose peak RSS is measured",
    default: [256, 2048],
    parse: (item, name) => parseInteger(item, name, 1, 1 << 20),
  }),
  "skip-bomb": switchFlag("do not measure gzip bombs"),
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
    if (!flags.skipBomb) await bombs(tmp, flags.bombMib, workers);
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
