/**
 * The one rule for host names, shared by the inventory, hosts typed on the
 * command line or with `connect`, and target expressions: any name a host can
 * have can be written in a target, and a target's plain name is a name a host
 * can have. Grammar layer, pure.
 * @module
 */

import { quote } from "./_quote.ts";

/** Characters of host and group names: letters, digits, `_`, `.`, `:` and `-` (not first). */
export const NAME_CHAR = /^[A-Za-z0-9_.:-]$/;

/** A whole name of name characters not starting with `-`: the common case, checked at once. */
const PLAIN_NAME = /^[A-Za-z0-9_.:][A-Za-z0-9_.:-]*$/;

/** Where and why a text is not a name: `index` is the offending character's position. */
export interface NameProblem {
  /** Code-point index of the offending character (0 for problems of the whole name). */
  index: number;
  /** What is wrong, for the end of an error message: `character "#" is not allowed`. */
  detail: string;
}

/**
 * Why `name` cannot be a host name, or undefined if it can: it must be
 * non-empty, use only letters, digits, `_`, `.`, `:` and `-`, not start with
 * `-`, and not be a word targets reserve (`all`, `group:...`).
 */
export function hostNameProblem(name: string): NameProblem | undefined {
  if (name === "") return { index: 0, detail: "it is empty" };
  const problem = nameCharsProblem(name);
  if (problem) return problem;
  const lower = name.toLowerCase();
  if (lower === "all" || lower.startsWith("group:")) {
    return { index: 0, detail: "it is reserved in targets" };
  }
  return undefined;
}

/**
 * The character rule alone (no reserved words), also used for group names in
 * targets: no leading `-`, only name characters except those in `extra`.
 */
export function nameCharsProblem(text: string, extra = ""): NameProblem | undefined {
  // `extra` only allows more characters, so a plain name has no problem whatever it holds.
  if (PLAIN_NAME.test(text)) return undefined;
  if (text.startsWith("-")) return { index: 0, detail: 'a name cannot start with "-"' };
  for (const [index, ch] of [...text].entries()) {
    if (!NAME_CHAR.test(ch) && !extra.includes(ch)) {
      return { index, detail: `character ${quote(ch)} is not allowed` };
    }
  }
  return undefined;
}
