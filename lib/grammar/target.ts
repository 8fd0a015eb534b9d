/**
 * Target expressions: which hosts a command goes to, written
 * `web1,db*,group:db,-db2,all` or `web*&group:prod`. Grammar layer, pure: this
 * module checks the syntax; `lib/client/targets.ts` resolves expressions
 * against the hosts.
 *
 * Items are comma-separated: `all`, a `group:NAME`, a glob (`*`, `?`, `[a-z]`,
 * `[!0-9]`, `[1-3,5]`; see `glob.ts`) or a plain name; a leading `-` excludes, a leading `&` intersects
 * (Ansible's `:&`), and an `&` item needs no comma before it. Names and globs
 * match case-insensitively, like DNS names.
 * @module
 */

import type { TargetExpr, TargetItem, TargetOp } from "./command.ts";
import { CommandSyntaxError } from "./errors.ts";
import { quote } from "./_quote.ts";
import { globProblem, parseGlob } from "./glob.ts";
import { hostNameProblem, NAME_CHAR, nameCharsProblem, type NameProblem } from "./host_name.ts";

/** The expected form reported by target parse errors. */
export const TARGET_FORM =
  "NAME, GLOB, group:NAME or all, comma-separated, - to exclude, & to intersect";

const GROUP_PREFIX = "group:";

/**
 * Parse a target expression such as `web1,db*,group:db,-db2,all` or `web*&group:prod`.
 * Whitespace around items is ignored.
 *
 * @param offset Column of `text[0]` in the whole line; added to error positions.
 * @throws {CommandSyntaxError} An item is empty or malformed.
 */
export function parseTarget(text: string, offset = 0): TargetExpr {
  const lead = text.length - text.trimStart().length;
  const body = text.trim();
  if (body === "") {
    throw new CommandSyntaxError("Cannot parse target: it is empty", offset + lead, TARGET_FORM);
  }
  const items: TargetItem[] = [];
  const raws = splitItems(body);
  for (const { raw, start } of raws) {
    const at = offset + lead + start + raw.length - raw.trimStart().length;
    // With one item the message already quotes it; with several, name the culprit.
    items.push(parseItem(raw.trim(), at, body, raws.length > 1));
  }
  return { items, text: body };
}

function parseItem(item: string, column: number, whole: string, many: boolean): TargetItem {
  const fail = (detail: string, at: number): never => {
    throw new CommandSyntaxError(`Cannot parse target ${quote(whole)}: ${detail}`, at, TARGET_FORM);
  };
  const sign = item[0];
  const op: TargetOp = sign === "-" ? "exclude" : sign === "&" ? "intersect" : "add";
  const body = op === "add" ? item : item.slice(1);
  const at = op === "add" ? column : column + 1;
  if (body === "") return fail(op === "add" ? "an item is empty" : `nothing follows "${sign}"`, at);
  if (body.toLowerCase() === "all") return { op, kind: "all", value: "all" };
  if (body.toLowerCase().startsWith(GROUP_PREFIX)) {
    const group = body.slice(GROUP_PREFIX.length);
    const groupAt = at + GROUP_PREFIX.length;
    if (group === "") return fail(`a group name must follow "${GROUP_PREFIX}"`, groupAt);
    const bad = nameCharsProblem(group);
    if (bad) return fail(`group ${quote(group)}: ${bad.detail}`, groupAt + bad.index);
    return { op, kind: "group", value: group };
  }
  // A plain name obeys the host-name rule itself, so targets and hosts agree.
  const bad = /[*?[\]!^,]/.test(body) ? patternProblem(body) : hostNameProblem(body);
  if (bad) return fail(many ? `${quote(body)}: ${bad.detail}` : bad.detail, at + bad.index);
  return { op, kind: /[*?[]/.test(body) ? "glob" : "name", value: body };
}

/**
 * Where and why `text` is not a glob of host names; undefined if it is one.
 * `glob.ts` owns the pattern syntax; its literal characters and class members
 * must be host-name characters. A comma can only be inside a numeric bracket
 * here, as splitItems() split on the others.
 */
function patternProblem(text: string): NameProblem | undefined {
  if (text.startsWith("-")) return nameCharsProblem(text);
  const problem = globProblem(text);
  if (problem) return problem;
  for (const part of parseGlob(text)) {
    if (part.kind === "literal" && !NAME_CHAR.test(part.char)) {
      return { index: part.index, detail: `character ${quote(part.char)} is not allowed` };
    }
    if (part.kind === "class" && ![...part.members.join("")].every((c) => NAME_CHAR.test(c))) {
      return { index: part.index, detail: `class ${quote(part.text)} has a bad character` };
    }
  }
  return undefined;
}

/**
 * Split on commas outside brackets, so folded lists like `web[1-3,5]` stay one
 * item, and before an `&` that follows an item (`web*&group:prod`), which keeps
 * its `&`. Each piece comes with its index in `body`.
 */
function splitItems(body: string): { raw: string; start: number }[] {
  const items: { raw: string; start: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === "[") depth++;
    else if (ch === "]") depth = Math.max(0, depth - 1);
    else if (depth > 0) continue;
    else if (ch === ",") {
      items.push({ raw: body.slice(start, i), start });
      start = i + 1;
    } else if (ch === "&" && body.slice(start, i).trim() !== "") {
      items.push({ raw: body.slice(start, i), start });
      start = i;
    }
  }
  items.push({ raw: body.slice(start), start });
  return items;
}
