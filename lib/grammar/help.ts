/**
 * Help topics and Tab completion, derived from the command table: the
 * client's `help` and `help COMMAND` print these, and its completer offers
 * the command words. Grammar layer, pure text.
 * @module
 */

import { COMMAND_SPECS, REMOTE_SPECS } from "./command_table.ts";
import type { CommandSpec } from "./spec.ts";
import { quote } from "./_quote.ts";

/** One help topic: a command, or a piece of syntax such as targets. */
export interface HelpEntry {
  /** Canonical topic name (`ping`, `exec`, `target`). */
  readonly name: string;
  /** Words that name the topic too, canonical first (`kill`, `shutdown`). */
  readonly words: readonly string[];
  readonly usage: string;
  readonly summary: string;
  readonly detail: string;
  /** Whether the command runs on the servers (false for console commands and syntax). */
  readonly remote: boolean;
}

const REMOTE_NAMES: ReadonlySet<string> = new Set(Object.values(REMOTE_SPECS).map((s) => s.name));

const TARGET_ENTRY: HelpEntry = {
  name: "target",
  words: ["target", "targets", "@"],
  usage: "@TARGET COMMAND",
  summary: "Send one command to some servers instead of the selection",
  detail: "TARGET is a comma-separated list of items: a NAME, a GLOB (*, ?, [a-z],\n" +
    "[!0-9]), group:NAME or all; a leading - excludes, a leading & keeps only the\n" +
    "servers the item also names (an & needs no comma before it). Items apply\n" +
    "left to right. Names and globs match case-insensitively; a list that starts\n" +
    "with - or & starts from all servers.\n" +
    "Examples:\n  @web1 ram   @web*,db2 cpu   @group:db disk   @all,-db2 uptime\n" +
    "  @group:web&group:prod os   @web*,-web3&group:prod name",
  remote: false,
};

function entryOf(spec: CommandSpec): HelpEntry {
  const { name, words, usage, summary, detail } = spec;
  return { name, words, usage, summary, detail, remote: REMOTE_NAMES.has(name) };
}

/** Every help topic: remote commands, console commands, then syntax topics. */
export const HELP_ENTRIES: readonly HelpEntry[] = [
  // Wire-only methods (vitals, upload, download) have no word and no help of their own.
  ...COMMAND_SPECS.filter((spec) => spec.words.length > 0).map(entryOf),
  TARGET_ENTRY,
];

/** Normalise a topic word: lower case, trailing `:` dropped, so `SH:` and `sh` meet. */
function key(word: string): string {
  const lower = word.trim().toLowerCase();
  return lower.length > 1 && lower.endsWith(":") ? lower.slice(0, -1) : lower;
}

const BY_KEY: ReadonlyMap<string, HelpEntry> = new Map(
  HELP_ENTRIES.flatMap((entry) =>
    [entry.name, ...entry.words].map((word) => [key(word), entry] as const)
  ),
);

/** The entry a topic word names (`help shutdown`, `help sh:`, `help @`), if any. */
export function findHelp(topic: string): HelpEntry | undefined {
  return BY_KEY.get(key(topic));
}

/**
 * Help text without colour: the list of commands when `topic` is absent, else
 * the topic's usage, aliases and details.
 *
 * @throws {RangeError} No such topic.
 */
export function formatHelp(topic?: string): string {
  if (topic === undefined) return formatIndex();
  const entry = findHelp(topic);
  if (!entry) throw new RangeError(`Cannot show help: no topic ${quote(topic)}`);
  // Words the usage or summary already show are not repeated as aliases.
  const others = entry.words.filter((w) =>
    w !== entry.name && !entry.usage.includes(w) && !entry.summary.includes(w)
  );
  const aliases = others.length > 0 ? `\nAlso: ${others.join(", ")}` : "";
  return `${entry.usage}\n  ${entry.summary}${aliases}\n\n${entry.detail}`;
}

function formatIndex(): string {
  const width = Math.max(...HELP_ENTRIES.map((e) => e.usage.length));
  const lines = (remote: boolean) =>
    HELP_ENTRIES.filter((e) => e.remote === remote && e !== TARGET_ENTRY)
      .map((e) => `  ${e.usage.padEnd(width)}  ${e.summary}`);
  return [
    "Server commands (prefix with @TARGET to pick servers):",
    ...lines(true),
    "",
    "Console commands:",
    ...lines(false),
    "",
    `  ${TARGET_ENTRY.usage.padEnd(width)}  ${TARGET_ENTRY.summary}`,
    "",
    "Type help COMMAND for details. Lines starting with # are ignored.",
    "The prompt rmon [S/C]> counts the servers: S selected (where a command without",
    "@TARGET goes; see use) of C connected.",
  ].join("\n");
}

/** Words a person can type to start a command (`sh:` and `+`/`-` included), sorted. */
export const COMMAND_WORDS: readonly string[] = [
  ...new Set(COMMAND_SPECS.flatMap((spec) => spec.words)),
].sort();

/** The command words starting with `prefix` (case-insensitive), for Tab completion. */
export function completeCommandWord(prefix: string): string[] {
  const lower = prefix.toLowerCase();
  return COMMAND_WORDS.filter((word) => word.startsWith(lower));
}
