/**
 * No two seed streams collide (utils/seed_streams.ts).
 *
 * Why the check is complete: `deriveSeed(seed, ...parts)` hashes the parts and
 * their count, so two streams of one run seed start from the same state exactly
 * when their part tuples are equal (or on a 32-bit hash collision between
 * distinct tuples, which the numeric check below rules out for the ranges a run
 * reaches). Tuples of different purposes differ in their first part, because
 * the purposes' ids in `SEED_STREAMS` are distinct (checked); tuples of one
 * purpose have a fixed length and differ in their index parts, which the
 * stream functions pass through unchanged (checked by enumeration). So the
 * enumeration over every layer count the spec allows (0..MAX_HIDDEN_LAYERS
 * hidden layers: init of layers 0..H, dropout slots 0..H) and a step/epoch range
 * is a finite witness of a structural fact that holds for every step and epoch.
 */
import { assert, assertEquals, assertNotEquals } from "../deps/assert.ts";
import { deriveSeed } from "../utils/rng.ts";
import {
  dropoutStream,
  initStream,
  SEED_STREAMS,
  shiftStream,
  shuffleStream,
} from "../utils/seed_streams.ts";
import { MAX_HIDDEN_LAYERS } from "../models/mlp.ts";

const STEPS = 400;
const EPOCHS = 400;

/** Every stream (parts) a run with `hidden` hidden layers can draw, plus the data streams. */
function streams(hidden: number): number[][] {
  const out: number[][] = [
    [SEED_STREAMS.smallSplit],
    [SEED_STREAMS.validSplit],
    [SEED_STREAMS.folds],
    [SEED_STREAMS.subset],
  ];
  for (let l = 0; l <= hidden; l++) out.push(initStream(l));
  for (let e = 0; e < EPOCHS; e++) out.push(shuffleStream(e));
  for (let s = 0; s < STEPS; s++) {
    out.push(shiftStream(s));
    for (let slot = 0; slot <= hidden; slot++) out.push(dropoutStream(slot, s));
  }
  return out;
}

Deno.test("seed streams: one distinct id per purpose", () => {
  const ids = Object.values(SEED_STREAMS);
  assertEquals(new Set(ids).size, ids.length);
});

Deno.test("seed streams: the data streams keep their values (same splits, same subset)", () => {
  assertEquals(
    [SEED_STREAMS.smallSplit, SEED_STREAMS.validSplit, SEED_STREAMS.folds, SEED_STREAMS.subset],
    [1, 2, 3, 7],
  );
});

Deno.test("seed streams: no two streams collide, for every allowed layer count", () => {
  for (let hidden = 0; hidden <= MAX_HIDDEN_LAYERS; hidden++) {
    const all = streams(hidden);
    const tuples = new Set(all.map((p) => p.join(",") + `/${p.length}`));
    assertEquals(tuples.size, all.length, `equal part tuples with ${hidden} hidden layers`);
    for (const seed of [0, 42]) {
      const seeds = new Set(all.map((p) => deriveSeed(seed, ...p)));
      assertEquals(
        seeds.size,
        all.length,
        `equal seeds with ${hidden} hidden layers, seed ${seed}`,
      );
    }
  }
});

Deno.test("seed streams: the collisions the issue found are gone", () => {
  for (let s = 0; s < 50; s++) {
    // dropout after the first hidden layer at step s vs the shuffle of epoch s
    assertNotEquals(dropoutStream(1, s), shuffleStream(s));
    assertNotEquals(deriveSeed(42, ...dropoutStream(1, s)), deriveSeed(42, ...shuffleStream(s)));
    // dropout after the second hidden layer vs the shifts of the same step
    assertNotEquals(deriveSeed(42, ...dropoutStream(2, s)), deriveSeed(42, ...shiftStream(s)));
    // dropout of slot 1 at step i vs the initializer of layer i
    assertNotEquals(deriveSeed(42, ...dropoutStream(1, s)), deriveSeed(42, ...initStream(s)));
  }
  assert(MAX_HIDDEN_LAYERS >= 2);
});
