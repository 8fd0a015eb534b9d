/**
 * Typed commands of the console grammar: what a person asked for, after the
 * client parsed a console line or the server checked a request's params.
 * Grammar layer: plain data, no I/O.
 * @module
 */

import type { CommandOfSpec, ResultOfSpec } from "./spec.ts";
import type { RemoteSpecTable } from "./remote_table.ts";

export { CommandSyntaxError } from "./errors.ts";
export { isRemote } from "./remote_table.ts";

/**
 * The tag of a remote command: a key of the table of specs
 * (lib/grammar/remote_table.ts), and its JSON-RPC method name.
 */
export type RemoteKind = keyof RemoteSpecTable;

/**
 * Every remote command by its tag, as its spec module declares it (what the
 * spec's `fromParams` builds): the command's type lives in one place only.
 */
export type RemoteCommandMap = { [K in RemoteKind]: CommandOfSpec<RemoteSpecTable[K]> };

/** A command that runs on the servers; each kind is one JSON-RPC method of the same name. */
export type RemoteCommand = RemoteCommandMap[RemoteKind];

/** The remote command with tag `K`. */
export type RemoteCommandOf<K extends RemoteKind> = RemoteCommandMap[K];

/** The answer of a lifecycle command (`disconnect`, `reset`, `kill`). */
export type OkResult = {
  ok: true;
};

/** What each remote command answers with, by its tag: what its spec's result validator returns. */
export type RemoteResultMap = { [K in RemoteKind]: ResultOfSpec<RemoteSpecTable[K]> };

/** The result of the remote command with tag `K`. */
export type RemoteResultOf<K extends RemoteKind> = RemoteResultMap[K];

/** A command the client handles itself, without asking a server. */
export type LocalCommand =
  | { kind: "help"; topic?: string }
  | { kind: "hosts"; target?: TargetExpr }
  | { kind: "connect"; addresses: string[] }
  | { kind: "forget"; target: TargetExpr }
  | { kind: "use"; target: TargetExpr }
  | { kind: "select-add"; names: string[] }
  | { kind: "select-remove"; names: string[] }
  | { kind: "watch"; intervalSeconds: number; columns?: string[] }
  | { kind: "diff"; command: RemoteCommand }
  | {
    kind: "push";
    /** A local file, or with `recursive` a folder. */
    local: string;
    /** The destination on every host: a file path, or a folder when it ends in `/`. */
    remote: string;
    recursive: boolean;
    force: boolean;
    /** Permission bits for every file; default each local file's own. */
    mode?: number;
    /** Numeric owner (and group) to set; the servers honour it when running as root. */
    uid?: number;
    gid?: number;
  }
  | { kind: "pull"; remote: string; localDir: string }
  | { kind: "web"; action: "start" | "stop"; listen?: string; readOnly: boolean }
  | { kind: "exit" };

/** Anything a console line can ask for. */
export type Command = RemoteCommand | LocalCommand;

/** One comma-separated item of a target expression. */
export interface TargetItem {
  /**
   * How the item's hosts combine with those of the items before it: `add` (as
   * written), `exclude` (a leading `-`: removes them) or `intersect` (a leading
   * `&`: keeps only hosts also among them).
   */
  op: TargetOp;
  kind: "all" | "name" | "glob" | "group";
  /** The name, glob or group name as written; `"all"` for kind `all`. */
  value: string;
}

/** How a target item applies to the hosts chosen so far: union, difference or intersection. */
export type TargetOp = "add" | "exclude" | "intersect";

/** Which hosts a command goes to, e.g. `web*,group:db,-db2`. */
export interface TargetExpr {
  items: TargetItem[];
  /** The expression as written (trimmed), for display. */
  text: string;
}

/** A parsed console line: the command and, when given, the hosts it is for. */
export interface ParsedLine {
  /** Absent: the command goes to the current selection. */
  target?: TargetExpr;
  command: Command;
}
