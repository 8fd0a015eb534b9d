/**
 * Give memory back after a large fan-out. Its answers (thousands of results)
 * live for the whole fan-out, so V8 moves them to its old generation, where
 * they are garbage once the caller is done with them; V8 then lets that
 * generation grow to about four times what stays live before it collects.
 * Measured here: a process fanning out again and again to 10,000 bus agents
 * grew by ~6 MiB a round to 95–109 MiB, and one full collection after each
 * kept it at 81–84 MiB for 10–13 ms a round; one holding 10,000 direct links
 * measured 384 MiB after its rounds, 212 MiB with it. So after a fan-out to
 * `RELEASE_MIN_HOSTS` or more, the heap is collected once it has grown by
 * half since the last collection (a watch loop over 10,000 links, whose live
 * heap is ~80 MiB, pays for it every few rounds, not every round). A direct
 * one-shot's pipeline skips it (its process ends next, and its cold start has
 * a tight target); a bus one-shot pays it once, ~10 ms at 10,000 agents. The client
 * runs with V8's `--expose-gc` (deno.json `binaries.client.v8Flags`) for
 * this; without it this does nothing. Client layer.
 * @module
 */

/** Fan-outs to fewer hosts than this leave collection to V8 (their garbage is small). */
export const RELEASE_MIN_HOSTS = 2_000;

/** Collect once the heap is this many times what was live after the last collection. */
export const RELEASE_GROWTH = 1.5;

/** V8's `gc()`, when the process was started with `--expose-gc`. */
const collect = (globalThis as { gc?: () => void }).gc;

/** Heap in use right after the last collection made here, bytes (0: none yet). */
let liveAfterLast = 0;

/**
 * Whether a fan-out to `hosts` hosts, with `heapUsed` bytes of heap in use
 * now and `liveAfterLast` after the last collection (0: none yet), calls for
 * one. Pure.
 */
export function shouldRelease(hosts: number, heapUsed: number, liveAfterLast: number): boolean {
  if (hosts < RELEASE_MIN_HOSTS) return false;
  return liveAfterLast === 0 || heapUsed >= liveAfterLast * RELEASE_GROWTH;
}

/**
 * After a fan-out to `hosts` hosts: a full collection when
 * {@linkcode shouldRelease} says so and `gc` is there. Returns whether it
 * collected.
 */
export function releaseAfterFanout(hosts: number): boolean {
  if (collect === undefined || hosts < RELEASE_MIN_HOSTS) return false;
  if (!shouldRelease(hosts, Deno.memoryUsage().heapUsed, liveAfterLast)) return false;
  collect();
  liveAfterLast = Deno.memoryUsage().heapUsed;
  return true;
}
