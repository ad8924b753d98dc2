import { assert, assertEquals, assertThrows } from "../deps/assert.ts";
import { learningRateAt, type Schedule, validateSchedule } from "../models/schedules.ts";

const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;

Deno.test("constant schedule keeps its rate", () => {
  const s: Schedule = { kind: "constant", initial: 0.3 };
  for (let e = 0; e < 5; e++) assertEquals(learningRateAt(s, e, 5), 0.3);
});

Deno.test("exponential schedule multiplies by rate each `every` epochs", () => {
  const s: Schedule = { kind: "exponential", initial: 0.1, rate: 0.5 };
  assert(close(learningRateAt(s, 0, 10), 0.1));
  assert(close(learningRateAt(s, 1, 10), 0.05));
  assert(close(learningRateAt(s, 3, 10), 0.0125));
  const slow: Schedule = { kind: "exponential", initial: 0.1, rate: 0.5, every: 2 };
  assert(close(learningRateAt(slow, 2, 10), 0.05));
  assert(close(learningRateAt(slow, 1, 10), 0.1 * Math.SQRT1_2));
});

Deno.test("step schedule drops by factor every `every` epochs", () => {
  const s: Schedule = { kind: "step", initial: 0.1, factor: 0.1, every: 3 };
  const rates = [0, 1, 2, 3, 4, 5, 6].map((e) => learningRateAt(s, e, 7));
  assert(rates.slice(0, 3).every((r) => close(r, 0.1)));
  assert(rates.slice(3, 6).every((r) => close(r, 0.01)));
  assert(close(rates[6], 0.001));
});

Deno.test("cosine schedule goes from initial to minimum over the run", () => {
  const s: Schedule = { kind: "cosine", initial: 0.2, minimum: 0.02 };
  assert(close(learningRateAt(s, 0, 10), 0.2));
  assert(close(learningRateAt(s, 5, 10), 0.11));
  assert(close(learningRateAt(s, 10, 10), 0.02));
  const rates = Array.from({ length: 10 }, (_, e) => learningRateAt(s, e, 10));
  for (let i = 1; i < rates.length; i++) assert(rates[i] < rates[i - 1]);
});

Deno.test("cosine warm restarts jump back to the initial rate", () => {
  const s: Schedule = { kind: "cosine", initial: 0.1, restartEvery: 4, cycleMult: 2 };
  assert(close(learningRateAt(s, 0, 12), 0.1));
  assert(close(learningRateAt(s, 2, 12), 0.05));
  assert(close(learningRateAt(s, 4, 12), 0.1)); // restart; next cycle is 8 epochs
  assert(close(learningRateAt(s, 8, 12), 0.05));
});

Deno.test("cosine warm-up ramps up linearly", () => {
  const s: Schedule = { kind: "cosine", initial: 0.1, warmup: 2 };
  assert(close(learningRateAt(s, 0, 10), 0.01));
  assert(close(learningRateAt(s, 1, 10), 0.055));
  assert(close(learningRateAt(s, 2, 10), 0.1));
});

Deno.test("invalid schedules name the field", () => {
  assertThrows(
    () => validateSchedule({ kind: "step", initial: 0.1, factor: 2, every: 3 }),
    /schedule\.factor must be a number in \(0, 1\], got 2/,
  );
  assertThrows(() => validateSchedule({ kind: "constant", initial: -1 }), /schedule\.initial/);
  assertThrows(
    () => validateSchedule({ kind: "linear", initial: 0.1 } as unknown as Schedule),
    /schedule\.kind must be one of constant, exponential, step, cosine/,
  );
});
