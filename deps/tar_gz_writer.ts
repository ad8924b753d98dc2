/**
 * The streaming `.tar.gz` writer (archives with hundreds of thousands of entries never sit in
 * memory), byte-for-byte reproducible: ustar headers from
 * `deps/tar_writer.ts`'s {@link tarHeader} (mtime 0, uid/gid 0, fixed modes), bodies
 * padded to 512 bytes, gzip by the platform's `CompressionStream` (no name,
 * mtime 0 in its header). Files stream to a temporary name beside the target,
 * renamed when complete, so a crash never leaves a half-written archive under
 * the final name.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { tarHeader } from "./tar_writer.ts";

/** Bytes collected before one write to the compressor. */
const CHUNK_BYTES = 1 << 16;

/** Streams entries into a deterministic `.tar.gz` at `path`. */
export class TarGzWriter {
  readonly #path: string;
  readonly #tmp: string;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array<ArrayBuffer>>;
  readonly #done: Promise<void>;
  #buf = new Uint8Array(CHUNK_BYTES);
  #used = 0;

  private constructor(path: string, tmp: string, file: Deno.FsFile) {
    this.#path = path;
    this.#tmp = tmp;
    const gz = new CompressionStream("gzip");
    this.#writer = gz.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array<ArrayBuffer>>;
    this.#done = gz.readable.pipeTo(file.writable);
  }

  /** Opens a temporary file beside `path`; {@link close} renames it to `path`. */
  static async create(path: string): Promise<TarGzWriter> {
    const dir = dirname(path);
    await Deno.mkdir(dir, { recursive: true });
    const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
    const tmp = join(dir, `.${path.split("/").pop()}.${Deno.pid}.${rand}.tmp`);
    const file = await Deno.open(tmp, { write: true, createNew: true });
    return new TarGzWriter(path, tmp, file);
  }

  async #put(bytes: Uint8Array): Promise<void> {
    let o = 0;
    while (o < bytes.length) {
      const n = Math.min(bytes.length - o, CHUNK_BYTES - this.#used);
      this.#buf.set(bytes.subarray(o, o + n), this.#used);
      this.#used += n;
      o += n;
      if (this.#used === CHUNK_BYTES) await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    if (this.#used === 0) return;
    await this.#writer.write(this.#buf.slice(0, this.#used));
    this.#used = 0;
  }

  /** Adds a directory entry (`name` ends with "/"). */
  addDirectory(name: string): Promise<void> {
    return this.#put(tarHeader({ name, type: "directory" }));
  }

  /** Adds a regular file. */
  async addFile(name: string, bytes: Uint8Array): Promise<void> {
    await this.#put(tarHeader({ name, size: bytes.length }));
    await this.#put(bytes);
    const pad = (512 - (bytes.length % 512)) % 512;
    if (pad > 0) await this.#put(new Uint8Array(pad));
  }

  /** Ends the archive, waits until it is on disk and renames it into place. */
  async close(): Promise<void> {
    await this.#put(new Uint8Array(1024));
    await this.#flush();
    await this.#writer.close();
    await this.#done;
    await Deno.rename(this.#tmp, this.#path);
  }

  /** Drops the temporary file (after an error). */
  async abort(): Promise<void> {
    await this.#writer.abort().catch(() => {});
    await this.#done.catch(() => {});
    await Deno.remove(this.#tmp).catch(() => {});
  }
}
