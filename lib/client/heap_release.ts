/**
 * Give memory back after a large fan-out. Its answers (ten thousand results)
 * live for the whole fan-out, so V8 moves them to its old generation, where
 * they are garbage once the caller is done with them; V8 then lets that
 * generation grow to about four times what stays live before it collects,
 * and a console fanning out again and again to 10,000 agents grew by ~6 MiB a
 * round to 109 MiB. One full collection after such a fan-out keeps it at
 * 81 MiB, for 10–13 ms (measured: 10 rounds of `ram` to 10,000 bus agents,
 * each 0.6–0.8 s). The client runs with V8's `--expose-gc` (deno.json
 * `binaries.client.v8Flags`) for this; without it this does nothing. Client
 * layer.
 * @module
 */

/** Fan-outs to fewer hosts than this leave collection to V8 (their garbage is small). */
export const RELEASE_MIN_HOSTS = 2_000;

/** V8's `gc()`, when the process was started with `--expose-gc`. */
const collect = (globalThis as { gc?: () => void }).gc;

/**
 * After a fan-out to `hosts` hosts, once its results are out of the way:
 * a full collection when the fan-out was large and `gc` is there. Returns
 * whether it collected.
 */
export function releaseAfterFanout(hosts: number): boolean {
  if (hosts < RELEASE_MIN_HOSTS || collect === undefined) return false;
  collect();
  return true;
}
