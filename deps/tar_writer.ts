/**
 * Tar writing goes through `modern-tar` (npm), built on Web Streams like
 * `@std/tar`; switching libraries means changing this file only. Also
 * {@link tarHeader}: one raw ustar header, for tests that build archives an
 * extractor should distrust.
 *
 * @module
 */
import { packTar as mtPackTar } from "modern-tar";
import type { TarEntryType } from "./tar_header.ts";

/** An entry to write with {@link packTar} or {@link TarGzWriter}. */
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

/**
 * Streams a `.tar.gz` to a file, so archives with hundreds of thousands of
 * entries never sit in memory. Entries are packed by `modern-tar` in groups of
 * {@link TarGzWriter.GROUP} (its in-memory packer is much faster per entry than
 * its streaming one); each group's end-of-archive blocks are dropped and written
 * once by {@link TarGzWriter.close}.
 */
export class TarGzWriter {
  /** Entries packed together. */
  static readonly GROUP = 4096;
  #pending: TarInput[] = [];
  #writer: WritableStreamDefaultWriter<Uint8Array<ArrayBuffer>>;
  #done: Promise<void>;

  /** Opens `path` for writing (truncating it). */
  constructor(path: string) {
    const gz = new CompressionStream("gzip");
    this.#writer = gz.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array<ArrayBuffer>>;
    this.#done = (async () => {
      const file = await Deno.open(path, { write: true, create: true, truncate: true });
      await gz.readable.pipeTo(file.writable);
    })();
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const tar = await packTar(this.#pending);
    this.#pending = [];
    // drop the two zero blocks that end an archive
    await this.#writer.write(tar.subarray(0, tar.length - 1024) as Uint8Array<ArrayBuffer>);
  }

  /** Adds one file (or a directory when `bytes` is omitted). */
  async add(entry: TarInput): Promise<void> {
    this.#pending.push(entry);
    if (this.#pending.length >= TarGzWriter.GROUP) await this.#flush();
  }

  /** Finishes the archive and waits until it is on disk. */
  async close(): Promise<void> {
    await this.#flush();
    await this.#writer.write(new Uint8Array(1024));
    await this.#writer.close();
    await this.#done;
  }
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
