/**
 * The remote BLAS channel (compute/blas/remote_blas.ts): products served
 * across isolates equal direct calls bit for bit, and the serving side refuses
 * random and hostile requests without throwing and without writing outside
 * the operands of a request it accepted (fuzzed).
 */
import { assert, assertEquals } from "../deps/assert.ts";
import { Rng } from "../utils/rng.ts";
import { type BlasLibrary, loadBlas } from "../compute/blas/library.ts";
import {
  checkRequest,
  createBlasChannel,
  extent,
  HEADER_BYTES,
  OP,
  readRequest,
  serveBlas,
  serveOne,
  SLOT,
  STATE,
} from "../compute/blas/remote_blas.ts";
import { shareWasmMemory } from "../compute/blas/shared_heap.ts";
import { naiveSaxpy, naiveSgemm, naiveSgemv } from "./naive_blas.ts";

const load = loadBlas({ threads: 1 });
const native: BlasLibrary | undefined = load.ok ? load.blas : undefined;
const skip = native ? "" : ` (SKIPPED: no BLAS: ${load.ok ? "" : load.reason})`;

/** A plain JS BLAS: the reference when no native library is present, and for checks. */
const jsBlas = {
  sgemm: naiveSgemm,
  sgemv: naiveSgemv,
  saxpy: naiveSaxpy,
} as unknown as BlasLibrary;

function random(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.nextUint32() / 2 ** 31 - 1;
  return out;
}

Deno.test("checkRequest: sizes, flags, leading dimensions and spans against the buffer", () => {
  const ok = {
    op: OP.sgemm,
    transA: 0,
    transB: 1,
    m: 2,
    n: 3,
    k: 4,
    lda: 4,
    ldb: 4,
    ldc: 3,
    offA: 0,
    offB: 8,
    offC: 20,
    alpha: 1,
    beta: 0,
    bufA: 0,
    bufB: 0,
    bufC: 0,
  };
  const c = checkRequest(ok, 26);
  assert(typeof c === "object");
  assertEquals(c.spans.map((s) => s.length), [8, extent(3, 4, 4), 6]);
  assertEquals(checkRequest(ok, 25), 5);
  assertEquals(checkRequest({ ...ok, op: 9 }, 100), 1);
  assertEquals(checkRequest({ ...ok, m: -1 }, 100), 2);
  assertEquals(checkRequest({ ...ok, transA: 2 }, 100), 3);
  assertEquals(checkRequest({ ...ok, lda: 3 }, 100), 4);
  assertEquals(checkRequest({ ...ok, ldc: 2 }, 100), 4);
  assertEquals(checkRequest({ ...ok, offB: -5 }, 100), 6);
  assertEquals(checkRequest({ ...ok, offC: 2 ** 31 - 1 }, 100), 5);
  // Empty products touch nothing, wherever they point.
  assert(typeof checkRequest({ ...ok, m: 0, offC: 1000 }, 26) === "number");
  assert(
    typeof checkRequest({ ...ok, m: 0, n: 0, k: 0, offA: 26, offB: 26, offC: 26 }, 26) === "object",
  );
  // The shared heap: only when registered, and bounded by its own length.
  assertEquals(checkRequest({ ...ok, bufC: 1 }, 100), 8);
  assertEquals(checkRequest({ ...ok, bufC: 1 }, 100, 25), 5);
  assert(typeof checkRequest({ ...ok, bufC: 1 }, 100, 26) === "object");
  assertEquals(checkRequest({ ...ok, bufA: 2 }, 100, 100), 8);
});

Deno.test("fuzz: random and hostile requests never throw and never write outside an accepted output", () => {
  const rng = new Rng(11);
  const channel = createBlasChannel(HEADER_BYTES + 4096 * 4, HEADER_BYTES + 4096 * 4);
  const data = new Float32Array(channel.buffer, HEADER_BYTES);
  // A shared wasm heap beside the channel (registered in half of the requests).
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const heapData = new Float32Array(memory.buffer);
  const pick = (): number => {
    const r = rng.nextUint32() % 10;
    if (r < 5) return rng.nextUint32() % 70;
    if (r === 5) return -(rng.nextUint32() % 5) - 1;
    if (r === 6) return 2 ** 31 - 1 - (rng.nextUint32() % 3);
    if (r === 7) return -(2 ** 31);
    if (r === 8) return 4096 - (rng.nextUint32() % 8);
    return rng.nextUint32() | 0;
  };
  let accepted = 0;
  for (let iter = 0; iter < 4000; iter++) {
    data.set(random(rng, data.length));
    heapData.set(random(rng, heapData.length));
    const before = data.slice();
    const heapBefore = heapData.slice();
    const withHeap = rng.nextUint32() % 2 === 0;
    const ints = channel.ints;
    for (let s = 1; s <= SLOT.offC; s++) ints[s] = pick();
    ints[SLOT.op] = 1 + (rng.nextUint32() % 4);
    ints[SLOT.transA] = rng.nextUint32() % 3 === 0 ? pick() : rng.nextUint32() % 2;
    ints[SLOT.transB] = rng.nextUint32() % 2;
    channel.floats[SLOT.alpha] = 0.5;
    channel.floats[SLOT.beta] = rng.nextUint32() % 2;
    for (const slot of [SLOT.bufA, SLOT.bufB, SLOT.bufC]) {
      const r = rng.nextUint32() % 8;
      ints[slot] = r < 5 ? 0 : r < 7 ? 1 : pick();
    }
    const request = readRequest(channel);
    const checked = checkRequest(request, data.length, withHeap ? heapData.length : -1);
    Atomics.store(ints, SLOT.state, STATE.request);
    const out = serveOne(channel, native ?? jsBlas, withHeap ? memory : undefined);
    assert(out !== "idle");
    assertEquals(Atomics.load(ints, SLOT.state), STATE.done);
    if (typeof checked === "number") {
      assertEquals(out.status, checked);
      assertEquals(data, before, "a refused request changed the buffer");
      assertEquals(heapData, heapBefore, "a refused request changed the heap");
      continue;
    }
    assertEquals(out.status, 0);
    accepted++;
    // Only the output operand (C, or y) may change.
    const outSpan = checked.spans[checked.spans.length - 1];
    for (const [id, now, was] of [[0, data, before], [1, heapData, heapBefore]] as const) {
      for (let i = 0; i < now.length; i++) {
        if (id === outSpan.buffer && i >= outSpan.offset && i < outSpan.offset + outSpan.length) {
          continue;
        }
        if (!Object.is(now[i], was[i])) {
          throw new Error(`request ${JSON.stringify(request)} wrote element ${i} of buffer ${id}`);
        }
      }
    }
  }
  assert(accepted > 50, `only ${accepted} of 4000 fuzzed requests were valid`);
});

Deno.test(`a Worker's products through the channel equal direct calls bit for bit${skip}`, {
  ignore: !native,
}, async () => {
  const blas = native!;
  const rng = new Rng(5);
  const jobs = [];
  const expected: Float32Array[] = [];
  for (let j = 0; j < 24; j++) {
    const [tA, tB] = [j % 2 === 1, j % 4 >= 2];
    const m = 1 + (rng.nextUint32() % 70), n = 1 + (rng.nextUint32() % 70);
    const k = 1 + (rng.nextUint32() % 90);
    const lda = (tA ? m : k) + (j % 3), ldb = (tB ? k : n) + (j % 5 === 0 ? 2 : 0), ldc = n;
    const a = random(rng, tA ? extent(k, m, lda) : extent(m, k, lda));
    const b = random(rng, tB ? extent(n, k, ldb) : extent(k, n, ldb));
    const c = random(rng, m * n);
    const beta = j % 3 === 0 ? 0 : 0.5;
    const want = c.slice();
    blas.sgemm(tA, tB, m, n, k, 1.5, a, lda, b, ldb, beta, want, ldc);
    expected.push(want);
    jobs.push({
      args: [tA, tB, m, n, k, 1.5, a, lda, b, ldb, beta, c, ldc],
      onShared: j % 2 === 0,
    });
  }
  // One job too big for the channel's maximum: refused with a clear error in the Worker.
  const big = 1 << 20;
  jobs.push({
    args: [
      false,
      false,
      1,
      big,
      1,
      1,
      new Float32Array(1),
      1,
      new Float32Array(big),
      big,
      0,
      new Float32Array(big),
      big,
    ],
    onShared: false,
  });
  const channel = createBlasChannel(1 << 16, 1 << 22);
  const worker = new Worker(new URL("./fixtures/remote_blas_worker.ts", import.meta.url), {
    type: "module",
  });
  let reply: { results: (Float32Array | string)[]; refused: string } | undefined;
  worker.onmessage = (e) => (reply = e.data);
  worker.postMessage({ buffer: channel.buffer, jobs });
  await serveBlas(channel, blas, { stop: () => reply !== undefined });
  worker.terminate();
  for (let j = 0; j < expected.length; j++) {
    assertEquals(reply!.results[j], expected[j], `job ${j}`);
  }
  assert(/more than the channel's 4194304/.test(String(reply!.results[expected.length])));
  assertEquals(reply!.refused, "5");
});

Deno.test("shareWasmMemory flips only the memory limits flag; the module then has a shared heap", async () => {
  // (module (memory 1 2) (export "memory" (memory 0)))
  const plain = new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    0x05,
    0x04,
    0x01,
    0x01,
    0x01,
    0x02,
    0x07,
    0x0a,
    0x01,
    0x06,
    0x6d,
    0x65,
    0x6d,
    0x6f,
    0x72,
    0x79,
    0x02,
    0x00,
  ]);
  const shared = shareWasmMemory(plain)!;
  assertEquals([...shared].filter((b, i) => b !== plain[i]).length, 1);
  const instance = new WebAssembly.Instance(
    await WebAssembly.compile(shared as Uint8Array<ArrayBuffer>),
  );
  const memory = instance.exports.memory as WebAssembly.Memory;
  assert(memory.buffer instanceof SharedArrayBuffer);
  assertEquals(shareWasmMemory(shared), undefined); // already shared
  assertEquals(shareWasmMemory(new Uint8Array([1, 2, 3])), undefined);
  // No maximum: left alone.
  const noMax = plain.slice();
  noMax.set([0x05, 0x03, 0x01, 0x00, 0x01], 8);
  assertEquals(shareWasmMemory(noMax.subarray(0, 13)), undefined);
});
