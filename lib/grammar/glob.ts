/**
 * Host-name patterns: the one owner of the glob syntax that target expressions
 * use, `*`, `?`, `[abc]`, `[a-z]`, `[!abc]` (or `[^abc]`), and the folded
 * host-list notation `compactHosts()` prints, where a bracket holding a `,` or
 * a `-` between digits is a numeric range (`web[1-3,5]`, `n[08-12]`). Grammar
 * layer, pure: `parseGlob()` checks the syntax, `compileGlob()` matches names,
 * case-insensitively like DNS names. Which characters a name may hold is the
 * host-name rule's business (`host_name.ts`), not this module's.
 * @module
 */

import { quote } from "./_quote.ts";
import type { NameProblem } from "./host_name.ts";

/** One `lo-hi` span of a numeric bracket; `width` is the zero padding (0 = none). */
export interface Span {
  /** Lowest number matched. */
  lo: number;
  /** Highest number matched. */
  hi: number;
  /** Digits the number must be written with, zero-padded; 0 for no padding. */
  width: number;
}

/** One piece of a parsed glob; `index` is where it starts in the pattern. */
export type GlobPart =
  | { kind: "star"; index: number }
  | { kind: "any"; index: number }
  | { kind: "literal"; index: number; char: string }
  | { kind: "class"; index: number; text: string; negate: boolean; members: string[] }
  | { kind: "numbers"; index: number; spans: Span[] };

/** Folded host-list notation inside brackets: `1-3,5`, `08-12`. */
const NUMERIC_RANGES = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/** The pieces of `pattern`, or where and why it is no glob. */
function scan(pattern: string): { parts: GlobPart[] } | { problem: NameProblem } {
  const parts: GlobPart[] = [];
  const fail = (index: number, detail: string) => ({ problem: { index, detail } });
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") parts.push({ kind: "star", index: i });
    else if (ch === "?") parts.push({ kind: "any", index: i });
    else if (ch === "]") return fail(i, '"]" without "["');
    else if (ch === "!" || ch === "^") return fail(i, `${quote(ch)} is only allowed after "["`);
    else if (ch !== "[") parts.push({ kind: "literal", index: i, char: ch });
    else {
      const close = pattern.indexOf("]", i + 1);
      if (close === -1) return fail(i, '"[" is never closed');
      const text = pattern.slice(i, close + 1);
      const body = pattern.slice(i + 1, close);
      const negate = /^[!^]/.test(body);
      const inner = negate ? body.slice(1) : body;
      if (inner === "") return fail(i, `"[]" matches nothing`);
      if (!negate && NUMERIC_RANGES.test(inner) && /[,-]/.test(inner)) {
        const spans: Span[] = [];
        for (const span of inner.split(",")) {
          const [loText = "", hiText = loText] = span.split("-");
          if (Number(loText) > Number(hiText)) return fail(i, `range ${quote(span)} is backwards`);
          const width = loText.length > 1 && loText.startsWith("0") ? loText.length : 0;
          spans.push({ lo: Number(loText), hi: Number(hiText), width });
        }
        parts.push({ kind: "numbers", index: i, spans });
      } else {
        const members = classMembers(inner);
        const backwards = members.find((m) => m.length === 3 && m[0]! > m[2]!);
        if (backwards) return fail(i, `range ${quote(backwards)} is backwards`);
        parts.push({ kind: "class", index: i, text, negate, members });
      }
      i = close;
    }
  }
  return { parts };
}

/** Split a bracket class body into single characters and `a-z` ranges. */
function classMembers(inner: string): string[] {
  const members: string[] = [];
  for (let i = 0; i < inner.length; i++) {
    if (inner[i + 1] === "-" && i + 2 < inner.length) {
      members.push(inner.slice(i, i + 3));
      i += 2;
    } else {
      members.push(inner[i]!);
    }
  }
  return members;
}

/** Where and why `pattern` is not a glob (an unclosed `[`, a backwards range...); undefined if it is one. */
export function globProblem(pattern: string): NameProblem | undefined {
  const result = scan(pattern);
  return "problem" in result ? result.problem : undefined;
}

/**
 * The pieces of a glob, in order.
 * @throws {SyntaxError} `Cannot parse glob "web[1": "[" is never closed` and the like.
 */
export function parseGlob(pattern: string): GlobPart[] {
  const result = scan(pattern);
  if ("parts" in result) return result.parts;
  throw new SyntaxError(`Cannot parse glob ${quote(pattern)}: ${result.problem.detail}`);
}

/** Escape a literal for use inside a RegExp (also inside a class). */
function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/**
 * Compile a glob into a predicate on names; letters match either case, and a
 * numeric bracket matches a number in one of its spans written with the
 * span's zero padding (`n[08-12]` matches `n09`, not `n9`).
 * @throws {SyntaxError} The pattern is no glob (see {@linkcode parseGlob}).
 */
export function compileGlob(pattern: string): (name: string) => boolean {
  const spanGroups: Span[][] = [];
  let source = "";
  for (const part of parseGlob(pattern)) {
    switch (part.kind) {
      case "star":
        source += ".*";
        break;
      case "any":
        source += ".";
        break;
      case "literal":
        source += escapeRegExp(part.char);
        break;
      case "class": {
        const members = part.members.map((m) =>
          m.length === 3 ? `${escapeRegExp(m[0]!)}-${escapeRegExp(m[2]!)}` : escapeRegExp(m)
        );
        source += `[${part.negate ? "^" : ""}${members.join("")}]`;
        break;
      }
      case "numbers":
        spanGroups.push(part.spans);
        source += "(\\d+)";
        break;
      default: {
        const never: never = part;
        throw new TypeError(`Cannot compile glob: unknown part ${JSON.stringify(never)}`);
      }
    }
  }
  const regexp = new RegExp(`^${source}$`, "is");
  if (spanGroups.length === 0) return (name) => regexp.test(name);
  return (name) => {
    const m = regexp.exec(name);
    if (m === null) return false;
    // Each numeric bracket captured digits; they must lie in one of its spans as written.
    return spanGroups.every((spans, k) => {
      const digits = m[k + 1] ?? "";
      const n = Number(digits);
      return spans.some((s) =>
        n >= s.lo && n <= s.hi && digits === String(n).padStart(s.width, "0")
      );
    });
  };
}
