/**
 * The session of a sandboxed run: spawns the planned child, speaks the
 * protocol with it (hands over the test images once it has trained), and
 * enforces the limits (time, memory, output size, log size), killing the
 * process group when one is hit.
 *
 * @module
 */
import { join } from "node:path";
import {
  type ChildMessage,
  type FailureKind,
  FILES,
  MESSAGE_MARK,
  type SandboxFailure,
} from "./protocol.ts";
import { PIXELS } from "../../data/types.ts";
import { folderUsage, MIB, watchRss } from "./limits.ts";
import { forEachLine } from "./lines.ts";
import type { SandboxPlan } from "./plan.ts";
import type { SandboxRequest, SandboxResult } from "./types.ts";

/** Whether `setsid` is available to put the child into its own process group. */
export async function hasSetsid(): Promise<boolean> {
  try {
    const out = await new Deno.Command("setsid", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/** The child's `ready` message. */
export type Ready = Extract<ChildMessage, { type: "ready" }>;
/** The child's `done` message. */
export type Done = Extract<ChildMessage, { type: "done" }>;

/** What {@link runSession} found. */
export interface SessionOutcome {
  failure?: SandboxFailure;
  ready?: Ready;
  done?: Done;
  partial: Partial<SandboxResult>;
}

/** Spawns the planned child, runs the protocol and enforces the limits. */
export async function runSession(
  plan: SandboxPlan,
  req: SandboxRequest,
  limits: { memoryMb: number; outputMb: number; logMb: number },
  useSetsid: boolean,
  logLines: string[],
): Promise<SessionOutcome> {
  const partial: Partial<SandboxResult> = {};
  let logBytes = 0;
  let limitHit: SandboxFailure | undefined;
  const pushLog = (line: string): void => {
    logLines.push(line.length > 2000 ? line.slice(0, 2000) + " ..." : line);
    if (logLines.length > 60) logLines.shift();
    req.onLine?.(line);
  };

  const child = new Deno.Command(plan.command, {
    args: plan.args,
    cwd: plan.work,
    clearEnv: true,
    env: plan.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killGroup = (): void => {
    try {
      if (useSetsid) Deno.kill(-child.pid, "SIGKILL");
      else child.kill("SIGKILL");
    } catch {
      // already gone
    }
  };
  const stopFor = (failure: SandboxFailure): void => {
    limitHit ??= failure;
    killGroup();
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, req.timeoutSeconds * 1000);

  // Output size, polled; resident memory, watched.
  let peakKb = 0;
  let polling = false;
  const poll = async (): Promise<void> => {
    if (polling || limitHit) return;
    polling = true;
    try {
      const usage = await folderUsage(plan.outDir);
      if (usage.bytes > limits.outputMb * MIB || usage.entries > 100_000) {
        stopFor({
          kind: "output",
          message:
            `the task wrote ${(usage.bytes / MIB).toFixed(1)} MiB (${usage.entries} entries) ` +
            `to its output folder, more than the ${limits.outputMb} MiB cap; it was stopped and ` +
            `its output folder emptied`,
        });
      }
    } finally {
      polling = false;
    }
  };
  const poller = setInterval(poll, 100);
  const rss = watchRss(child.pid, (kb) => {
    peakKb = Math.max(peakKb, kb);
    if (kb > limits.memoryMb * 1024) {
      stopFor({
        kind: "memory",
        message: `the task's process used ${Math.round(kb / 1024)} MiB of memory, more than ` +
          `the ${limits.memoryMb} MiB cap; it was stopped and its output folder emptied`,
      });
    }
  });

  const onBytes = (n: number): boolean => {
    logBytes += n;
    if (logBytes > limits.logMb * MIB) {
      stopFor({
        kind: "log",
        message:
          `the task printed more than ${limits.logMb} MiB of output; it was stopped and its ` +
          `output folder emptied`,
      });
      return false;
    }
    return true;
  };

  const messages: ChildMessage[] = [];
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const mark = MESSAGE_MARK + plan.header.token;
  const onStdout = (line: string): void => {
    const at = line.indexOf(mark);
    if (at >= 0) {
      if (at > 0) pushLog(line.slice(0, at));
      try {
        messages.push(JSON.parse(line.slice(at + mark.length)) as ChildMessage);
        notify();
      } catch {
        pushLog(line);
      }
    } else {
      pushLog(line);
    }
  };
  // Protocol lines still count against the log cap: they are bytes the parent reads.
  const stdoutDone = forEachLine(child.stdout, onStdout, onBytes);
  const stderrDone = forEachLine(child.stderr, pushLog, onBytes);
  let exited = false;
  const statusPromise = child.status.then((s) => {
    exited = true;
    notify();
    return s;
  });
  const writer = child.stdin.getWriter();

  const next = async (): Promise<ChildMessage | undefined> => {
    while (messages.length === 0 && !exited) {
      await new Promise<void>((r) => (wake = r));
    }
    return messages.shift();
  };

  let failure: SandboxFailure | undefined;
  let ready: Ready | undefined;
  let done: Done | undefined;
  try {
    for (let msg = await next(); msg; msg = await next()) {
      if (msg.type === "backend") partial.backend = { name: msg.name, skipped: msg.skipped };
      else if (msg.type === "error") {
        const kind: FailureKind = msg.stage === "contract"
          ? "contract"
          : msg.stage === "setup"
          ? "setup"
          : msg.errorKind === "permission"
          ? "permission"
          : msg.stage === "import"
          ? "import"
          : "exception";
        failure = { kind, message: `${msg.stage} failed: ${msg.message}` };
        break;
      } else if (msg.type === "ready" && !ready) {
        ready = msg;
        partial.trainSeconds = msg.trainSeconds;
        await Deno.writeFile(
          join(plan.dataDir, FILES.testImages),
          req.testImages.images.subarray(0, req.testImages.count * PIXELS),
        );
        await Deno.writeTextFile(
          join(plan.dataDir, FILES.testHeader),
          JSON.stringify({ count: req.testImages.count }),
        );
        await writer.write(new TextEncoder().encode("predict\n")).catch(() => {});
        await writer.close().catch(() => {});
      } else if (msg.type === "done" && ready) {
        done = msg;
        partial.predictSeconds = msg.predictSeconds;
        break;
      }
    }
  } finally {
    await writer.close().catch(() => {});
  }
  if (!exited) {
    // Give the child a moment to exit on its own, then stop its process group.
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([statusPromise, new Promise((r) => (grace = setTimeout(r, 2000)))]);
    clearTimeout(grace);
  }
  if (!exited) killGroup();
  const status = await statusPromise;
  clearTimeout(timer);
  clearInterval(poller);
  await rss.stop();
  while (polling) await new Promise((r) => setTimeout(r, 10));
  await Promise.all([stdoutDone.catch(() => {}), stderrDone.catch(() => {})]);
  // One last look: a task may write just before it exits.
  await poll();
  partial.exitCode = status.signal ? null : status.code;
  partial.peakRssMb = Math.round(peakKb / 1024);

  if (limitHit) return { failure: limitHit, partial };
  if (timedOut && !done) {
    return {
      failure: {
        kind: "timeout",
        message: `timed out after ${req.timeoutSeconds} s (${
          ready ? "while predicting" : "while training"
        }); the process group was killed`,
      },
      partial,
    };
  }
  if (failure) return { failure, partial };
  if (!ready || !done) {
    const tail = logLines.slice(-8).join("\n");
    const firstPermission = logLines.find((l) => /NotCapable|Requires \w+ access/.test(l));
    return {
      failure: {
        kind: firstPermission ? "permission" : "crash",
        message:
          `the task process exited (code ${status.code}${
            status.signal ? `, signal ${status.signal}` : ""
          }) before ${ready ? "returning predictions" : "finishing training"}` +
          (tail ? `; last output:\n${tail}` : ""),
      },
      partial,
    };
  }
  return { ready, done, partial };
}
