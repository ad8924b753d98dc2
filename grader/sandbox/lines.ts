/**
 * Reading a child's output line by line, with a byte hook that can stop the
 * reading (the log cap) and a bound on a line without a newline.
 *
 * @module
 */

/** A small line splitter over a byte stream; `onBytes` sees every chunk's size first. */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  onBytes: (n: number) => boolean,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    // Past the log cap, the rest is read and dropped (the child is being stopped).
    if (!onBytes(chunk.length)) continue;
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
    if (pending.length > 1_000_000) {
      // A runaway line without newline: pass it on in pieces instead of growing without bound.
      onLine(pending);
      pending = "";
    }
  }
  pending += decoder.decode();
  if (pending) onLine(pending);
}
