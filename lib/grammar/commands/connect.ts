/**
 * `connect ADDR...`: open connections to more servers. Each ADDR is
 * `host[:port]`, `[v6]:port` or a bare IPv6 literal. Grammar layer.
 * @module
 */

import { DEFAULT_PORT } from "../../protocol/constants.ts";
import { addressProblem } from "../address.ts";
import type { CommandSpec } from "../spec.ts";
import { quote } from "../_quote.ts";

/** `connect ADDR...`. */
export const CONNECT: CommandSpec = {
  name: "connect",
  words: ["connect"],
  form: "word",
  usage: "connect ADDR...",
  summary: "Connect to more servers (ADDR is host[:port] or [v6]:port)",
  detail: `Connects to each ADDR, port ${DEFAULT_PORT} unless given, and adds it to\n` +
    "the selection. Addresses are separated by spaces or commas. Example:\n" +
    "  connect web1 10.0.0.7:6000 [2001:db8::7]:6000\n" +
    "A server already in the fleet is not added twice (localhost:7101 is\n" +
    "127.0.0.1:7101): connect says under which name, and reconnects it if it is down.",
  targeted: false,
  parse(input) {
    const addresses: string[] = [];
    for (const arg of input.args()) {
      let column = arg.start;
      for (const part of arg.text.split(",")) {
        const problem = addressProblem(part);
        if (problem) {
          return input.fail(
            part === "" ? "an address is empty" : `address ${quote(part)}: ${problem}`,
            column,
          );
        }
        addresses.push(part);
        column += part.length + 1;
      }
    }
    if (addresses.length === 0) return input.fail("expected at least one address");
    return { kind: "connect", addresses };
  },
};
