/**
 * `web [ADDR:PORT] [read-only]` and `web stop`: the console's fleet on a live
 * page (as `rmon web` serves it), started beside the prompt. Grammar layer;
 * the address is checked when the server starts.
 * @module
 */

import type { CommandSpec } from "../spec.ts";
import { quote } from "../_quote.ts";

/** `web [ADDR:PORT] [read-only]`, `web stop` (the usage line is kept short for the help table). */
export const WEB: CommandSpec = {
  name: "web",
  words: ["web"],
  form: "word",
  usage: "web [ADDR:PORT|stop]",
  summary: "Serve the fleet on a live web page beside the prompt",
  detail: "Prints the page's address with a one-time token (default 127.0.0.1:8090,\n" +
    "loopback only; rmon web --help has the HTTPS options). With read-only the page\n" +
    "cannot run exec, kill or reset. web again prints a fresh address.\n" +
    "Examples: web   web 127.0.0.1:9000 read-only   web stop",
  targeted: false,
  parse(input) {
    let listen: string | undefined;
    let readOnly = false;
    const args = input.args();
    if (args.length === 1 && args[0]!.text.toLowerCase() === "stop") {
      return { kind: "web", action: "stop", readOnly: false };
    }
    for (const arg of args) {
      if (arg.text.toLowerCase() === "read-only") readOnly = true;
      else if (listen === undefined && arg.text.includes(":")) listen = arg.text;
      else return input.fail(`unexpected argument ${quote(arg.text)}`, arg.start);
    }
    return listen === undefined
      ? { kind: "web", action: "start", readOnly }
      : { kind: "web", action: "start", listen, readOnly };
  },
};
