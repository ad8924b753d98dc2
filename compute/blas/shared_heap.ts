/**
 * Makes a wasm module's own memory shared: the memory section's limits flag
 * goes from "has a maximum" (1) to "shared, has a maximum" (3), nothing else
 * changes (same code, same bytes otherwise). tfjs-backend-wasm's heap then
 * lives on a `SharedArrayBuffer`, so a remote BLAS (`remote_blas.ts`) can be
 * handed the heap once and run products on tensors in place, without copies.
 *
 * @module
 */

function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= bytes.length) throw new RangeError("truncated LEB128 value");
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [value, at];
    if (shift > 35) throw new RangeError("LEB128 value too long");
  }
}

/**
 * A copy of the wasm binary `bytes` whose single defined memory (with a
 * maximum) is shared, or `undefined` when the module has no such memory
 * (none, several, no maximum, or already shared) or is not a wasm binary.
 */
export function shareWasmMemory(bytes: Uint8Array): Uint8Array | undefined {
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) return undefined;
  let at = 8;
  try {
    while (at < bytes.length) {
      const id = bytes[at++];
      const [size, body] = readLeb(bytes, at);
      if (id === 5) {
        const [count, limits] = readLeb(bytes, body);
        if (count !== 1 || bytes[limits] !== 1) return undefined;
        const out = bytes.slice();
        out[limits] = 3;
        return out;
      }
      at = body + size;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
