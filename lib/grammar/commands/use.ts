/**
 * `use TARGET`: replace the selection, the servers that commands without a
 * `@TARGET` prefix go to. Grammar layer.
 * @module
 */

import type { CommandSpec } from "../spec.ts";
import { targetOfWords } from "./_args.ts";

/** `use TARGET`. */
export const USE: CommandSpec = {
  name: "use",
  words: ["use"],
  form: "word",
  usage: "use TARGET",
  summary: "Select the servers that later commands go to",
  detail: "Replaces the selection with the servers TARGET names (see help target).\n" +
    "Examples: use all   use web*,-web3   use group:db",
  targeted: false,
  parse(input) {
    const args = input.args();
    if (args.length === 0) return input.fail("expected a target");
    return { kind: "use", target: targetOfWords(args) };
  },
};
