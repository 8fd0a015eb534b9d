/**
 * The client's open-files budget, checked before connecting, so a fleet larger
 * than `ulimit -n` allows is said up front (a lower fan-out, or a refusal)
 * instead of hosts reported unreachable with "Too many open files". Client
 * layer.
 *
 * How the limit is found: Deno 2.9 refuses reads under /proc without
 * `--allow-all`, `getrlimit` needs `--allow-ffi` and `sh -c 'ulimit -n'`
 * needs `--allow-run`; the client keeps its narrow permissions and probes
 * instead: it opens /dev/null up to the number of descriptors it needs and
 * closes them again. That counts what is really left (descriptors already open
 * included) and costs ~20 µs per descriptor (1,100 in ~40 ms, 5,000 in ~95 ms
 * on the 2-core development machine), so it runs only when the need is large
 * ({@linkcode PROBE_FROM}).
 * @module
 */

import { describeError } from "../protocol/errors.ts";

/** Descriptors the client uses besides its connections (stdio, Deno's own, output files). */
export const RESERVE = 32;
/** Needs below this are not probed: every ordinary limit (1024 and up) covers them. */
export const PROBE_FROM = 128;

/** Whether `err` is the OS refusing one more descriptor (EMFILE, ENFILE). */
function outOfDescriptors(err: unknown): boolean {
  return err instanceof Error && /os error (24|23)\b|Too many open files/.test(err.message);
}

/**
 * How many more descriptors this process can open, counted up to `need`:
 * `need` itself when at least that many are free, or when the probe cannot
 * run (no read permission for /dev/null, Windows), so a check never blocks a
 * run it cannot judge.
 */
export function freeDescriptors(need: number): number {
  if (need < PROBE_FROM || Deno.build.os === "windows") return need;
  const opened: Deno.FsFile[] = [];
  try {
    while (opened.length < need) opened.push(Deno.openSync("/dev/null"));
    return need;
  } catch (err) {
    if (outOfDescriptors(err)) return opened.length;
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return need;
    }
    throw new Error(`Cannot count free file descriptors: ${describeError(err)}`, { cause: err });
  } finally {
    for (const f of opened) f.close();
  }
}

/** What a one-shot run does about its open-files budget. */
export interface FanoutPlan {
  /** The fan-out to use: the one asked for, or as many connections as fit. */
  fanout: number;
  /** A line for stderr when the fan-out was lowered, else null. */
  note: string | null;
}

/**
 * The fan-out a one-shot run can afford: in the pipeline, open connections
 * grow with the fan-out, not the number of hosts, so only `min(fanout, hosts)`
 * descriptors (plus {@linkcode RESERVE}) are needed. Too few free: the
 * fan-out is lowered, with a note saying so. Throws `RangeError` when not
 * even one connection fits.
 */
export function planFanout(
  fanout: number,
  hosts: number,
  free: (need: number) => number = freeDescriptors,
): FanoutPlan {
  const want = Math.min(fanout, hosts);
  const available = free(want + RESERVE) - RESERVE;
  if (available >= want) return { fanout, note: null };
  if (available < 1) {
    throw new RangeError(
      "Cannot connect to any host: the open-files limit (ulimit -n) leaves no descriptor free; raise it",
    );
  }
  return {
    fanout: available,
    note: `the open-files limit (ulimit -n) allows ${available} connections at once; ` +
      `--fanout lowered from ${fanout} to ${available}`,
  };
}

/**
 * Check that the console can hold `links` connections at once (it keeps one
 * per host); throws `RangeError` with what to do when the open-files limit
 * cannot.
 */
export function checkLinkBudget(
  links: number,
  free: (need: number) => number = freeDescriptors,
): void {
  const available = free(links + RESERVE) - RESERVE;
  if (available >= links) return;
  throw new RangeError(
    `Cannot hold ${links} connections: the open-files limit (ulimit -n) leaves room for ${
      Math.max(0, available)
    }; raise it, or run one command on them all in one-shot mode (-- COMMAND), which needs only --fanout at once`,
  );
}
