/**
 * Tar seam. Reading is a small streaming ustar/GNU/PAX header parser written
 * for this project, so that entry bodies are never buffered beyond a limit: a
 * body larger than {@link TarEntriesOptions.maxBodyBytes}, and the body of any
 * entry that is not a regular file, is drained from the stream unread.
 * Writing goes through `modern-tar` (npm), built on Web Streams like
 * `@std/tar`; switching libraries means changing this file only.
 *
 * @module
 */
import { packTar as mtPackTar } from "modern-tar";

/**
 * Kind of a tar entry: `file` (types `0`, NUL and `7`), `directory` (`5`),
 * `symlink` (`2`), `link` (a hard link, `1`), `character-device` (`3`),
 * `block-device` (`4`), `fifo` (`6`), or `other` (any other type, e.g. GNU
 * sparse files).
 */
export type TarEntryType =
  | "file"
  | "directory"
  | "symlink"
  | "link"
  | "character-device"
  | "block-device"
  | "fifo"
  | "other";

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

/**
 * Longest name or link target accepted from a GNU long-name record or a PAX
 * `path`/`linkpath` record: 4096 bytes (Linux `PATH_MAX`). A longer one is
 * drained unread and its entry skipped ({@link TarFileEntry.problem}).
 */
export const MAX_NAME_BYTES = 4096;

/**
 * Largest PAX extended header (`x`, `g`) parsed: 64 KiB (real ones hold a few
 * records of some hundred bytes). A larger one is drained unread: a local one
 * (`x`) makes its entry skipped, a global one (`g`, never applied) is ignored.
 */
export const MAX_PAX_BYTES = 64 << 10;

/** Bytes of an over-long name kept for listings ({@link TarFileEntry.name}). */
export const NAME_PREVIEW_BYTES = 256;

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "link",
  "2": "symlink",
  "3": "character-device",
  "4": "block-device",
  "5": "directory",
  "6": "fifo",
};

function octal(b: Uint8Array, at: number, len: number): number {
  if (b[at] & 0x80) {
    if (b[at] === 0xff) return NaN; // negative base-256 value
    let v = b[at] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[at + i];
    return v;
  }
  let v = 0;
  let digits = 0;
  for (let i = at; i < at + len; i++) {
    const c = b[i];
    if (c === 0 || c === 32) {
      if (digits > 0) break;
      continue;
    }
    if (c < 48 || c > 55) return NaN;
    v = v * 8 + (c - 48);
    digits++;
  }
  return v;
}

/** Length of the well-formed UTF-8 sequence at `b[i]` (before `end`), or 0 when it is not one. */
function utf8Length(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const n = c >= 0xc2 && c <= 0xdf
    ? 2
    : c >= 0xe0 && c <= 0xef
    ? 3
    : c >= 0xf0 && c <= 0xf4
    ? 4
    : 0;
  if (n === 0 || i + n > end) return 0;
  for (let k = 1; k < n; k++) if ((b[i + k] & 0xc0) !== 0x80) return 0;
  const c1 = b[i + 1];
  if ((c === 0xe0 && c1 < 0xa0) || (c === 0xf0 && c1 < 0x90)) return 0; // overlong
  if ((c === 0xed && c1 >= 0xa0) || (c === 0xf4 && c1 >= 0x90)) return 0; // surrogate, > U+10FFFF
  return n;
}

/**
 * The bytes `b[at .. end)` as text, one-to-one: UTF-8 is decoded, a backslash
 * becomes `\\` and every byte that is not part of well-formed UTF-8 becomes
 * `\xHH`, so two different byte strings never give the same name (U+FFFD
 * replacement would merge them) and no lone surrogate reaches JSON.
 */
export function decodeName(b: Uint8Array, at = 0, end = b.length): string {
  let s = "";
  let i = at;
  while (i < end) {
    const c = b[i];
    if (c < 0x80 && c !== 0x5c) {
      s += String.fromCharCode(c);
      i++;
      continue;
    }
    if (c === 0x5c) {
      s += "\\\\";
      i++;
      continue;
    }
    const n = utf8Length(b, i, end);
    if (n === 0) {
      s += `\\x${c.toString(16).padStart(2, "0")}`;
      i++;
      continue;
    }
    let cp = c & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) cp = (cp << 6) | (b[i + k] & 0x3f);
    s += String.fromCodePoint(cp);
    i += n;
  }
  return s;
}

/** End of the NUL-terminated bytes in `b[at .. at+len)`. */
function cEnd(b: Uint8Array, at: number, len: number): number {
  let end = at;
  while (end < at + len && b[end] !== 0) end++;
  return end;
}

/** The NUL-terminated string in `b[at .. at+len)` ({@link decodeName}). */
function text(b: Uint8Array, at: number, len: number): string {
  return decodeName(b, at, cEnd(b, at, len));
}

function checksumOk(h: Uint8Array): boolean {
  const want = octal(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const c = i >= 148 && i < 156 ? 32 : h[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return want === unsigned || want === signed;
}

/** The PAX records this reader applies; every other key is checked for shape and ignored. */
interface PaxRecords {
  path?: string;
  linkpath?: string;
  size?: number;
  /** Why a record cannot be used (a path over {@link MAX_NAME_BYTES}), else null. */
  problem: string | null;
}

const KEY_BYTES = 64;

/**
 * PAX records `"<len> <key>=<value>\n"` of an extended header body (lengths
 * count bytes, so each record is checked against the body it sits in). Only
 * `path`, `linkpath` (at most {@link MAX_NAME_BYTES} bytes each) and `size`
 * (decimal digits) are kept.
 */
function paxRecords(body: Uint8Array, at: number): PaxRecords {
  const out: PaxRecords = { problem: null };
  const corrupt = (why: string) => new Error(`corrupt PAX header at byte ${at} (${why})`);
  let p = 0;
  while (p < body.length) {
    let sp = p;
    let len = 0;
    while (sp < body.length && sp - p < 8 && body[sp] >= 48 && body[sp] <= 57) {
      len = len * 10 + body[sp++] - 48;
    }
    if (body[sp] !== 32 || len <= sp - p || p + len > body.length || body[p + len - 1] !== 10) {
      throw corrupt("record length");
    }
    let eq = sp + 1;
    while (eq < p + len && eq - sp <= KEY_BYTES && body[eq] !== 61) eq++;
    // a key longer than KEY_BYTES is none that is applied: the record is skipped
    const key = body[eq] === 61 ? decodeName(body, sp + 1, eq) : "";
    const from = eq + 1;
    const to = p + len - 1;
    if (key === "path" || key === "linkpath") {
      if (to - from > MAX_NAME_BYTES) {
        out.problem ??= `PAX ${key} of ${to - from} bytes, over the ${MAX_NAME_BYTES} allowed ` +
          `(PATH_MAX); drained unread`;
        out[key] = decodeName(body, from, from + NAME_PREVIEW_BYTES);
      } else out[key] = decodeName(body, from, to);
    } else if (key === "size") {
      const v = decodeName(body, from, to);
      if (!/^[0-9]{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) throw corrupt("size");
      out.size = Number(v);
    }
    p += len;
  }
  return out;
}

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

/**
 * Compressed bytes per read in {@link gunzipFile}. `DecompressionStream` emits
 * the whole expansion of each input chunk at once and gzip expands up to about
 * 1032:1, so 8 KiB reads keep every decompressed chunk under about 8 MiB (a
 * 64 KiB read of a gzip bomb would come out as one 66 MB chunk).
 */
export const GUNZIP_READ_BYTES = 8192;

/**
 * The decompressed bytes of the gzip file `file`, read {@link GUNZIP_READ_BYTES}
 * at a time so that memory stays bounded whatever the compression ratio.
 * `onInput` sees every compressed chunk in order (e.g. to hash the file). The
 * file is closed when the stream ends, fails or is cancelled.
 */
export function gunzipFile(
  file: Deno.FsFile,
  onInput?: (chunk: Uint8Array) => void,
): ReadableStream<Uint8Array> {
  let closed = false;
  const close = () => {
    if (!closed) file.close();
    closed = true;
  };
  const compressed = new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(ctl) {
      try {
        const buf = new Uint8Array(GUNZIP_READ_BYTES);
        const n = await file.read(buf);
        if (n === null) {
          close();
          ctl.close();
          return;
        }
        const chunk = buf.subarray(0, n);
        onInput?.(chunk);
        ctl.enqueue(chunk);
      } catch (err) {
        close();
        ctl.error(err);
      }
    },
    cancel: close,
  });
  return compressed.pipeThrough(new DecompressionStream("gzip"));
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
