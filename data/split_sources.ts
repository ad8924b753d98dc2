/**
 * The archives a split uses: finding (or downloading) one in the data folder,
 * and loading it, through its decoded cache, with its duplicate groups.
 *
 * @module
 */
import { type DecodedArchive, loadArchive } from "./archive.ts";
import { digestNote, downloadArchive } from "./download.ts";
import { type DuplicateGroups, duplicateGroups } from "./groups.ts";
import { type ArchiveName, findArchive } from "./paths.ts";

/** A loaded archive with its duplicate groups. */
export interface Loaded {
  name: ArchiveName;
  archive: DecodedArchive;
  groups: DuplicateGroups;
}

/** The path of archive `name` in `dataDir`, downloaded first when missing and `download`; else null. */
export async function locate(
  dataDir: string,
  name: ArchiveName,
  download: boolean,
  log: (l: string) => void,
): Promise<string | null> {
  const found = await findArchive(dataDir, name);
  if (found || !download) return found;
  return await downloadArchive({ name, dataDir, log });
}

/** Loads the archive at `path` (through the cache in `cacheDir`) and groups its exact duplicates. */
export async function load(
  path: string,
  name: ArchiveName,
  cacheDir: string,
  workers: number | undefined,
  log: (l: string) => void,
): Promise<Loaded> {
  const archive = await loadArchive(path, { cacheDir, workers, log });
  log(
    `${name}: ${archive.set.count} images from ${archive.fromCache ? "cache" : path} in ` +
      `${archive.seconds.toFixed(2)} s`,
  );
  const note = digestNote(name, archive.source.sha256);
  if (note !== null) log(note);
  return { name, archive, groups: duplicateGroups(archive.set, archive.hashes) };
}
