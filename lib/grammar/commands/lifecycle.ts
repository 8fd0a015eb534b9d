/**
 * Connection lifecycle commands: `disconnect [TARGET]`, `reset` and `kill`
 * (alias `shutdown`). Grammar layer.
 *
 * Only `disconnect` takes a target argument (`disconnect web1` is
 * `@web1 disconnect`): it is harmless if mistyped. `reset` and `kill` take
 * none, so a stray `kill -x` can never turn into "everything except x".
 * @module
 */

import type { OkResult } from "../command.ts";
import { type Check, object, yes } from "../result_check.ts";
import type { WireSpec } from "../spec.ts";

/** The answer of every lifecycle command: `{ok: true}`. */
const OK_RESULT: Check<OkResult> = object<OkResult>({ ok: yes });
import { noArgs, targetOfWords } from "./_args.ts";

/** `disconnect [TARGET]`. */
export const DISCONNECT: WireSpec<{ kind: "disconnect" }, OkResult> = {
  name: "disconnect",
  words: ["disconnect"],
  form: "word",
  usage: "disconnect [TARGET]",
  summary: "Close the connection to the selected (or given) servers",
  detail: "Asks the servers to close this console's connection; they keep running\n" +
    "and accept new connections. With a TARGET (see help target), only those\n" +
    "servers: disconnect web1,db* is the same as @web1,db* disconnect.\n" +
    "A disconnected server stays listed (closed) for connect; one that was not\n" +
    "connected at all (lost, refused) is removed from the fleet, as forget does.",
  targeted: true,
  kind: "disconnect",
  method: "disconnect",
  fields: [],
  parse(input) {
    const args = input.args();
    if (args.length === 0) return { kind: "disconnect" };
    return { target: targetOfWords(args), command: { kind: "disconnect" } };
  },
  toParams: () => ({}),
  fromParams: () => ({ kind: "disconnect" }),
  result: OK_RESULT,
};

/** `reset`. */
export const RESET: WireSpec<{ kind: "reset" }, OkResult> = {
  name: "reset",
  words: ["reset"],
  form: "word",
  usage: "reset",
  summary: "Make the servers drop every connection and listen again",
  detail: "Each server closes all its connections, including this one, and starts\n" +
    "listening afresh. Reconnect with connect.",
  targeted: true,
  kind: "reset",
  method: "reset",
  fields: [],
  parse(input) {
    noArgs(input);
    return { kind: "reset" };
  },
  toParams: () => ({}),
  fromParams: () => ({ kind: "reset" }),
  result: OK_RESULT,
};

/** `kill`, alias `shutdown`. */
export const KILL: WireSpec<{ kind: "kill" }, OkResult> = {
  name: "kill",
  words: ["kill", "shutdown"],
  form: "word",
  usage: "kill",
  summary: "Stop the servers (alias shutdown)",
  detail: "Each server closes all connections and exits. Servers started with\n" +
    "--read-only refuse. Give a target first to stop only some: @web1 kill",
  targeted: true,
  kind: "kill",
  method: "kill",
  fields: [],
  parse(input) {
    noArgs(input);
    return { kind: "kill" };
  },
  toParams: () => ({}),
  fromParams: () => ({ kind: "kill" }),
  result: OK_RESULT,
};
