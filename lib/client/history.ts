/**
 * The console's command history: where the per-user file lives, which lines
 * are worth keeping, loading the most recent ones and appending new ones.
 * Client layer; the path and filter are pure, only load/append touch files.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { type EnvLookup, stateFilePath } from "../token_file.ts";

/** How many lines the console loads (and keeps in memory) at start. */
export const HISTORY_SIZE = 1000;

/**
 * The history file: Linux `$XDG_STATE_HOME/rmon/history` (else
 * `~/.local/state/rmon/history`), macOS `~/Library/Application Support/rmon/history`,
 * Windows `%APPDATA%\rmon\history`. Throws when the variables it needs are unset.
 */
export function historyPath(env: EnvLookup, os: typeof Deno.build.os = Deno.build.os): string {
  return stateFilePath("history", env, os);
}

/**
 * Whether an entered line goes into the history: not blank, not a repeat of
 * the line before it, and not starting with a space, which (as with bash's
 * `ignorespace`) lets a person keep a line holding a secret out of the file.
 */
export function worthKeeping(line: string, previous: string | undefined): boolean {
  if (line.trim() === "" || /^\s/.test(line)) return false;
  return line !== previous;
}

/** The non-blank lines of a history file's text, oldest first. */
export function historyLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== "");
}

/**
 * Read the most recent `max` lines, oldest first; a missing file is an empty
 * history. A file grown past twice `max` is rewritten with its tail, so it
 * stays bounded however long the console is used.
 */
export async function loadHistory(path: string, max: number = HISTORY_SIZE): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw new Error(`Cannot read history "${path}": ${describeError(err)}`, { cause: err });
  }
  const all = historyLines(text);
  const recent = all.slice(Math.max(0, all.length - max));
  if (all.length > 2 * max) {
    await Deno.writeTextFile(path, recent.map((l) => l + "\n").join(""), { mode: 0o600 });
  }
  return recent;
}

/** Append one line, creating the file (0600) and its directory (0700) when missing. */
export async function appendHistory(path: string, line: string): Promise<void> {
  const sep = path.includes("\\") && !path.includes("/") ? "\\" : "/";
  const dir = path.slice(0, path.lastIndexOf(sep));
  try {
    if (dir) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    // Commands can name hosts and paths worth keeping private: owner-only, like a shell's.
    await Deno.writeTextFile(path, line + "\n", { append: true, mode: 0o600 });
  } catch (err) {
    throw new Error(`Cannot save history "${path}": ${describeError(err)}`, { cause: err });
  }
}
