/**
 * Tar reading: a small streaming ustar/GNU/PAX header parser written for this
 * project, so that entry bodies are never buffered beyond a limit: a body
 * larger than {@link TarEntriesOptions.maxBodyBytes}, and the body of any entry
 * that is not a regular file, is drained from the stream unread. The header
 * fields and their caps are in `tar_header.ts`.
 *
 * @module
 */
import {
  cEnd,
  checksumOk,
  decodeName,
  MAX_NAME_BYTES,
  MAX_PAX_BYTES,
  NAME_PREVIEW_BYTES,
  octal,
  type PaxRecords,
  paxRecords,
  type TarEntryType,
  text,
  TYPES,
} from "./tar_header.ts";

/** One entry read from a tar stream. */
export interface TarFileEntry {
  /** Path inside the archive (PAX `path` and GNU long names applied). */
  name: string;
  /** Entry kind. */
  type: TarEntryType;
  /** The raw type flag, e.g. `0`, `2`, `S`. */
  typeFlag: string;
  /** Declared body size in bytes (PAX `size` applied). */
  size: number;
  /** Link target of a symlink or hard link (else empty). */
  linkName: string;
  /**
   * The body of a regular file of at most `maxBodyBytes` bytes; empty for every
   * other entry (its body, if any, was drained unread).
   */
  bytes: Uint8Array;
  /** True for a regular file whose body exceeded `maxBodyBytes` and was drained unread. */
  oversized: boolean;
  /**
   * Why the entry's own headers cannot be used, else null: a GNU long name or
   * link, or a PAX `path` or `linkpath`, over {@link MAX_NAME_BYTES}, or a PAX
   * extended header over {@link MAX_PAX_BYTES}. That record was drained unread
   * (only its first {@link NAME_PREVIEW_BYTES} bytes are kept, as `name`), and so
   * was the entry's body (`bytes` is empty).
   */
  problem: string | null;
}

/** Options of {@link tarEntries}. */
export interface TarEntriesOptions {
  /**
   * Largest regular-file body that is read into memory; larger bodies are
   * drained (`oversized: true`). Default 64 MiB.
   */
  maxBodyBytes?: number;
}

/** Bytes read ahead from the stream in one buffer. */
const WINDOW = 4 << 20;

/** A byte queue over a stream: views handed out stay valid (old buffers are never reused). */
class ByteQueue {
  #it: AsyncIterator<Uint8Array>;
  #buf = new Uint8Array(0);
  #pos = 0;
  #len = 0;
  /** Stream offset of the next unread byte. */
  offset = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#it = stream[Symbol.asyncIterator]();
  }

  get available(): number {
    return this.#len - this.#pos;
  }

  #append(chunk: Uint8Array): void {
    if (this.#len + chunk.length > this.#buf.length) {
      const rest = this.#buf.subarray(this.#pos, this.#len);
      const next = new Uint8Array(Math.max(WINDOW, 2 * (rest.length + chunk.length)));
      next.set(rest);
      this.#buf = next;
      this.#pos = 0;
      this.#len = rest.length;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  /** Reads until `n` bytes are available; false when the stream ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.available < n) {
      const r = await this.#it.next();
      if (r.done) return false;
      this.#append(r.value);
    }
    return true;
  }

  /** The next `n` available bytes, as a view; consumes them. */
  take(n: number): Uint8Array {
    const v = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    this.offset += n;
    return v;
  }

  /** Discards `n` bytes without holding them; returns how many the stream had. */
  async skip(n: number): Promise<number> {
    let left = n;
    const d = Math.min(left, this.available);
    this.#pos += d;
    left -= d;
    while (left > 0) {
      const r = await this.#it.next();
      if (r.done) break;
      if (r.value.length <= left) {
        left -= r.value.length;
      } else {
        this.#append(r.value.subarray(left));
        left = 0;
      }
    }
    this.offset += n - left;
    return n - left;
  }

  /** Stops reading: cancels the stream (a no-op once it has ended). */
  async close(): Promise<void> {
    await this.#it.return?.();
  }

  /** Reads the rest of the stream, discarding it. */
  async drain(): Promise<void> {
    this.#pos = this.#len;
    for (;;) {
      const r = await this.#it.next();
      if (r.done) return;
      this.offset += r.value.length;
    }
  }
}

function padded(size: number): number {
  return Math.ceil(size / 512) * 512;
}

/**
 * Iterates the entries of an (uncompressed) tar byte stream. Regular-file
 * bodies of at most `maxBodyBytes` are yielded as views (they stay valid: no
 * buffer is reused); larger ones, and the bodies of all other entries, are drained
 * unread, so memory stays bounded by `maxBodyBytes` plus a read-ahead window
 * whatever the archive declares. PAX `path`, `linkpath` and `size` records and
 * GNU long names apply to the entry that follows them; PAX global headers are
 * checked but not applied. Throws on a corrupt header (bad checksum or size
 * field) and on a stream that ends inside an entry. After the
 * end-of-archive block the rest of the stream is read and discarded.
 */
export async function* tarEntries(
  tar: ReadableStream<Uint8Array>,
  opts: TarEntriesOptions = {},
): AsyncGenerator<TarFileEntry> {
  const maxBody = opts.maxBodyBytes ?? 64 << 20;
  const q = new ByteQueue(tar);
  try {
    yield* readEntries(q, maxBody);
  } finally {
    await q.close(); // also when the consumer stops early: the stream is cancelled
  }
}

/** Reads a meta record (PAX header, GNU long name) of `size` bytes, or null when over `cap`. */
async function readMeta(
  q: ByteQueue,
  size: number,
  cap: number,
  at: number,
): Promise<{ body: Uint8Array; whole: boolean }> {
  const keep = size <= cap ? padded(size) : Math.min(512, padded(size));
  if (!(await q.fill(keep))) {
    throw new Error(`tar stream truncated inside the header at byte ${at}`);
  }
  const body = q.take(keep).subarray(0, Math.min(size, keep));
  const rest = padded(size) - keep;
  if (rest > 0 && (await q.skip(rest)) < rest) {
    throw new Error(`tar stream truncated inside the header at byte ${at}`);
  }
  return { body, whole: size <= cap };
}

/** Name of a GNU `L`/`K` record and why it cannot be used (over {@link MAX_NAME_BYTES}). */
function gnuName(
  body: Uint8Array,
  size: number,
  whole: boolean,
  flag: string,
): { name: string; problem: string | null } {
  const end = cEnd(body, 0, body.length);
  if (whole && end <= MAX_NAME_BYTES) return { name: decodeName(body, 0, end), problem: null };
  const what = flag === "L" ? "name" : "link name";
  return {
    name: decodeName(body, 0, Math.min(end, NAME_PREVIEW_BYTES)),
    problem: `GNU long ${what} record of ${size} bytes, over the ${MAX_NAME_BYTES} allowed ` +
      `(PATH_MAX); drained unread`,
  };
}

async function* readEntries(q: ByteQueue, maxBody: number): AsyncGenerator<TarFileEntry> {
  let local: PaxRecords = { problem: null };
  let longName: string | null = null;
  let longLink: string | null = null;
  let problem: string | null = null;
  for (;;) {
    const at = q.offset;
    if (!(await q.fill(512))) {
      if (q.available === 0) return; // no end-of-archive block: accepted
      throw new Error(`tar stream truncated (${q.available} stray bytes at the end)`);
    }
    const h = q.take(512);
    let zero = true;
    for (let i = 0; i < 512 && zero; i++) zero = h[i] === 0;
    if (zero) {
      await q.drain();
      return;
    }
    if (!checksumOk(h)) throw new Error(`corrupt tar header at byte ${at} (bad checksum)`);
    const flag = String.fromCharCode(h[156]);
    const rawSize = octal(h, 124, 12);
    const meta = flag === "x" || flag === "g" || flag === "L" || flag === "K";
    const size = !meta && local.size !== undefined ? local.size : rawSize;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new Error(`corrupt tar header at byte ${at} (size field)`);
    }
    if (meta) {
      // +1: GNU writes the name's terminating NUL
      const cap = flag === "L" || flag === "K" ? MAX_NAME_BYTES + 1 : MAX_PAX_BYTES;
      const { body, whole } = await readMeta(q, size, cap, at);
      if (flag === "x" && whole) {
        local = paxRecords(body, at);
        problem ??= local.problem;
      } else if (flag === "x") {
        local = { problem: null };
        problem ??= `PAX extended header of ${size} bytes, over the ${MAX_PAX_BYTES} allowed; ` +
          `drained unread`;
      } else if (flag === "g") {
        if (whole) paxRecords(body, at); // checked; global records are not applied
      } else {
        const g = gnuName(body, size, whole, flag);
        if (flag === "L") longName = g.name;
        else longLink = g.name;
        problem ??= g.problem;
      }
      continue;
    }
    let name = local.path ?? longName ?? "";
    if (name === "") {
      name = text(h, 0, 100);
      // POSIX ustar ("ustar\0"): a prefix of up to 155 bytes; GNU uses those bytes otherwise
      const posix = h[257] === 0x75 && h[262] === 0 && text(h, 257, 6) === "ustar";
      const prefix = posix ? text(h, 345, 155) : "";
      if (prefix !== "") name = `${prefix}/${name}`;
    }
    const linkName = local.linkpath ?? longLink ?? text(h, 157, 100);
    const entryProblem = problem;
    local = { problem: null };
    longName = null;
    longLink = null;
    problem = null;
    let type: TarEntryType = TYPES[flag] ?? "other";
    if (type === "file" && flag !== "7" && name.endsWith("/")) type = "directory";
    const body = padded(size);
    let bytes: Uint8Array = new Uint8Array(0);
    const oversized = type === "file" && size > maxBody;
    if (type === "file" && !oversized && entryProblem === null) {
      if (!(await q.fill(body))) {
        throw new Error(`tar stream truncated inside ${name} (${size} bytes declared)`);
      }
      bytes = q.take(body).subarray(0, size);
    } else if (body > 0 && (await q.skip(body)) < body) {
      throw new Error(`tar stream truncated inside ${name} (${size} bytes declared)`);
    }
    yield { name, type, typeFlag: flag, size, linkName, bytes, oversized, problem: entryProblem };
  }
}
