/**
 * Target expressions: which hosts a command goes to, written
 * `web1,db*,group:db,-db2,all` or `web*&group:prod`. Grammar layer, pure: this
 * module checks the syntax; `lib/client/targets.ts` resolves expressions
 * against the hosts.
 *
 * Items are comma-separated: `all`, a `group:NAME`, a glob (`*`, `?`, `[a-z]`,
 * `[!0-9]`) or a plain name; a leading `-` excludes, a leading `&` intersects
 * (Ansible's `:&`), and an `&` item needs no comma before it. Names and globs
 * match case-insensitively, like DNS names.
 * @module
 */

import type { TargetExpr, TargetItem, TargetOp } from "./command.ts";
import { CommandSyntaxError } from "./errors.ts";
import { quote } from "./_quote.ts";
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
 * Where and why `text` is not a glob; undefined if it is one. Outside the glob
 * syntax it takes the host-name characters; a comma can only be inside
 * brackets here, as splitItems() split on the others.
 */
function patternProblem(text: string): NameProblem | undefined {
  if (text.startsWith("-")) return nameCharsProblem(text);
  return globProblem(text) ?? nameCharsProblem(text, "*?[]!^,");
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

/** Folded host-list notation inside brackets, as `compactHosts()` prints it: `1-3,5`, `08-12`. */
const NUMERIC_RANGES = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/** Check bracket classes: closed, non-empty, name characters only, ranges in order. */
function globProblem(pattern: string): NameProblem | undefined {
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "]") return { index: i, detail: '"]" without "["' };
    if ("!^".includes(ch)) return { index: i, detail: `${quote(ch)} is only allowed after "["` };
    if (ch !== "[") continue;
    const close = pattern.indexOf("]", i + 1);
    if (close === -1) return { index: i, detail: '"[" is never closed' };
    const inner = pattern.slice(i + 1, close).replace(/^[!^]/, "");
    if (inner === "") return { index: i, detail: `"[]" matches nothing` };
    if (NUMERIC_RANGES.test(inner) && /[,-]/.test(inner)) {
      const backwards = inner.split(",").find((span) => {
        const [lo, hi] = span.split("-");
        return hi !== undefined && Number(lo) > Number(hi);
      });
      if (backwards) return { index: i, detail: `range ${quote(backwards)} is backwards` };
      i = close;
      continue;
    }
    for (const part of classParts(inner)) {
      if (![...part].every((c) => NAME_CHAR.test(c))) {
        return {
          index: i,
          detail: `class ${quote(pattern.slice(i, close + 1))} has a bad character`,
        };
      }
      if (part.length === 3 && part[0]! > part[2]!) {
        return { index: i, detail: `range ${quote(part)} is backwards` };
      }
    }
    i = close;
  }
  return undefined;
}

/** Split a bracket class body into single characters and `a-z` ranges. */
function classParts(inner: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < inner.length; i++) {
    if (inner[i + 1] === "-" && i + 2 < inner.length) {
      parts.push(inner.slice(i, i + 3));
      i += 2;
    } else {
      parts.push(inner[i]!);
    }
  }
  return parts;
}
