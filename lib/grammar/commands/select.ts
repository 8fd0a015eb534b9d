/**
 * Selection edits, as in clush's console: `+web1,web2` adds servers to the
 * selection and `-db*` removes them. The sign is a prefix; names and globs
 * follow, separated by commas or spaces. Grammar layer.
 * @module
 */

import type { CommandInput, CommandSpec } from "../spec.ts";
import { parseTarget } from "../target.ts";
import { quote } from "../_quote.ts";

/** The names and globs after the sign; groups, `all`, exclusions and intersections make no sense here. */
function names(input: CommandInput): string[] {
  const args = input.args();
  if (args.length === 0) return input.fail("expected a name or glob");
  const result: string[] = [];
  for (const arg of args) {
    for (const item of parseTarget(arg.text, arg.start).items) {
      if (item.op !== "add" || (item.kind !== "name" && item.kind !== "glob")) {
        return input.fail(`${quote(arg.text)} is not a list of names or globs`, arg.start);
      }
      result.push(item.value);
    }
  }
  return result;
}

/** `+NAME[,NAME...]`. */
export const SELECT_ADD: CommandSpec = {
  name: "select-add",
  words: ["+"],
  form: "prefix",
  usage: "+NAME[,NAME...]",
  summary: "Add servers to the selection",
  detail: "Adds the named servers to the selection; globs work: +web*,db1",
  targeted: false,
  parse: (input) => ({ kind: "select-add", names: names(input) }),
};

/** `-NAME[,NAME...]`. */
export const SELECT_REMOVE: CommandSpec = {
  name: "select-remove",
  words: ["-"],
  form: "prefix",
  usage: "-NAME[,NAME...]",
  summary: "Remove servers from the selection",
  detail: "Removes the named servers from the selection; globs work: -web3,db*",
  targeted: false,
  parse: (input) => ({ kind: "select-remove", names: names(input) }),
};
