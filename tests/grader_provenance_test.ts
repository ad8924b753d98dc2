import { assert, assertEquals } from "../deps/assert.ts";
import { join } from "node:path";
import { dataFileRecords, fileRecord, versions } from "../grader/report/provenance.ts";

Deno.test("fileRecord streams size and SHA-256", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "notMNIST_small.tar.gz");
  await Deno.writeTextFile(path, "abc");
  const r = await fileRecord(path);
  assertEquals(r.bytes, 3);
  assertEquals(r.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  await Deno.writeTextFile(join(dir, "other.txt"), "x");
  assertEquals((await dataFileRecords(dir)).map((f) => f.name), ["notMNIST_small.tar.gz"]);
  assertEquals(await dataFileRecords(join(dir, "missing")), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("versions reads Deno's and the pinned npm packages' versions", async () => {
  const v = await versions(new URL("../deno.json", import.meta.url).pathname);
  assertEquals(v.deno, Deno.version.deno);
  assert(/^\d+\.\d+\.\d+$/.test(v.packages["@tensorflow/tfjs-core"]), JSON.stringify(v.packages));
});
