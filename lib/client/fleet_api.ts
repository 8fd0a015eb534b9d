/**
 * The one interface the console and one-shot mode drive a fleet through,
 * whatever carries the requests: direct connections to each server
 * (fleet.ts, the default) or a NATS cluster the agents dial out to
 * (nats_fleet.ts). Both give the same `HostResult`s, so views, `--json`
 * records and exit codes do not know which one ran.
 * @module
 */

import type { RemoteCommand } from "../grammar/command.ts";
import type { HostResult, RunOptions } from "./fleet.ts";

/** A set of hosts commands can be fanned out to. */
export interface Fleet {
  /**
   * Get the named hosts (default all) ready to take commands; resolves when
   * each is ready or known not to be, and soon after `signal` aborts.
   */
  connect(
    names?: readonly string[],
    onProgress?: (done: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Run one command on the named hosts; one result per host, in the order of `names`. */
  run(names: readonly string[], cmd: RemoteCommand, opts?: RunOptions): Promise<HostResult[]>;
  /** Let go of every host. */
  close(): Promise<void>;
}
