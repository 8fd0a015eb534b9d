/**
 * Subprocess layer, pure part: turns an exec command line into the argv of the
 * shell that runs it (`sh`, `cmd.exe` or `powershell.exe`). No I/O here; the
 * platform is a parameter so every branch is unit-testable on any machine.
 * @module
 */

import type { ShellKind } from "../protocol/messages.ts";

/** An operating system name as reported by `Deno.build.os`. */
export type Platform = typeof Deno.build.os;

/** The program and arguments that run one command line. */
export interface ShellArgv {
  cmd: string;
  args: string[];
  /**
   * Pass `args` to Windows verbatim (`Deno.Command`'s `windowsRawArguments`).
   * Set for `cmd.exe`, whose `/s /c "..."` quoting the standard argv escaping breaks.
   */
  windowsRawArguments: boolean;
}

/** Longest command line `cmd.exe` accepts, in characters. */
export const CMD_MAX_CHARS = 8191;

/** Longest command line `CreateProcess` accepts, in characters (32767 minus the NUL). */
export const WINDOWS_MAX_CHARS = 32766;

/** The console's prefix for each shell, so errors name what the user typed. */
const PREFIXES: Readonly<Record<ShellKind, string>> = { sh: "sh:", cmd: "dos:", ps: "ps:" };

const CMD_EXE = "cmd.exe";
const POWERSHELL_EXE = "powershell.exe";
const POWERSHELL_FLAGS = ["-NoProfile", "-NonInteractive", "-EncodedCommand"];

/**
 * The argv that runs `command` with the given shell on `platform`.
 *
 * - `sh`: `sh -c COMMAND`, Unix only.
 * - `cmd`: `cmd.exe /d /s /c "COMMAND"` with raw arguments: `/s` strips exactly the
 *   outer quotes we add, so the command reaches cmd byte for byte. Windows only.
 * - `ps`: `powershell.exe -NoProfile -NonInteractive -EncodedCommand BASE64`; base64
 *   has no characters any layer would reinterpret, so no quoting is involved. Windows only.
 *
 * @param platform Defaults to `Deno.build.os`.
 * @throws {RangeError} The shell does not exist on `platform`, or the command line is too long.
 * @throws {TypeError} The command contains a NUL character (no OS can pass it on).
 */
export function shellArgv(
  kind: ShellKind,
  command: string,
  platform: Platform = Deno.build.os,
): ShellArgv {
  const prefix = PREFIXES[kind];
  if (command.includes("\0")) {
    throw new TypeError(`Cannot run "${prefix}" command: it contains a NUL character`);
  }
  const windows = platform === "windows";
  switch (kind) {
    case "sh":
      if (windows) {
        throw new RangeError(
          `Cannot run "${prefix}" command: sh is only available on Unix servers`,
        );
      }
      return { cmd: "sh", args: ["-c", command], windowsRawArguments: false };
    case "cmd": {
      if (!windows) {
        throw new RangeError(
          `Cannot run "${prefix}" command: cmd is only available on Windows servers`,
        );
      }
      const args = ["/d", "/s", "/c", `"${command}"`];
      checkLength(prefix, CMD_EXE, args, CMD_MAX_CHARS);
      return { cmd: CMD_EXE, args, windowsRawArguments: true };
    }
    case "ps": {
      if (!windows) {
        throw new RangeError(
          `Cannot run "${prefix}" command: PowerShell is only available on Windows servers`,
        );
      }
      const args = [...POWERSHELL_FLAGS, encodePowerShellCommand(command)];
      checkLength(prefix, POWERSHELL_EXE, args, WINDOWS_MAX_CHARS);
      return { cmd: POWERSHELL_EXE, args, windowsRawArguments: false };
    }
    default: {
      const unknown: never = kind;
      throw new RangeError(`Cannot run command: unknown shell "${String(unknown)}"`);
    }
  }
}

/**
 * The `-EncodedCommand` form of a PowerShell script: base64 of its UTF-16LE bytes.
 */
export function encodePowerShellCommand(script: string): string {
  const bytes = new Uint8Array(script.length * 2);
  for (let i = 0; i < script.length; i++) {
    const unit = script.charCodeAt(i);
    bytes[2 * i] = unit & 0xff;
    bytes[2 * i + 1] = unit >> 8;
  }
  // btoa takes a binary string; build it in slices to stay under the argument limit of apply.
  let binary = "";
  const SLICE = 0x8000;
  for (let i = 0; i < bytes.length; i += SLICE) {
    binary += String.fromCharCode(...bytes.subarray(i, i + SLICE));
  }
  return btoa(binary);
}

/** Refuse a command line Windows would cut or reject, rather than run part of it. */
function checkLength(prefix: string, cmd: string, args: string[], limit: number): void {
  const length = [cmd, ...args].join(" ").length;
  if (length > limit) {
    throw new RangeError(
      `Cannot run "${prefix}" command: its ${length}-character command line exceeds the ` +
        `${limit}-character limit of Windows`,
    );
  }
}
