/**
 * tasks/out_dir.ts: a task run's output folder is replaced whole (no stale
 * files), a failed run leaves the previous output, and a folder that is not a
 * task run's output is never replaced.
 *
 * @module
 */
import { assertEquals, assertRejects } from "../deps/assert.ts";
import { join } from "node:path";
import { commitOutDir, discardOutDir, OutDirError, stageOutDir } from "../tasks/out_dir.ts";

const names = async (dir: string): Promise<string[]> =>
  (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();

Deno.test("out dir: a re-run replaces the previous run's folder whole", async () => {
  const root = await Deno.makeTempDir({ prefix: "nm-outdir-" });
  try {
    const out = join(root, "task3");
    for (const files of [["result.json", "old_role.svg", "model"], ["result.json", "new.svg"]]) {
      const staging = await stageOutDir(out);
      for (const f of files) await Deno.writeTextFile(join(staging, f), f);
      await commitOutDir(staging, out);
    }
    assertEquals(await names(out), ["new.svg", "result.json"]);
    // Nothing but the output folder is left beside it (no staging or old folders).
    assertEquals(await names(root), ["task3"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("out dir: a failed run leaves the previous output as it was", async () => {
  const root = await Deno.makeTempDir({ prefix: "nm-outdir-" });
  try {
    const out = join(root, "task1");
    await Deno.mkdir(out);
    await Deno.writeTextFile(join(out, "result.json"), "{}");
    const staging = await stageOutDir(out);
    await Deno.writeTextFile(join(staging, "half.svg"), "<svg");
    await discardOutDir(staging);
    assertEquals(await names(out), ["result.json"]);
    assertEquals(await names(root), ["task1"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("out dir: a folder of other files or a file is refused, naming --out", async () => {
  const root = await Deno.makeTempDir({ prefix: "nm-outdir-" });
  try {
    await Deno.writeTextFile(join(root, "notes.txt"), "mine");
    await assertRejects(() => stageOutDir(root), OutDirError, `--out ${root} holds files but no`);
    await assertRejects(
      () => stageOutDir(join(root, "notes.txt")),
      OutDirError,
      "is a file, expected a folder",
    );
    assertEquals(await names(root), ["notes.txt"]);
    // An empty folder is fine.
    const empty = join(root, "empty");
    await Deno.mkdir(empty);
    await commitOutDir(await stageOutDir(empty), empty);
    assertEquals(await names(empty), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("out dir: a killed run's staging and old folders are removed by the next run", async () => {
  const root = await Deno.makeTempDir({ prefix: "nm-outdir-" });
  try {
    const out = join(root, "task4");
    for (const left of [".task4.partial-123-x", ".task4.old-123-y"]) {
      await Deno.mkdir(join(root, left));
      await Deno.writeTextFile(join(root, left, "result.json"), "{}");
    }
    await Deno.mkdir(join(root, ".task40.partial-1-z"));
    await commitOutDir(await stageOutDir(out), out);
    // Another folder's leftovers (task40) are not this one's.
    assertEquals(await names(root), [".task40.partial-1-z", "task4"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
