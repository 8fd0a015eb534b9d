/**
 * Host ranges: `web[01-20].lan,db[1-3]` names 23 hosts, in the folded
 * notation rmon prints (`hostlist.ts`) and targets match (`glob.ts`). Grammar
 * layer, pure. The bracket syntax is glob.ts's: this module asks `parseGlob()`
 * for the numeric brackets and only multiplies them out, so the command line,
 * host files, targets and the folded lists can never disagree on it.
 *
 * A bracket that is not a numeric range stays as it is written, so an IPv6
 * address (`[::1]:5050`, `[::1]:[5051-5053]`) keeps its brackets; `*` and `?`
 * are refused: a host list names hosts, it does not match them.
 * @module
 */

import { quote } from "./_quote.ts";
import { parseGlob } from "./glob.ts";

/** The most hosts one list may expand to: a typo such as `n[1-99999999]` fails fast. */
export const MAX_HOSTS = 100_000;

/** A numeric bracket (`[1-3]`, `[01-20]`, `[1,3,5-7]`): the only ones worth expanding. */
const NUMERIC_BRACKET = /\[\d+(-\d+)?(,\d+(-\d+)?)*\]/;

/** What makes a line more than one plain address: a list, a bracket, a glob character, a blank. */
const SPECIAL = /[,[\]*?\s]/;

/** Split `text` on commas outside brackets: `a[1,2],b` is `a[1,2]` and `b`. */
function splitList(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "[") depth++;
    else if (ch === "]") depth = Math.max(0, depth - 1);
    else if (ch === "," && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  return items.map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * The addresses one item names: itself, or every name its numeric brackets
 * make, in ascending order, zero padding kept (`n[08-10]` → `n08`, `n09`, `n10`).
 * @throws {SyntaxError} A malformed or backwards bracket (`web[1-`, `web[3-1]`), or `*`/`?`.
 * @throws {RangeError} More than {@linkcode MAX_HOSTS} names.
 */
export function expandHostItem(item: string): string[] {
  if (!NUMERIC_BRACKET.test(item)) return [item];
  // Each piece is a list of alternatives: literal text has one, a numeric bracket many.
  const pieces: string[][] = [];
  let literal = "";
  let count = 1;
  for (const part of parseGlob(item)) {
    switch (part.kind) {
      case "literal":
        literal += part.char;
        break;
      case "class":
        literal += part.text; // an IPv6 address in brackets, not a range
        break;
      case "star":
      case "any":
        throw new SyntaxError(
          `Cannot expand host range ${
            quote(item)
          }: "*" and "?" match names, they do not list hosts`,
        );
      case "numbers": {
        pieces.push([literal]);
        literal = "";
        const numbers: string[] = [];
        for (const span of part.spans) {
          for (let n = span.lo; n <= span.hi; n++) {
            numbers.push(String(n).padStart(span.width, "0"));
            if (numbers.length * count > MAX_HOSTS) {
              throw new RangeError(
                `Cannot expand host range ${quote(item)}: more than ${MAX_HOSTS} hosts`,
              );
            }
          }
        }
        count *= numbers.length;
        pieces.push(numbers);
        break;
      }
      default: {
        const never: never = part;
        throw new TypeError(`Cannot expand host range: unknown part ${JSON.stringify(never)}`);
      }
    }
  }
  pieces.push([literal]);
  let names = [""];
  for (const piece of pieces) names = names.flatMap((head) => piece.map((p) => head + p));
  return names;
}

/**
 * Every address a comma-separated list names, ranges expanded:
 * `web[1-2].lan,db1` → `web1.lan`, `web2.lan`, `db1`.
 * @throws {SyntaxError | RangeError} As {@linkcode expandHostItem}, or the whole
 *   list exceeds {@linkcode MAX_HOSTS}.
 */
export function expandHostList(text: string): string[] {
  const out: string[] = [];
  for (const item of splitList(text)) {
    out.push(...expandHostItem(item));
    if (out.length > MAX_HOSTS) {
      throw new RangeError(`Cannot expand host list: more than ${MAX_HOSTS} hosts`);
    }
  }
  return out;
}

/**
 * The addresses of a host file's text: one or more per line (a line is a
 * list, ranges allowed), `#` starts a comment, blank lines are skipped.
 * @throws {SyntaxError | RangeError} Naming the line: `line 3: Cannot expand ...`.
 */
export function parseHostFile(text: string): string[] {
  const out: string[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    // One plain address a line (the usual file of thousands): nothing to split or expand.
    if (!SPECIAL.test(line)) {
      out.push(line);
      if (out.length > MAX_HOSTS) {
        throw new RangeError(`line ${i + 1}: more than ${MAX_HOSTS} hosts`);
      }
      continue;
    }
    try {
      out.push(...expandHostList(line));
    } catch (err) {
      if (err instanceof SyntaxError) throw new SyntaxError(`line ${i + 1}: ${err.message}`);
      if (err instanceof RangeError) throw new RangeError(`line ${i + 1}: ${err.message}`);
      throw err;
    }
    if (out.length > MAX_HOSTS) {
      throw new RangeError(`line ${i + 1}: more than ${MAX_HOSTS} hosts`);
    }
  }
  return out;
}
