/**
 * `forget TARGET`: remove servers from the console's fleet, typically a dead
 * or mistyped host that would otherwise stay `lost` for ever. Grammar layer.
 * @module
 */

import type { CommandSpec } from "../spec.ts";
import { targetOfWords } from "./_args.ts";

/** `forget TARGET`. */
export const FORGET: CommandSpec = {
  name: "forget",
  words: ["forget"],
  form: "word",
  usage: "forget TARGET",
  summary: "Remove servers from the fleet (a dead or mistyped host)",
  detail: "Closes the connections to the servers TARGET names (see help target) and\n" +
    "removes them from the fleet, the selection and completion; the servers\n" +
    "keep running. connect ADDR brings one back. disconnect of a server that is\n" +
    "not connected (lost, refused) forgets it too. Example: forget 10.0.0.99",
  targeted: false,
  parse(input) {
    const args = input.args();
    if (args.length === 0) return input.fail("expected a target");
    return { kind: "forget", target: targetOfWords(args) };
  },
};
