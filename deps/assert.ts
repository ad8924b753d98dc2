/**
 * Assertions used by the tests. `@std/assert` (JSR) cannot be reached from the
 * machines this project is built on, so this seam re-exports Node's strict
 * assertions; switching back to `@std/assert` is a change to this file alone.
 *
 * @module
 */
export {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  ok as assert,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";
