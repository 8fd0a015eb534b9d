/**
 * The table of every console command, and the lookups the parser and the help
 * share. Adding a command: write its module in `commands/`, then add it here
 * (a server command goes in `remote_table.ts`). Grammar layer.
 * @module
 */

import type { CommandSpec } from "./spec.ts";
import { REMOTE_SPECS, SPECS_BY_METHOD } from "./remote_table.ts";
import { EXIT, HELP, HOSTS } from "./commands/session.ts";
import { CONNECT } from "./commands/connect.ts";
import { FORGET } from "./commands/forget.ts";
import { USE } from "./commands/use.ts";
import { SELECT_ADD, SELECT_REMOVE } from "./commands/select.ts";
import { WATCH } from "./commands/watch.ts";
import { DIFF } from "./commands/diff.ts";
import { PULL, PUSH } from "./commands/transfer.ts";
import { WEB } from "./commands/web.ts";

/** Commands the client handles itself, in help order. */
export const LOCAL_SPECS: readonly CommandSpec[] = [
  HELP,
  HOSTS,
  CONNECT,
  FORGET,
  USE,
  SELECT_ADD,
  SELECT_REMOVE,
  WATCH,
  DIFF,
  PUSH,
  PULL,
  WEB,
  EXIT,
];

/** Every command, remote first, in help order. */
export const COMMAND_SPECS: readonly CommandSpec[] = [
  ...Object.values(REMOTE_SPECS),
  ...LOCAL_SPECS,
];

export { REMOTE_SPECS, SPECS_BY_METHOD };

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
