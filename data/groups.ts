/**
 * Exact-duplicate groups: images with identical pixels, found by content hash
 * and confirmed pixel by pixel.
 *
 * @module
 */
import { type ImageSet, LETTERS, NUM_CLASSES, PIXELS } from "./types.ts";

/** The duplicate structure of one {@link ImageSet}. */
export interface DuplicateGroups {
  /** Number of groups = number of distinct images. */
  count: number;
  /** Group id of each image; groups are numbered in order of their first image. */
  groupOf: Uint32Array;
  /** Members of group g: `members[starts[g] .. starts[g+1])`, ascending image indices. */
  members: Uint32Array;
  /** `count + 1` offsets into `members`. */
  starts: Uint32Array;
  /** Label of each group, or -1 when its copies carry different labels. */
  label: Int16Array;
}

function samePixels(images: Uint8Array, a: number, b: number): boolean {
  const pa = a * PIXELS;
  const pb = b * PIXELS;
  for (let i = 0; i < PIXELS; i++) if (images[pa + i] !== images[pb + i]) return false;
  return true;
}

/** Groups the images of `set` by exact pixel equality, using `hashes` (2 lanes per image). */
export function duplicateGroups(set: ImageSet, hashes: Uint32Array): DuplicateGroups {
  const n = set.count;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) =>
    hashes[2 * a] - hashes[2 * b] || hashes[2 * a + 1] - hashes[2 * b + 1] || a - b
  );
  // rep[i]: smallest index with the same pixels as image i.
  const rep = new Uint32Array(n);
  let s = 0;
  while (s < n) {
    let e = s + 1;
    const a = order[s];
    while (
      e < n && hashes[2 * order[e]] === hashes[2 * a] &&
      hashes[2 * order[e] + 1] === hashes[2 * a + 1]
    ) e++;
    // Within a run of equal hashes, confirm pixels (a collision splits the run).
    const reps: number[] = [];
    for (let i = s; i < e; i++) {
      const img = order[i];
      let r = -1;
      for (const c of reps) {
        if (samePixels(set.images, c, img)) {
          r = c;
          break;
        }
      }
      if (r < 0) {
        reps.push(img);
        r = img;
      }
      rep[img] = r;
    }
    s = e;
  }
  const groupOf = new Uint32Array(n);
  const sizes: number[] = [];
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (rep[i] === i) {
      groupOf[i] = count++;
      sizes.push(0);
    } else groupOf[i] = groupOf[rep[i]];
    sizes[groupOf[i]]++;
  }
  const starts = new Uint32Array(count + 1);
  for (let g = 0; g < count; g++) starts[g + 1] = starts[g] + sizes[g];
  const fill = starts.slice(0, count);
  const members = new Uint32Array(n);
  const label = new Int16Array(count).fill(-2);
  for (let i = 0; i < n; i++) {
    const g = groupOf[i];
    members[fill[g]++] = i;
    const l = set.labels[i];
    label[g] = label[g] === -2 ? l : label[g] === l ? l : -1;
  }
  return { count, groupOf, members, starts, label };
}

/** A summary of the duplicates of one archive. */
export interface DuplicateStats {
  /** Images. */
  images: number;
  /** Distinct images (groups). */
  distinct: number;
  /** Groups with two or more copies. */
  groups: number;
  /** Images that belong to a group with two or more copies. */
  filesInGroups: number;
  /** Images that a de-duplication would remove (`images - distinct`). */
  extraCopies: number;
  /** The largest group: its size and copies per letter. */
  largest: { size: number; letters: Record<string, number> } | null;
  /** Groups whose copies carry different labels: size and copies per letter. */
  conflicting: { size: number; letters: Record<string, number> }[];
}

function lettersOf(set: ImageSet, g: DuplicateGroups, id: number): Record<string, number> {
  const counts = new Array(NUM_CLASSES).fill(0);
  for (let i = g.starts[id]; i < g.starts[id + 1]; i++) counts[set.labels[g.members[i]]]++;
  const out: Record<string, number> = {};
  for (let c = 0; c < NUM_CLASSES; c++) if (counts[c] > 0) out[LETTERS[c]] = counts[c];
  return out;
}

/** Counts of {@link duplicateGroups} for reports. */
export function duplicateStats(set: ImageSet, g: DuplicateGroups): DuplicateStats {
  let groups = 0;
  let filesInGroups = 0;
  let largest = -1;
  const conflicting: DuplicateStats["conflicting"] = [];
  for (let id = 0; id < g.count; id++) {
    const size = g.starts[id + 1] - g.starts[id];
    if (size > 1) {
      groups++;
      filesInGroups += size;
      if (largest < 0 || size > g.starts[largest + 1] - g.starts[largest]) largest = id;
    }
    if (g.label[id] === -1) conflicting.push({ size, letters: lettersOf(set, g, id) });
  }
  return {
    images: set.count,
    distinct: g.count,
    groups,
    filesInGroups,
    extraCopies: set.count - g.count,
    largest: largest < 0 ? null : {
      size: g.starts[largest + 1] - g.starts[largest],
      letters: lettersOf(set, g, largest),
    },
    conflicting,
  };
}
