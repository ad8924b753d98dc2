/**
 * utils/format.ts: percentages, and messages on one line for progress lines.
 *
 * @module
 */
import { assertEquals } from "../deps/assert.ts";
import { oneLine, pct } from "../utils/format.ts";

Deno.test("format: pct", () => {
  assertEquals([pct(0.931), pct(NaN)], ["93.10%", "n/a"]);
});

Deno.test("format: oneLine keeps the reason after a line ending in a colon", () => {
  const error = "import: the module graph of /tmp/x/task4.ts does not load:\n" +
    "  Module not found: file:///tmp/alice/task4.ts\n\n  at file:///tmp/x/task4.ts:1:20";
  assertEquals(
    oneLine(error),
    "import: the module graph of /tmp/x/task4.ts does not load: Module not found: " +
      "file:///tmp/alice/task4.ts; at file:///tmp/x/task4.ts:1:20",
  );
  assertEquals(oneLine("one line"), "one line");
  const long = oneLine("x".repeat(500), 100);
  assertEquals([long.length, long.endsWith("…")], [100, true]);
});
