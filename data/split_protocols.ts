/**
 * Building the train/valid/test splits of each protocol from loaded archives:
 * `small` (a grouped, class-stratified 80/10/10 split of notMNIST_small) and
 * `lab` (train/valid from notMNIST_large, test from notMNIST_small without
 * what also occurs in large).
 *
 * @module
 */
import { deriveSeed } from "../utils/rng.ts";
import { SEED_STREAMS } from "../utils/seed_streams.ts";
import { allocateGroups, apportion } from "./allocate.ts";
import { subset } from "./batch.ts";
import type { DuplicateGroups } from "./groups.ts";
import type { Loaded } from "./split_sources.ts";
import { type ImageSet, NUM_CLASSES, PIXELS } from "./types.ts";

/** Fractions of the `small` protocol: train / valid / test. */
export const SMALL_FRACTIONS = { train: 0.8, valid: 0.1, test: 0.1 } as const;

function groupSize(g: DuplicateGroups, id: number): number {
  return g.starts[id + 1] - g.starts[id];
}

function classCounts(labels: Uint8Array, n: number): number[] {
  const c = new Array(NUM_CLASSES).fill(0);
  for (let i = 0; i < n; i++) c[labels[i]]++;
  return c;
}

/** The splits a protocol made, with what it removed and where conflicting groups went. */
export interface Made {
  train: ImageSet;
  valid: ImageSet;
  test: ImageSet;
  withinRemoved: { valid: number; test: number };
  acrossRemoved: { valid: number; test: number };
  conflicting: { images: number; placement: string };
}

/** Image indices of a split: all copies (`all`) or the first copy of each group. */
function pick(g: DuplicateGroups, assign: Int8Array, split: number, all: boolean): number[] {
  const out: number[] = [];
  for (let id = 0; id < g.count; id++) {
    if (assign[id] !== split) continue;
    const end = all ? g.starts[id + 1] : g.starts[id] + 1;
    for (let i = g.starts[id]; i < end; i++) out.push(g.members[i]);
  }
  return out.sort((a, b) => a - b);
}

function conflictingImages(g: DuplicateGroups): number {
  let n = 0;
  for (let id = 0; id < g.count; id++) if (g.label[id] === -1) n += groupSize(g, id);
  return n;
}

/** The `small` protocol's splits of notMNIST_small (see `loadSplits`). */
export function smallSplits(small: Loaded, seed: number, sanitize: boolean): Made {
  const { set } = small.archive;
  const g = small.groups;
  const counts = classCounts(set.labels, set.count);
  const quota = (frac: number) => apportion(Math.round(frac * set.count), counts);
  const assign = allocateGroups(g, {
    targets: [quota(SMALL_FRACTIONS.valid), quota(SMALL_FRACTIONS.test)],
    weight: (id) => groupSize(g, id),
    // sanitize: valid/test hold only images with no exact copy anywhere in the set
    eligible: sanitize ? (id) => groupSize(g, id) === 1 : undefined,
    seed: deriveSeed(seed, SEED_STREAMS.smallSplit),
    overflow: "rest",
  });
  const trainIdx = pick(g, assign, -1, true);
  const validIdx = pick(g, assign, 0, true);
  const testIdx = pick(g, assign, 1, true);
  return {
    train: subset(set, trainIdx),
    valid: subset(set, validIdx),
    test: subset(set, testIdx),
    withinRemoved: { valid: 0, test: 0 },
    acrossRemoved: { valid: 0, test: 0 },
    conflicting: { images: conflictingImages(g), placement: "train (all copies)" },
  };
}

function hashKey(hashes: Uint32Array, i: number): number {
  return hashes[2 * i] * 2097152 + (hashes[2 * i + 1] & 0x1fffff);
}

/** The `lab` protocol's splits: train/valid from `large`, test from `small` (see `loadSplits`). */
export function labSplits(
  large: Loaded,
  small: Loaded,
  seed: number,
  sanitize: boolean,
  validSize: number,
): Made {
  const L = large.archive.set;
  const g = large.groups;
  if (!(Number.isInteger(validSize) && validSize > 0 && validSize < L.count)) {
    throw new Error(`validSize must be an integer in [1, ${L.count - 1}], got ${validSize}`);
  }
  const counts = classCounts(L.labels, L.count);
  const assign = allocateGroups(g, {
    targets: [apportion(validSize, counts)],
    weight: (id) => groupSize(g, id),
    eligible: sanitize ? (id) => groupSize(g, id) === 1 : undefined,
    seed: deriveSeed(seed, SEED_STREAMS.validSplit),
    overflow: "rest",
  });
  const trainIdx = pick(g, assign, -1, true);
  const validIdx = pick(g, assign, 0, true);
  // Test: notMNIST_small minus anything that also occurs in large (train or valid).
  const S = small.archive.set;
  const sg = small.groups;
  const seen = new Map<number, number[]>();
  for (let i = 0; i < L.count; i++) {
    const k = hashKey(large.archive.hashes, i);
    const list = seen.get(k);
    if (list) list.push(i);
    else seen.set(k, [i]);
  }
  const inLarge = (j: number): boolean => {
    const list = seen.get(hashKey(small.archive.hashes, j));
    if (!list) return false;
    const a = S.images.subarray(j * PIXELS, (j + 1) * PIXELS);
    return list.some((i) => {
      const b = L.images.subarray(i * PIXELS, (i + 1) * PIXELS);
      for (let p = 0; p < PIXELS; p++) if (a[p] !== b[p]) return false;
      return true;
    });
  };
  const testIdx: number[] = [];
  let across = 0;
  let within = 0;
  let conflicting = 0;
  for (let id = 0; id < sg.count; id++) {
    const size = groupSize(sg, id);
    const first = sg.members[sg.starts[id]];
    if (sanitize && inLarge(first)) {
      across += size;
      continue;
    }
    if (sanitize && sg.label[id] === -1) {
      conflicting += size;
      continue;
    }
    const end = sanitize ? sg.starts[id] + 1 : sg.starts[id + 1];
    for (let i = sg.starts[id]; i < end; i++) testIdx.push(sg.members[i]);
    within += sg.starts[id + 1] - end;
  }
  testIdx.sort((a, b) => a - b);
  return {
    train: subset(L, trainIdx),
    valid: subset(L, validIdx),
    test: subset(S, testIdx),
    withinRemoved: { valid: 0, test: within },
    acrossRemoved: { valid: 0, test: across },
    conflicting: {
      images: conflictingImages(g) + conflicting,
      placement: sanitize
        ? "large: train (all copies); small: removed from test"
        : "large: train (all copies); small: kept in test",
    },
  };
}
