/**
 * Tar seam over `modern-tar` (npm). `modern-tar` was chosen over `tar-stream`
 * because it is built on Web Streams, like `@std/tar`'s `UntarStream`, so it
 * plugs directly into `DecompressionStream("gzip")` and `Deno.FsFile.readable`
 * without Node stream adapters, has no dependencies, and switching back to
 * `@std/tar` later means changing this file only.
 *
 * @module
 */
import { createTarDecoder, createTarPacker, packTar as mtPackTar } from "modern-tar";

/** One entry read from a tar stream. */
export interface TarFileEntry {
  /** Path inside the archive. */
  name: string;
  /** Entry type: "file", "directory", "symlink", ... */
  type: string;
  /** The entry's bytes (empty for non-files). */
  bytes: Uint8Array;
}

async function readBody(body: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const first = await reader.read();
  if (first.done) return new Uint8Array(0);
  let chunk = first.value;
  const second = await reader.read();
  if (second.done) return chunk.byteLength === size ? chunk : chunk.slice(0, size);
  const out = new Uint8Array(size);
  out.set(chunk, 0);
  let off = chunk.byteLength;
  chunk = second.value;
  for (;;) {
    out.set(chunk, off);
    off += chunk.byteLength;
    const r = await reader.read();
    if (r.done) break;
    chunk = r.value;
  }
  return off === size ? out : out.subarray(0, off);
}

/** Iterates the entries of an (uncompressed) tar byte stream, reading each body fully. */
export async function* tarEntries(
  tar: ReadableStream<Uint8Array>,
): AsyncGenerator<TarFileEntry> {
  const entries = tar.pipeThrough(createTarDecoder());
  for await (const e of entries) {
    const type = e.header.type ?? "file";
    if (type !== "file") {
      await e.body.cancel();
      yield { name: e.header.name, type, bytes: new Uint8Array(0) };
      continue;
    }
    yield { name: e.header.name, type, bytes: await readBody(e.body, e.header.size) };
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
 * Streams a `.tar.gz` to a file entry by entry, so archives with hundreds of
 * thousands of entries never sit in memory. Call {@link TarGzWriter.add} for each
 * entry, then {@link TarGzWriter.close}.
 */
export class TarGzWriter {
  #controller: ReturnType<typeof createTarPacker>["controller"];
  #done: Promise<void>;

  /** Opens `path` for writing (truncating it). */
  constructor(path: string) {
    const { readable, controller } = createTarPacker();
    this.#controller = controller;
    this.#done = (async () => {
      const file = await Deno.open(path, { write: true, create: true, truncate: true });
      await readable.pipeThrough(new CompressionStream("gzip")).pipeTo(file.writable);
    })();
  }

  /** Adds one file (or a directory when `bytes` is omitted). */
  async add(entry: TarInput): Promise<void> {
    if (entry.bytes === undefined) {
      const w = this.#controller.add({ name: entry.name, type: "directory", size: 0 }).getWriter();
      await w.close();
      return;
    }
    const w = this.#controller.add({ name: entry.name, size: entry.bytes.byteLength }).getWriter();
    await w.write(entry.bytes);
    await w.close();
  }

  /** Finishes the archive and waits until it is on disk. */
  async close(): Promise<void> {
    this.#controller.finalize();
    await this.#done;
  }
}
