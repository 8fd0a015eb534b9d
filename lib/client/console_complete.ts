/**
 * Tab completion for the console: command words at the start of a line (and
 * after `@TARGET`), host names, `group:NAME`s and `all` wherever a target goes
 * (after `@`, `use`, `disconnect`, `forget`, `hosts`, inside `+`/`-` selection
 * edits, after each comma), help topics after `help`, remote commands after `diff`, and column
 * names after `watch`. Client layer; pure.
 * @module
 */

import { WATCH_COLUMNS } from "../grammar/commands/watch.ts";
import { REMOTE_SPECS } from "../grammar/command_table.ts";
import { COMMAND_WORDS, completeCommandWord } from "../grammar/help.ts";
import type { TargetHost } from "./targets.ts";

/** Words that start a remote command, for `diff`. */
const REMOTE_WORDS: readonly string[] = [
  ...new Set(Object.values(REMOTE_SPECS).flatMap((s) => s.words)),
].filter((w) => w !== "disconnect" && w !== "reset" && w !== "kill" && w !== "shutdown").sort();

/** Words that take a target expression as their argument. */
const TARGET_ARG = new Set(["use", "disconnect", "forget", "hosts"]);

/** What a completion is made of: the line's candidates and the text they replace. */
export type Completion = [completions: string[], replaced: string];

function startsWithFold(candidate: string, prefix: string): boolean {
  return candidate.toLowerCase().startsWith(prefix.toLowerCase());
}

/** Everything a target item can be: host names, then `group:NAME`s, then `all`. */
function targetItems(hosts: readonly TargetHost[]): string[] {
  const groups = [...new Set(hosts.flatMap((h) => h.groups))].sort();
  return [...hosts.map((h) => h.name), ...groups.map((g) => `group:${g}`), "all"];
}

/**
 * Complete the last item of a comma list: `web1,d` offers `web1,db1`,
 * `web1,db2`; a `-` before the item (exclusion) is kept. `lead` is text glued
 * before the list (`@`, `+`, `-`).
 */
function completeList(lead: string, list: string, items: readonly string[]): string[] {
  const comma = list.lastIndexOf(",");
  let head = list.slice(0, comma + 1);
  let tail = list.slice(comma + 1);
  if (tail.startsWith("-") && lead !== "-") {
    head += "-";
    tail = tail.slice(1);
  }
  const already = new Set(list.slice(0, comma + 1).split(",").map((s) => s.replace(/^-/, "")));
  return items.filter((item) => startsWithFold(item, tail) && !already.has(item))
    .map((item) => `${lead}${head}${item}`);
}

/**
 * Candidates for the word under the cursor at the end of `line`, and that word
 * (what readline replaces). Nothing to offer gives no candidates.
 */
export function completeLine(line: string, hosts: readonly TargetHost[]): Completion {
  const cut = line.search(/\S*$/);
  const word = line.slice(cut);
  const before = line.slice(0, cut).trim().split(/\s+/).filter((w) => w !== "");
  const names = hosts.map((h) => h.name);
  // An `@TARGET` word in front does not change what the next word is.
  const words = before[0]?.startsWith("@") ? before.slice(1) : before;
  if (words.length === 0) {
    if (before.length === 0 && word.startsWith("@")) {
      return [completeList("@", word.slice(1), targetItems(hosts)), word];
    }
    if ((word.startsWith("+") || word.startsWith("-")) && before.length === 0) {
      // Selection edits take names and globs only (no groups, no `all`).
      return [completeList(word[0]!, word.slice(1), names), word];
    }
    return [completeCommandWord(word), word];
  }
  const command = words[0]!.toLowerCase();
  if (TARGET_ARG.has(command)) return [completeList("", word, targetItems(hosts)), word];
  if (command === "help" && words.length === 1) {
    return [[...COMMAND_WORDS, "target"].filter((w) => startsWithFold(w, word)), word];
  }
  if (command === "diff" && words.length === 1) {
    return [REMOTE_WORDS.filter((w) => startsWithFold(w, word)), word];
  }
  if (command === "watch") return [completeList("", word, WATCH_COLUMNS), word];
  return [[], word];
}
