/**
 * Linux thread ids and CPU affinity through glibc (Deno FFI), for keeping the
 * fused step's helper worker (fused_helper.ts) off the trainer's CPU: woken
 * on the trainer's own CPU, the helper would wait for the trainer's time
 * slice instead of running beside it (the other CPU is not idle: the BLAS's
 * threads spin there between matrix products).
 *
 * {@link openThreadAffinity} returns `undefined` where this is not available
 * (not Linux, no glibc, or no `--allow-ffi`: the permission is queried, never
 * prompted for); the helper then runs where the scheduler puts it.
 *
 * ```ts
 * import { openThreadAffinity } from "./thread_affinity.ts";
 *
 * const affinity = openThreadAffinity();
 * if (affinity) {
 *   console.log(affinity.threadId(), affinity.currentCpu(), affinity.allowedCpus());
 * }
 * ```
 *
 * @module
 */

const SYMBOLS = {
  gettid: { parameters: [], result: "i32" },
  sched_getcpu: { parameters: [], result: "i32" },
  sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
} as const;

/** Bytes of a CPU set (glibc's `cpu_set_t`: 1024 CPUs). */
const SET_BYTES = 128;
const SET_SIZE = BigInt(SET_BYTES);

/** Thread ids and CPU affinity of the calling process's threads. */
export interface ThreadAffinity {
  /** The calling thread's id (`gettid`). */
  threadId(): number;
  /** The CPU the calling thread is running on (`sched_getcpu`). */
  currentCpu(): number;
  /** The CPUs the calling thread may run on (`sched_getaffinity`). */
  allowedCpus(): number[];
  /** Restricts thread `tid` to `cpus` (`sched_setaffinity`); false when refused. */
  pin(tid: number, cpus: number[]): boolean;
}

/** The CPUs set in `set` (a `cpu_set_t`). */
export function cpusOfSet(set: Uint8Array): number[] {
  const cpus: number[] = [];
  for (let i = 0; i < set.length * 8; i++) if (set[i >> 3] & (1 << (i & 7))) cpus.push(i);
  return cpus;
}

/** A `cpu_set_t` holding `cpus` (those below 1024). */
export function setOfCpus(cpus: number[]): Uint8Array<ArrayBuffer> {
  const set = new Uint8Array(SET_BYTES);
  for (const c of cpus) if (c >= 0 && c < SET_BYTES * 8) set[c >> 3] |= 1 << (c & 7);
  return set;
}

let opened: { affinity: ThreadAffinity | undefined } | undefined;

/**
 * glibc's thread and affinity calls (loaded once per isolate), or
 * `undefined` where they cannot be loaded without asking.
 */
export function openThreadAffinity(): ThreadAffinity | undefined {
  opened ??= { affinity: loadAffinity() };
  return opened.affinity;
}

function loadAffinity(): ThreadAffinity | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
    const lib = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
    return {
      threadId: () => lib.gettid(),
      currentCpu: () => lib.sched_getcpu(),
      allowedCpus: () => {
        const set = new Uint8Array(SET_BYTES);
        return lib.sched_getaffinity(0, SET_SIZE, set) === 0 ? cpusOfSet(set) : [];
      },
      pin: (tid, cpus) => lib.sched_setaffinity(tid, SET_SIZE, setOfCpus(cpus)) === 0,
    };
  } catch {
    return undefined;
  }
}
