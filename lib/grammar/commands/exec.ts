/**
 * Exec by prefix: `sh: df -h`, `cmd: dir` (or `dos: dir`), `ps: Get-Process`.
 * The text after the colon is the command line, verbatim: never split into
 * words, so the shell sees exactly what was typed. Grammar layer.
 * @module
 */

import { LIMITS, TIMEOUTS } from "../../protocol/constants.ts";
import type { CallEnd, JsonObject, ShellKind } from "../../protocol/messages.ts";
import { CALL_END } from "../result_check.ts";
import type { WireSpec } from "../spec.ts";
import { quote } from "../_quote.ts";

/** Which shell each console prefix selects; `dos:` is the seed's name for `cmd:`. */
export const SHELL_PREFIXES: ReadonlyMap<string, ShellKind> = new Map<string, ShellKind>([
  ["sh:", "sh"],
  ["cmd:", "cmd"],
  ["dos:", "cmd"],
  ["ps:", "ps"],
]);

const SHELLS: ReadonlySet<string> = new Set<ShellKind>(["sh", "cmd", "ps"]);

function isShell(name: string): name is ShellKind {
  return SHELLS.has(name);
}
const encoder = new TextEncoder();

/** Why a command cannot be run, and whether the reason is its size. */
interface CommandProblem {
  detail: string;
  tooLarge: boolean;
}

function commandProblem(command: string): CommandProblem | undefined {
  if (command.trim() === "") return { detail: "the command is empty", tooLarge: false };
  if (command.includes("\0")) {
    return { detail: "the command contains a NUL character", tooLarge: false };
  }
  // Each UTF-16 unit is at most 3 bytes of UTF-8: short commands need no encoding.
  if (command.length * 3 <= LIMITS.commandBytes) return undefined;
  const bytes = encoder.encode(command).length;
  if (bytes > LIMITS.commandBytes) {
    return {
      detail: `the command is ${bytes} bytes, over the ${LIMITS.commandBytes}-byte limit`,
      tooLarge: true,
    };
  }
  return undefined;
}

/**
 * Why `command` cannot be run (a lower-case detail), or undefined if it can:
 * blank, containing NUL (no OS passes it to a process), or over
 * `LIMITS.commandBytes` bytes of UTF-8.
 */
export function execCommandProblem(command: string): string | undefined {
  return commandProblem(command)?.detail;
}

/** A command line run by a shell on each server. */
export type ExecCommand = {
  kind: "exec";
  shell: ShellKind;
  command: string;
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** The client streams input to the command (`chunk` notifications, protocol.md §5.1). */
  stdin?: boolean;
};

/** `sh: COMMAND`, `cmd: COMMAND` / `dos: COMMAND`, `ps: COMMAND`. */
export const EXEC: WireSpec<ExecCommand, CallEnd> = {
  name: "exec",
  words: [...SHELL_PREFIXES.keys()],
  form: "prefix",
  usage: "sh:|cmd:|ps: COMMAND",
  summary: "Run COMMAND with sh, cmd.exe (also dos:) or PowerShell on each server",
  detail: "Everything after the colon is passed to the shell exactly as typed, pipes,\n" +
    "quotes and all. Output streams back as it comes. The prefix is\n" +
    "case-insensitive and may be followed by spaces. Examples:\n" +
    "  sh: df -h | sort -k5\n  dos: dir C:\\\n  ps: Get-Process | Sort-Object CPU",
  targeted: true,
  kind: "exec",
  method: "exec",
  fields: ["shell", "command", "timeoutMs", "maxOutputBytes", "stdin"],
  parse(input) {
    const shell = SHELL_PREFIXES.get(input.word);
    if (shell === undefined) {
      return input.fail(`unknown shell prefix ${quote(input.word)}`, input.start);
    }
    const problem = execCommandProblem(input.rest);
    if (problem) return input.fail(problem, input.restStart);
    return { kind: "exec", shell, command: input.rest };
  },
  toParams(cmd) {
    const params: JsonObject = { shell: cmd.shell, command: cmd.command };
    if (cmd.timeoutMs !== undefined) params.timeoutMs = cmd.timeoutMs;
    if (cmd.maxOutputBytes !== undefined) params.maxOutputBytes = cmd.maxOutputBytes;
    // Sent only when asked: a server older than exec input refuses the field (invalidParams).
    if (cmd.stdin) params.stdin = true;
    return params;
  },
  fromParams(params) {
    const shell = params.string("shell");
    if (!isShell(shell)) {
      throw params.rangeError(`shell ${quote(shell)} is not one of "sh", "cmd", "ps"`);
    }
    const command = params.string("command");
    const problem = commandProblem(command);
    // Over the size limit is `tooLarge` on the wire (protocol.md §7); the rest `invalidParams`.
    if (problem?.tooLarge) throw params.tooLargeError(problem.detail);
    if (problem) throw params.rangeError(problem.detail);
    const timeoutMs = params.optionalInteger("timeoutMs", TIMEOUTS.execMaxTimeoutMs);
    const maxOutputBytes = params.optionalInteger("maxOutputBytes");
    const stdin = params.optionalBoolean("stdin");
    return {
      kind: "exec",
      shell,
      command,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(maxOutputBytes === undefined ? {} : { maxOutputBytes }),
      ...(stdin ? { stdin } : {}),
    };
  },
  result: CALL_END,
};
