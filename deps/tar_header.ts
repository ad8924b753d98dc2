/**
 * Tar header fields: the entry kinds, the caps on what a header may declare
 * (names, PAX extended headers), and the decoding of a 512-byte header's
 * fields (octal and base-256 numbers, names, checksum) and of PAX records, for
 * the streaming reader of `tar_reader.ts`.
 *
 * @module
 */

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

/**
 * Longest name or link target accepted from a GNU long-name record or a PAX
 * `path`/`linkpath` record: 4096 bytes (Linux `PATH_MAX`). A longer one is
 * drained unread and its entry skipped (`TarFileEntry.problem` of
 * `tar_reader.ts`).
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

/** Entry kind of each ustar/GNU type flag; any other flag is `other`. */
export const TYPES: Record<string, TarEntryType> = {
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

/**
 * The number in the header field `b[at .. at+len)`: octal digits (NUL or space
 * padded), or GNU base-256 when the high bit of the first byte is set; NaN when
 * malformed or negative.
 */
export function octal(b: Uint8Array, at: number, len: number): number {
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
export function cEnd(b: Uint8Array, at: number, len: number): number {
  let end = at;
  while (end < at + len && b[end] !== 0) end++;
  return end;
}

/** The NUL-terminated string in `b[at .. at+len)` ({@link decodeName}). */
export function text(b: Uint8Array, at: number, len: number): string {
  return decodeName(b, at, cEnd(b, at, len));
}

/** Whether a 512-byte header's checksum field matches its bytes (unsigned or signed sum). */
export function checksumOk(h: Uint8Array): boolean {
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
export interface PaxRecords {
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
export function paxRecords(body: Uint8Array, at: number): PaxRecords {
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
