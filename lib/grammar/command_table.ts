/**
 * The table of every console command, and the lookups the parser, the help
 * and the server's param checks share. Adding a command: write its module in
 * `commands/`, then add it here. Grammar layer.
 * @module
 */

import type { RemoteKind } from "./command.ts";
import type { CommandSpec, RemoteSpec } from "./spec.ts";
import { CPU, DISK, INFO, IP, NAME, OS, RAM, UPTIME } from "./commands/metrics.ts";
import { PING } from "./commands/ping.ts";
import { EXEC } from "./commands/exec.ts";
import { DISCONNECT, KILL, RESET } from "./commands/lifecycle.ts";
import { EXIT, HELP, HOSTS } from "./commands/session.ts";
import { CONNECT } from "./commands/connect.ts";
import { USE } from "./commands/use.ts";
import { SELECT_ADD, SELECT_REMOVE } from "./commands/select.ts";
import { WATCH } from "./commands/watch.ts";
import { DIFF } from "./commands/diff.ts";

/** The spec of every remote command by kind; the mapped type makes the table exhaustive. */
export const REMOTE_SPECS: { readonly [K in RemoteKind]: RemoteSpec<K> } = {
  ram: RAM,
  cpu: CPU,
  os: OS,
  name: NAME,
  ip: IP,
  disk: DISK,
  uptime: UPTIME,
  info: INFO,
  ping: PING,
  exec: EXEC,
  disconnect: DISCONNECT,
  reset: RESET,
  kill: KILL,
};

/** Commands the client handles itself, in help order. */
export const LOCAL_SPECS: readonly CommandSpec[] = [
  HELP,
  HOSTS,
  CONNECT,
  USE,
  SELECT_ADD,
  SELECT_REMOVE,
  WATCH,
  DIFF,
  EXIT,
];

/** Every command, remote first, in help order. */
export const COMMAND_SPECS: readonly CommandSpec[] = [
  ...Object.values(REMOTE_SPECS),
  ...LOCAL_SPECS,
];

/** Remote specs by JSON-RPC method name (a Map, so no inherited key can ever match). */
export const SPECS_BY_METHOD: ReadonlyMap<string, RemoteSpec> = new Map(
  Object.values(REMOTE_SPECS).map((spec: RemoteSpec) => [spec.method, spec]),
);

/** Word-form commands by each of their words. */
export const SPECS_BY_WORD: ReadonlyMap<string, CommandSpec> = index("word");

/** Prefix-form commands by each of their prefixes. */
export const SPECS_BY_PREFIX: ReadonlyMap<string, CommandSpec> = index("prefix");

function index(form: CommandSpec["form"]): ReadonlyMap<string, CommandSpec> {
  const map = new Map<string, CommandSpec>();
  for (const spec of COMMAND_SPECS) {
    if (spec.form !== form) continue;
    for (const word of spec.words) {
      if (map.has(word)) throw new Error(`Command word ${JSON.stringify(word)} is taken twice`);
      map.set(word, spec);
    }
  }
  return map;
}
