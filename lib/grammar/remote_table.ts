/**
 * The table of the server's commands: what the server validates incoming
 * params against. Kept apart from the console's own commands so the server
 * loads only what it serves. Grammar layer.
 * @module
 */

import type { RemoteKind } from "./command.ts";
import type { RemoteSpec } from "./spec.ts";
import { CPU, DISK, INFO, IP, NAME, NET, OS, RAM, UPTIME } from "./commands/metrics.ts";
import { TOP } from "./commands/top.ts";
import { PING } from "./commands/ping.ts";
import { EXEC } from "./commands/exec.ts";
import { DISCONNECT, KILL, RESET } from "./commands/lifecycle.ts";
import { DOWNLOAD, UPLOAD } from "./commands/transfer_wire.ts";

/** The spec of every remote command by kind; the mapped type makes the table exhaustive. */
export const REMOTE_SPECS: { readonly [K in RemoteKind]: RemoteSpec<K> } = {
  ram: RAM,
  cpu: CPU,
  os: OS,
  name: NAME,
  ip: IP,
  disk: DISK,
  uptime: UPTIME,
  net: NET,
  top: TOP,
  info: INFO,
  ping: PING,
  exec: EXEC,
  upload: UPLOAD,
  download: DOWNLOAD,
  disconnect: DISCONNECT,
  reset: RESET,
  kill: KILL,
};

/** Remote specs by JSON-RPC method name (a Map, so no inherited key can ever match). */
export const SPECS_BY_METHOD: ReadonlyMap<string, RemoteSpec> = new Map(
  Object.values(REMOTE_SPECS).map((spec: RemoteSpec) => [spec.method, spec]),
);
