/**
 * `--hidden-test FILE`: parsed by every grading CLI from one declaration,
 * loaded by the data layer like any notMNIST-layout archive (refused with the
 * flag's name when unusable), recorded in the data identity, and shipped by
 * the Gradescope packer with `run_autograder` pointing at it.
 */
import { assert, assertEquals, assertRejects } from "../deps/assert.ts";
import { join } from "node:path";
import { parseGradeArgs } from "../grader/args.ts";
import { parseClassArgs } from "../grader/class/cli.ts";
import { parseAutograderArgs, revealsTestAccuracy } from "../grader/gradescope/autograder.ts";
import { autograderEntries } from "../grader/gradescope/pack.ts";
import { HiddenTestError, loadHiddenTest } from "../grader/hidden_test.ts";
import { loadGradeData } from "../grader/grade_data.ts";
import { grayPng, writeTarGz } from "../data/synthetic.ts";
import { writeToyArchive } from "./toy_archive.ts";

Deno.test("--hidden-test and --override-integrity: one declaration, every grading CLI", () => {
  const a = parseGradeArgs(["--hidden-test", "h/hidden.tar.gz", "--override-integrity"], "/t");
  assert(a !== "help");
  assertEquals([a.hiddenTest, a.overrideIntegrity], ["/t/h/hidden.tar.gz", true]);
  const c = parseClassArgs(["class", "--hidden-test", "hidden.tar.gz"], "/t");
  assert(c !== "help");
  assertEquals([c.hiddenTest, c.overrideIntegrity], ["/t/hidden.tar.gz", false]);
  const g = parseAutograderArgs(["--hidden-test", "/s/hidden/h.tar.gz"]);
  assertEquals(g.hiddenTest, "/s/hidden/h.tar.gz");
});

Deno.test("loadHiddenTest reads a notMNIST-layout archive and refuses unusable ones by the flag", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nm-hidden-" });
  try {
    const path = await writeToyArchive(tmp, 3);
    const h = await loadHiddenTest(path);
    assertEquals(h.set.count, 30);
    assertEquals(h.forbidden, path);
    assertEquals(h.record.sha256.length, 64);
    await assertRejects(
      () => loadHiddenTest(join(tmp, "missing.tar.gz")),
      HiddenTestError,
      "--hidden-test",
    );
    const onlyA = join(tmp, "hidden.tar.gz");
    await writeTarGz(onlyA, [{ path: "hidden/A/a.png", bytes: grayPng(new Uint8Array(784)) }]);
    await assertRejects(() => loadHiddenTest(onlyA), HiddenTestError, "no readable images of B");

    const data = join(tmp, "data");
    await writeToyArchive(data, 20);
    const plain = await loadGradeData({ dataDir: data, cacheDir: join(tmp, "cache") });
    const withHidden = await loadGradeData({
      dataDir: data,
      cacheDir: join(tmp, "cache"),
      hiddenTest: path,
    });
    assertEquals(withHidden.data.hidden?.count, 30);
    assert(withHidden.forbiddenRoots.includes(path));
    assert(
      plain.dataSha256 !== withHidden.dataSha256,
      "the hidden set is part of the data identity",
    );
    assertEquals(plain.data.hidden, undefined);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("deno task gradescope --hidden-test ships it and run_autograder grades on it", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nm-hidden-pack-" });
  try {
    await writeToyArchive(tmp, 3);
    const hidden = join(tmp, "h");
    await Deno.mkdir(hidden);
    const path = await writeToyArchive(hidden, 2);
    const entries = await autograderEntries({ dataDir: tmp, hiddenTest: path });
    const shipped = entries.find((e) => e.path === "hidden/notMNIST_small.tar.gz");
    assert(shipped, entries.map((e) => e.path).join(", "));
    assertEquals(shipped.bytes, await Deno.readFile(path));
    const run = new TextDecoder().decode(entries.find((e) => e.path === "run_autograder")?.bytes);
    assert(
      run.includes(
        `HIDDEN_TEST="\${AUTOGRADER_HIDDEN_TEST:-$SOURCE/hidden/notMNIST_small.tar.gz}"`,
      ),
    );
    const plain = await autograderEntries({ dataDir: tmp });
    assert(!plain.some((e) => e.path.startsWith("hidden/")));
    const plainRun = new TextDecoder().decode(
      plain.find((e) => e.path === "run_autograder")?.bytes,
    );
    assert(plainRun.includes(`HIDDEN_TEST="\${AUTOGRADER_HIDDEN_TEST:-}"`));
    await assertRejects(() => autograderEntries({ dataDir: tmp, hiddenTest: join(tmp, "x.zip") }));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("on Gradescope the integrity checks follow the accuracy tests' visibility", () => {
  assert(revealsTestAccuracy({ name: "Task 1: integrity checks", maxScore: 0 }));
  assert(revealsTestAccuracy({ name: "Task 1: test accuracy (main)", maxScore: 25 }));
  assert(!revealsTestAccuracy({ name: "Task 1: runs and returns valid predictions", maxScore: 0 }));
});
