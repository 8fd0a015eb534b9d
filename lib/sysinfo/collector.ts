/**
 * System-info layer: the one interface every collector implements. A collector
 * reads one source (memory, cpu, os, disk, ...) through Deno or `node:` APIs and
 * never runs a subprocess, so `info` stays cheap and works without any tools.
 * @module
 */

/** Reads one kind of system information. */
export interface Collector<T> {
  /** The source it reads, for error messages (e.g. `memory`). */
  readonly name: string;
  /** Read the current values; `signal` cuts a sampling wait short. */
  collect(signal?: AbortSignal): Promise<T>;
}
