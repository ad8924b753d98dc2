/**
 * Gzip seam: a bounded streaming gunzip of a file (for reading archives) and
 * an in-memory gzip (for tests and small fixtures), both on the platform's
 * `DecompressionStream` / `CompressionStream`.
 *
 * @module
 */

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

/** Gzips bytes with the platform's `CompressionStream`. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
