/**
 * Worker entry point: decodes {@link RawBatch}es posted by data/decode_pool.ts.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { decodeBatch, type RawBatch } from "./decode_batch.ts";

self.onmessage = (e: MessageEvent<RawBatch>) => {
  try {
    const out = decodeBatch(e.data);
    self.postMessage(out, [out.images.buffer as ArrayBuffer, out.hashes.buffer as ArrayBuffer]);
  } catch (err) {
    self.postMessage({ seq: e.data.seq, error: String((err as Error)?.stack ?? err) });
  }
};
