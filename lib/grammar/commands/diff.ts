/**
 * `diff COMMAND`: run a remote command and show where the servers' answers
 * differ. COMMAND is parsed as a line of its own, so `diff sh: uname -r` keeps
 * the exec text verbatim. Grammar layer.
 * @module
 */

import { isRemote } from "../command.ts";
import type { CommandSpec } from "../spec.ts";
import { quote } from "../_quote.ts";

/** Commands whose answers are about the connection, not the machine: nothing to compare. */
const NOT_COMPARABLE: ReadonlySet<string> = new Set(["disconnect", "reset", "kill"]);

/** `diff COMMAND`. */
export const DIFF: CommandSpec = {
  name: "diff",
  words: ["diff"],
  form: "word",
  usage: "diff COMMAND",
  summary: "Run a command and show how the servers' answers differ",
  detail: "Runs COMMAND (a metric, ping or exec) on the servers, groups identical\n" +
    "answers and shows how the others differ from the most common one: a\n" +
    "metric field by field, exec output as a unified diff (--- the common\n" +
    "hosts, +++ the others). When all agree, it shows the common answer.\n" +
    "Also in one-shot mode: rmon HOSTS -- diff os\n" +
    "Examples: diff os   diff sh: uname -r",
  targeted: true,
  parse(input) {
    if (input.rest.trim() === "") return input.fail("expected a command to compare");
    const column = input.restStart + input.rest.length - input.rest.trimStart().length;
    if (input.rest.trimStart().startsWith("@")) {
      return input.fail("a target goes first, as in @web* diff os", column);
    }
    const inner = input.parseInner();
    if (inner.target || !isRemote(inner.command) || NOT_COMPARABLE.has(inner.command.kind)) {
      return input.fail(
        `cannot compare ${quote(inner.command.kind)}: expected a metric, ping or exec`,
        column,
      );
    }
    return { kind: "diff", command: inner.command };
  },
};
