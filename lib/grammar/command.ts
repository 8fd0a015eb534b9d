/**
 * Typed commands of the console grammar: what a person asked for, after the
 * client parsed a console line or the server checked a request's params.
 * Grammar layer: plain data, no I/O.
 * @module
 */

import type {
  CallEnd,
  DownloadResult,
  FullInfo,
  PingResult,
  ShellKind,
  TopInfo,
  UploadResult,
} from "../protocol/messages.ts";

export { CommandSyntaxError } from "./errors.ts";

/** A command that runs on the servers; each kind is one JSON-RPC method of the same name. */
export type RemoteCommand =
  | { kind: "ram" }
  | { kind: "cpu" }
  | { kind: "os" }
  | { kind: "name" }
  | { kind: "ip" }
  | { kind: "disk" }
  | { kind: "uptime" }
  | { kind: "net" }
  | { kind: "top"; count?: number }
  | { kind: "info" }
  | { kind: "ping"; host: string; count?: number }
  | {
    kind: "exec";
    shell: ShellKind;
    command: string;
    timeoutMs?: number;
    maxOutputBytes?: number;
    /** The client streams input to the command (`chunk` notifications, protocol.md §5.1). */
    stdin?: boolean;
  }
  | {
    /** Wire-only (no console word): one file streamed to the server; `push` makes these. */
    kind: "upload";
    /** Where the server puts the file: a plain OS path, absolute. */
    path: string;
    size: number;
    /** SHA-256 of the whole content, 64 lowercase hex digits. */
    sha256: string;
    /** Permission bits (0-0o7777); default 0o644. */
    mode?: number;
    /** Replace an existing file with other content. */
    force?: boolean;
    /** Create missing parent folders (a recursive push). */
    mkdirs?: boolean;
    /** Owner and group to set, as numbers (honoured when the server runs as root). */
    uid?: number;
    gid?: number;
  }
  | {
    /** Wire-only: one file streamed from the server; `pull` makes these. */
    kind: "download";
    path: string;
  }
  | { kind: "disconnect" }
  | { kind: "reset" }
  | { kind: "kill" };

/** The tag of a remote command. */
export type RemoteKind = RemoteCommand["kind"];

/** Every remote command by its tag. */
export type RemoteCommandMap = { [C in RemoteCommand as C["kind"]]: C };

/** The remote command with tag `K`. */
export type RemoteCommandOf<K extends RemoteKind> = RemoteCommandMap[K];

/** The answer of a lifecycle command (`disconnect`, `reset`, `kill`). */
export type OkResult = {
  ok: true;
};

/**
 * What each remote command answers with, by its tag: each metric the part of
 * `info` of its name (so the two cannot drift), then the rest.
 */
export interface RemoteResultMap extends Required<FullInfo> {
  top: TopInfo;
  info: FullInfo;
  ping: PingResult;
  exec: CallEnd;
  upload: UploadResult;
  download: DownloadResult;
  disconnect: OkResult;
  reset: OkResult;
  kill: OkResult;
}

// Adding a remote kind without its result type here is a compile error.
type EveryKind<T extends Record<RemoteKind, unknown>> = T;
export type _ResultsCoverEveryKind = EveryKind<RemoteResultMap>;

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

// A Record over every kind: adding a remote kind without listing it here is a compile error.
const REMOTE_KINDS: Readonly<Record<RemoteKind, true>> = {
  ram: true,
  cpu: true,
  os: true,
  name: true,
  ip: true,
  disk: true,
  uptime: true,
  net: true,
  top: true,
  info: true,
  ping: true,
  exec: true,
  upload: true,
  download: true,
  disconnect: true,
  reset: true,
  kill: true,
};

/** Whether a command runs on the servers (and so becomes a request). */
export function isRemote(cmd: Command): cmd is RemoteCommand {
  return Object.hasOwn(REMOTE_KINDS, cmd.kind);
}
