/**
 * The one interface the console and one-shot mode drive a fleet through,
 * whatever carries the requests: direct connections to each server
 * (fleet.ts, the default) or a NATS cluster the agents dial out to
 * (nats_fleet.ts). Both give the same `HostResult`s and the same host
 * states, so views, `--json` records, notices and exit codes do not know
 * which one ran.
 * @module
 */

import type { RemoteCommand } from "../grammar/command.ts";
import type { HostResult, RunOptions } from "./fleet.ts";
import type { LinkState, LinkStatus } from "./host_link.ts";

/**
 * One host of a fleet as the console shows it: a direct link (host_link.ts),
 * or an agent known on the bus (up while its heartbeats come, lost when they
 * stop, closed when the console disconnected it).
 */
export interface FleetMember {
  readonly name: string;
  readonly groups: readonly string[];
  readonly state: LinkState;
  /** Everything the `hosts` view and the notices show about it. */
  status(): LinkStatus;
}

/** A set of hosts commands can be fanned out to. */
export interface Fleet {
  /** What carries the requests: `direct` connections, or the NATS `bus`. */
  readonly transport: "direct" | "bus";
  /** Every host, in the order they became known. */
  readonly links: readonly FleetMember[];
  /** The host named `name`, if any. */
  get(name: string): FleetMember | undefined;
  /** Called whenever a host's state changes (lost, back, closed…). */
  onChange(member: FleetMember): void;
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
  /** Forget a host (its link closed; on the bus, its announcements ignored from now on). */
  remove(name: string): Promise<void>;
  /** Let go of every host. */
  close(): Promise<void>;
}
