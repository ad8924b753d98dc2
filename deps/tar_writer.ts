/**
 * In-memory tar packing goes through `modern-tar` (npm), built on Web Streams like
 * `@std/tar`; switching libraries means changing this file only (the streaming,
 * reproducible `.tar.gz` writer is `deps/tar_gz_writer.ts`). Also
 * {@link tarHeader}: one raw ustar header, for tests that build archives an
 * extractor should distrust.
 *
 * @module
 */
import { packTar as mtPackTar } from "modern-tar";
import type { TarEntryType } from "./tar_header.ts";

/** An entry to write with {@link packTar}. */
export interface TarInput {
  /** Path inside the archive; a trailing "/" with no bytes makes a directory. */
  name: string;
  /** File contents; omit for a directory. */
  bytes?: Uint8Array;
}

/** Packs entries into an uncompressed tar held in memory (for tests and small fixtures). */
export function packTar(entries: TarInput[]): Promise<Uint8Array> {
  return mtPackTar(
    entries.map((e) =>
      e.bytes === undefined
        ? { header: { name: e.name, type: "directory" as const, size: 0 } }
        : { header: { name: e.name, size: e.bytes.byteLength }, body: e.bytes }
    ),
  );
}

/** Header fields of one entry for {@link tarHeader}. */
export interface TarHeaderInput {
  /** Path inside the archive, stored as given (at most 100 bytes). */
  name: string;
  /** Raw name bytes stored instead of `name` (e.g. bytes that are not UTF-8). */
  rawName?: Uint8Array;
  /** Entry kind (default `file`). */
  type?: Exclude<TarEntryType, "other">;
  /** A raw type flag written instead of `type`'s, e.g. `L` (GNU long name) or `x` (PAX). */
  typeFlag?: string;
  /** Declared body size in bytes (default 0); any size, base-256 above 8 GiB. */
  size?: number;
  /** Link target of a symlink or hard link. */
  linkName?: string;
  /** Permission bits (default 0o644, 0o755 for a directory). */
  mode?: number;
}

const FLAGS: Record<Exclude<TarEntryType, "other">, string> = {
  file: "0",
  link: "1",
  symlink: "2",
  "character-device": "3",
  "block-device": "4",
  directory: "5",
  fifo: "6",
};

/**
 * One 512-byte ustar header, written field by field with no checks on the
 * name (absolute paths and `..` are kept as given), so tests can build
 * archives that any extractor should distrust. The body, padded to 512 bytes,
 * follows it; two zero blocks end an archive.
 */
export function tarHeader(h: TarHeaderInput): Uint8Array {
  const b = new Uint8Array(512);
  const enc = new TextEncoder();
  const put = (s: string, at: number, len: number, what: string) => {
    const bytes = enc.encode(s);
    if (bytes.length > len) throw new Error(`tarHeader: ${what} "${s}" is over ${len} bytes`);
    b.set(bytes, at);
  };
  const num = (v: number, at: number, len: number) =>
    put(v.toString(8).padStart(len - 1, "0"), at, len - 1, "number");
  const type = h.type ?? "file";
  const size = h.size ?? 0;
  if (h.rawName === undefined) put(h.name, 0, 100, "name");
  else if (h.rawName.length <= 100) b.set(h.rawName, 0);
  else throw new Error(`tarHeader: raw name of ${h.rawName.length} bytes is over 100 bytes`);
  num(h.mode ?? (type === "directory" ? 0o755 : 0o644), 100, 8);
  num(0, 108, 8);
  num(0, 116, 8);
  if (size < 8 ** 11) {
    num(size, 124, 12);
  } else {
    let v = size;
    for (let i = 135; i > 124; i--) {
      b[i] = v % 256;
      v = Math.floor(v / 256);
    }
    b[124] = 0x80;
  }
  num(0, 136, 12);
  b[156] = (h.typeFlag ?? FLAGS[type]).charCodeAt(0);
  put(h.linkName ?? "", 157, 100, "link name");
  put("ustar", 257, 6, "magic");
  put("00", 263, 2, "version");
  b.fill(32, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i];
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "checksum");
  return b;
}
