import { assert, assertEquals, assertThrows } from "../deps/assert.ts";
import { type GradeArgs, parseGradeArgs, parseOnly, parseTaskFlags } from "../grader/args.ts";
import { PROJECT_ROOT } from "../grader/project.ts";
import { dataLoadAdvice } from "../grader/grade_data.ts";
import { EmptyArchiveError, MissingLettersError } from "../data.ts";

function parse(args: string[]): GradeArgs {
  const a = parseGradeArgs(args, "/home/teacher");
  if (a === "help") throw new Error("unexpected help");
  return a;
}

Deno.test("defaults: the lab's four tasks, trusted, full profile, out/grade", () => {
  const a = parse([]);
  assertEquals(a.profile, "full");
  assertEquals(a.tasks.map((t) => t.task), [1, 2, 3, 4]);
  assert(a.tasks.every((t) => t.trusted && t.module === `${PROJECT_ROOT}/tasks/task${t.task}.ts`));
  assertEquals(a.repeat, 1);
  assertEquals(a.out, "/home/teacher/out/grade");
  assertEquals(a.protocol, "auto");
});

Deno.test("--task grades only the given student modules, untrusted unless --trusted", () => {
  const a = parse(["--profile", "quick", "--task", "3=student/t3.ts", "--task", "1=/abs/t1.ts"]);
  assertEquals(a.tasks, [
    { task: 1, module: "/abs/t1.ts", trusted: false },
    { task: 3, module: "/home/teacher/student/t3.ts", trusted: false },
  ]);
  assert(a.studentMode);
  assert(parse(["--task", "1=x.ts", "--trusted"]).tasks[0].trusted);
});

Deno.test("bad flags get errors naming the flag", () => {
  assertThrows(() => parse(["--profile", "fast"]), /--profile expects quick or full, got "fast"/);
  assertThrows(() => parse(["--task", "5=x.ts"]), /--task expects N=PATH with N in 1..4/);
  assertThrows(() => parseTaskFlags(["1=a.ts", "1=b.ts"]), /--task 1 given twice/);
  assertThrows(() => parse(["--repeat", "0"]), /--repeat expects an integer in \[1, 10\]/);
  assertThrows(() => parse(["--only", "1,9"]), /--only expects task numbers 1..4/);
  assertThrows(() => parse(["--task", "1=x.ts", "--only", "2"]), /--only selects the lab's tasks/);
  assertThrows(() => parse(["--protocol", "large"]), /--protocol expects lab, small or auto/);
  assertThrows(() => parse(["--bogus"]), /Known flags/);
});

Deno.test("--only, --repeat, overrides and --help", () => {
  assertEquals(parseOnly("3, 1,3"), [1, 3]);
  const a = parse([
    "--only",
    "2",
    "--repeat",
    "2",
    "--epochs",
    "3",
    "--train-size",
    "500",
    "--seed",
    "7",
  ]);
  assertEquals(a.tasks.map((t) => t.task), [2]);
  assertEquals([a.repeat, a.epochs, a.trainSize, a.seed], [2, 3, 500, 7]);
  assertEquals(parseGradeArgs(["-h"]), "help");
});

Deno.test("data-load advice: where the archive goes, unless the archive's contents are what is wrong", () => {
  const missing = new Error("notMNIST_small.tar.gz not found");
  assert(dataLoadAdvice(missing, false).includes("Set NOTMNIST_DIR"));
  assert(dataLoadAdvice(missing, false).includes("add --download"));
  assert(!dataLoadAdvice(missing, true).includes("add --download"), "--download was given");
  assertEquals(dataLoadAdvice(new EmptyArchiveError("a.tar.gz", "no image"), false), "");
  assertEquals(dataLoadAdvice(new MissingLettersError("a.tar.gz", ["J"]), false), "");
});
