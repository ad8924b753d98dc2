/**
 * Parallel PNG decoding: batches of raw files go to a few module workers
 * (data/decode_worker.ts) while the calling thread keeps reading the archive.
 * With `workers: 0` everything runs on the calling thread.
 *
 * @module
 */
import { decodeBatch, type DecodedBatch, type RawBatch } from "./decode_batch.ts";

/** Decodes batches in order, in workers or inline. */
export class DecodePool {
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #pending = new Map<number, { resolve: (b: DecodedBatch) => void; reject: (e: Error) => void }>();
  #queue: RawBatch[] = [];
  #waiters: (() => void)[] = [];

  /** Starts `workers` workers (0: decode inline). */
  constructor(workers: number) {
    for (let i = 0; i < workers; i++) {
      const w = new Worker(new URL("./decode_worker.ts", import.meta.url).href, {
        type: "module",
      });
      w.onmessage = (e: MessageEvent<DecodedBatch & { error?: string }>) => this.#done(w, e.data);
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        for (const p of this.#pending.values()) p.reject(new Error(`decode worker: ${e.message}`));
        this.#pending.clear();
      };
      this.#workers.push(w);
      this.#idle.push(w);
    }
  }

  /** Number of batches submitted and not yet decoded. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Submits a batch; the promise resolves with its decoded form. When every
   * worker is busy and `inlineWhenBusy` batches are already queued, the batch is
   * decoded on the calling thread instead of waiting, so that thread helps
   * rather than idles (and nothing piles up in memory).
   */
  decode(batch: RawBatch, inlineWhenBusy = Infinity): Promise<DecodedBatch> {
    if (
      this.#workers.length === 0 ||
      (this.#idle.length === 0 && this.#queue.length >= inlineWhenBusy)
    ) {
      try {
        return Promise.resolve(decodeBatch(batch));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const p = new Promise<DecodedBatch>((resolve, reject) => {
      this.#pending.set(batch.seq, { resolve, reject });
    });
    this.#queue.push(batch);
    this.#pump();
    return p;
  }

  /** Resolves once fewer than `max` batches are in flight (backpressure). */
  async waitBelow(max: number): Promise<void> {
    while (this.#pending.size >= max) {
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  #pump(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const w = this.#idle.pop()!;
      const b = this.#queue.shift()!;
      w.postMessage(b, [b.blob.buffer as ArrayBuffer, b.offsets.buffer as ArrayBuffer]);
    }
  }

  #done(w: Worker, data: DecodedBatch & { error?: string }): void {
    const p = this.#pending.get(data.seq);
    this.#pending.delete(data.seq);
    this.#idle.push(w);
    this.#pump();
    if (p) {
      if (data.error) p.reject(new Error(`decode worker failed: ${data.error}`));
      else p.resolve(data);
    }
    const waiters = this.#waiters.splice(0);
    for (const r of waiters) r();
  }

  /** Stops the workers. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#idle = [];
  }
}
