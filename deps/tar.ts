/**
 * Tar seam over `modern-tar` (npm). `modern-tar` was chosen over `tar-stream`
 * because it is built on Web Streams, like `@std/tar`'s `UntarStream`, so it
 * plugs directly into `DecompressionStream("gzip")` and `Deno.FsFile.readable`
 * without Node stream adapters, has no dependencies, and switching back to
 * `@std/tar` later means changing this file only.
 *
 * @module
 */
import { packTar as mtPackTar, unpackTar } from "modern-tar";

/** One entry read from a tar stream. */
export interface TarFileEntry {
  /** Path inside the archive. */
  name: string;
  /** Entry type: "file", "directory", "symlink", ... */
  type: string;
  /** The entry's bytes (empty for non-files). */
  bytes: Uint8Array;
}

/** Bytes buffered before a window of whole entries is unpacked. */
const WINDOW = 4 << 20;

function octal(b: Uint8Array, at: number, len: number): number {
  if (b[at] & 0x80) {
    // base-256 (GNU) size field
    let v = b[at] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[at + i];
    return v;
  }
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const c = b[i];
    if (c === 0 || c === 32) {
      if (v > 0) break;
      continue;
    }
    if (c < 48 || c > 55) return NaN;
    v = v * 8 + (c - 48);
  }
  return v;
}

/**
 * End of the last complete entry in `buf[0..len)`: walks the headers (size at
 * offset 124, type at 156); PAX/GNU long-name headers belong to the entry that
 * follows them, so a cut never falls right after one.
 */
function safeCut(buf: Uint8Array, len: number): number {
  let p = 0;
  let cut = 0;
  while (p + 512 <= len) {
    if (buf[p] === 0) return p; // end-of-archive block: everything before it is whole
    const size = octal(buf, p + 124, 12);
    if (!Number.isFinite(size)) throw new Error(`corrupt tar header at byte ${p}`);
    const next = p + 512 + Math.ceil(size / 512) * 512;
    if (next > len) break;
    const type = String.fromCharCode(buf[p + 156]);
    if (type !== "x" && type !== "g" && type !== "L" && type !== "K") cut = next;
    p = next;
  }
  return cut;
}

/**
 * Iterates the entries of an (uncompressed) tar byte stream, reading each body
 * fully. The stream is buffered into windows of whole entries that are unpacked
 * with `modern-tar`'s `unpackTar` on a buffer; its streaming decoder creates a
 * stream per entry and is about four times slower on archives of small files.
 * Limitation: a PAX global header (type `g`) applies only within its window.
 */
export async function* tarEntries(
  tar: ReadableStream<Uint8Array>,
): AsyncGenerator<TarFileEntry> {
  let buf = new Uint8Array(WINDOW * 2);
  let len = 0;
  const drain = async function* (final: boolean): AsyncGenerator<TarFileEntry> {
    const cut = final ? len : safeCut(buf, len);
    if (cut === 0) return;
    const entries = await unpackTar(buf.subarray(0, cut), { strict: final });
    for (const e of entries) {
      const type = e.header.type ?? "file";
      yield {
        name: e.header.name,
        type,
        bytes: type === "file" ? e.data ?? new Uint8Array(0) : new Uint8Array(0),
      };
    }
    // entries hold views of buf: continue in a fresh buffer
    const rest = buf.subarray(cut, len);
    const next = new Uint8Array(Math.max(WINDOW * 2, rest.length * 2));
    next.set(rest);
    buf = next;
    len = rest.length;
  };
  for await (const chunk of tar) {
    if (len + chunk.length > buf.length) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, len + chunk.length));
      bigger.set(buf.subarray(0, len));
      buf = bigger;
    }
    buf.set(chunk, len);
    len += chunk.length;
    if (len >= WINDOW) yield* drain(false);
  }
  if (len > 0) {
    if (len % 512 !== 0) {
      throw new Error(`tar stream truncated (${len % 512} stray bytes at the end)`);
    }
    yield* drain(true);
  }
}

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

/** Gzips bytes with the platform's `CompressionStream`. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
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
