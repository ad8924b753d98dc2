/**
 * Entries that share one path. An extractor keeps only the last of them, a
 * reader of the stream sees them all: the archive is ambiguous, so none of them
 * is used and every one is listed ({@link duplicatePathReason}).
 *
 * @module
 */

/** The path an extractor would write `name` to: a leading `./` does not count. */
export function pathKey(name: string): string {
  return name.replace(/^(\.\/)+/, "");
}

/** Counts the entries of each path; keeps only the repeated ones beyond a seen-set. */
export class PathTally {
  #seen = new Set<string>();
  #repeated = new Map<string, number>();

  /** Records one entry named `name`. */
  add(name: string): void {
    const key = pathKey(name);
    if (!this.#seen.has(key)) this.#seen.add(key);
    else this.#repeated.set(key, (this.#repeated.get(key) ?? 1) + 1);
  }

  /** Paths held by two or more entries, with their entry counts. */
  get repeated(): ReadonlyMap<string, number> {
    return this.#repeated;
  }
}

/** The skip reason of an image whose path `n` entries of the archive share. */
export function duplicatePathReason(n: number): string {
  return `duplicate path: ${n} entries have this path (an extractor keeps only the last); ` +
    "none is used";
}
