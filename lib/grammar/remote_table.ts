/**
 * The table of the server's commands: what the server validates incoming
 * params against, and the one list of remote commands — `RemoteCommand`,
 * `RemoteResultMap` (command.ts), the method names and the metric kinds are
 * all derived from it. Kept apart from the console's own commands so the
 * server loads only what it serves. Grammar layer.
 * @module
 */

import type { Command, RemoteCommand, RemoteKind } from "./command.ts";
import type { RemoteSpec } from "./spec.ts";
import { CPU, DISK, INFO, IP, NAME, NET, OS, RAM, UPTIME } from "./commands/metrics.ts";
import { LOAD } from "./commands/load.ts";
import { TOP } from "./commands/top.ts";
import { PING } from "./commands/ping.ts";
import { EXEC } from "./commands/exec.ts";
import { DISCONNECT, KILL, RESET } from "./commands/lifecycle.ts";
import { DOWNLOAD, UPLOAD } from "./commands/transfer_wire.ts";
import { VITALS } from "./commands/vitals.ts";

// In help order. Its type is what the command types are derived from, so it is
// inferred, not annotated; `KeyIsKind` below checks each key is its spec's kind.
const SPECS = {
  ram: RAM,
  cpu: CPU,
  load: LOAD,
  os: OS,
  name: NAME,
  ip: IP,
  disk: DISK,
  uptime: UPTIME,
  net: NET,
  top: TOP,
  info: INFO,
  vitals: VITALS,
  ping: PING,
  exec: EXEC,
  upload: UPLOAD,
  download: DOWNLOAD,
  disconnect: DISCONNECT,
  reset: RESET,
  kill: KILL,
};

/** The type of the table of remote specs, by kind: what command.ts derives the command types from. */
export type RemoteSpecTable = typeof SPECS;

// Listing a spec under another kind's key is a compile error.
type KeyIsKind<T extends { readonly [K in keyof T]: { readonly kind: K; readonly method: K } }> = T;
export type _KeysAreKinds = KeyIsKind<RemoteSpecTable>;

/** The spec of every remote command by kind. */
export const REMOTE_SPECS: { readonly [K in RemoteKind]: RemoteSpec<K> } = SPECS;

/** Remote specs by JSON-RPC method name (a Map, so no inherited key can ever match). */
export const SPECS_BY_METHOD: ReadonlyMap<string, RemoteSpec> = new Map(
  Object.values(REMOTE_SPECS).map((spec: RemoteSpec) => [spec.method, spec]),
);

/** Whether a command runs on the servers (and so becomes a request). */
export function isRemote(cmd: Command): cmd is RemoteCommand {
  return Object.hasOwn(REMOTE_SPECS, cmd.kind);
}

/**
 * The tag of a metric command: one whose spec is a `MetricSpec` (answered
 * with data, shown as a table), in help order.
 */
export type MetricKind = {
  [K in RemoteKind]: RemoteSpecTable[K] extends { readonly metric: true } ? K : never;
}[RemoteKind];

/** Whether a command tag is a metric (answered with data, not streamed output). */
export function isMetricKind(kind: string): kind is MetricKind {
  return Object.hasOwn(REMOTE_SPECS, kind) && REMOTE_SPECS[kind as RemoteKind].metric === true;
}
