/**
 * When the client collects its heap after a fan-out (lib/client/heap_release.ts):
 * only after large fan-outs, and only once the heap has grown by half since
 * the last collection. The memory it saves is measured by the benchmarks
 * (`bench:nats`, `bench --only scale`), not here.
 * @module
 */

import assert from "node:assert/strict";
import {
  RELEASE_GROWTH,
  RELEASE_MIN_HOSTS,
  releaseAfterFanout,
  shouldRelease,
} from "../lib/client/heap_release.ts";
import { binarySpec, runArgs } from "../tools/entry_flags.ts";

const MiB = 1024 * 1024;

Deno.test("shouldRelease() collects after large fan-outs once the heap has grown by half", () => {
  // Small fan-outs never: their garbage is V8's business.
  assert.equal(shouldRelease(RELEASE_MIN_HOSTS - 1, 500 * MiB, 10 * MiB), false);
  // The first large one always; then only past the growth factor.
  assert.equal(shouldRelease(RELEASE_MIN_HOSTS, 20 * MiB, 0), true);
  assert.equal(shouldRelease(10_000, 80 * MiB * RELEASE_GROWTH - 1, 80 * MiB), false);
  assert.equal(shouldRelease(10_000, 80 * MiB * RELEASE_GROWTH, 80 * MiB), true);
});

Deno.test("releaseAfterFanout() does nothing without V8's gc (a process without --expose-gc)", () => {
  // `deno test` runs without --expose-gc: the client's own flag is what turns it on.
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined");
  assert.equal(releaseAfterFanout(100_000), false);
});

Deno.test("the client is built and run with --expose-gc, which releaseAfterFanout needs", () => {
  assert.ok(binarySpec("client").v8Flags?.includes("--expose-gc"));
  assert.ok(
    runArgs("client").some((a) => a.startsWith("--v8-flags=") && a.includes("--expose-gc")),
  );
});
