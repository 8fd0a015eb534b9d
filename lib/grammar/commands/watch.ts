/**
 * `watch [SECONDS] [COLUMNS]`: a live table of the selected servers, refreshed
 * every SECONDS. Grammar layer.
 * @module
 */

import type { CommandInput, CommandSpec } from "../spec.ts";
import type { Token } from "../tokenize.ts";
import { quote } from "../_quote.ts";
import { decimalNumber } from "./_args.ts";

/** The columns `watch` can show, in their default order. */
export const WATCH_COLUMNS = ["cpu", "ram", "load", "disk", "net", "uptime", "state"] as const;

/** One column of the `watch` table. */
export type WatchColumn = typeof WATCH_COLUMNS[number];

/** Interval bounds of `watch`, in seconds. */
export const WATCH_SECONDS = {
  default: 2,
  /** Below this, refreshes would mostly measure the monitoring itself. */
  min: 0.1,
  max: 24 * 60 * 60,
} as const;

const COLUMNS: ReadonlySet<string> = new Set(WATCH_COLUMNS);
const RANGE = `${WATCH_SECONDS.min}-${WATCH_SECONDS.max}`;

/** `watch [SECONDS] [COLUMNS]`. */
export const WATCH: CommandSpec = {
  name: "watch",
  words: ["watch"],
  form: "word",
  usage: "watch [SECONDS] [COLUMNS]",
  summary:
    `Show a live table of the servers, refreshed every SECONDS (default ${WATCH_SECONDS.default})`,
  detail: `SECONDS may be fractional, ${RANGE}. COLUMNS is a comma list of\n` +
    `${WATCH_COLUMNS.join(", ")} (default: all).\n` +
    "net is bytes per second in and out. Example: watch 5 cpu,net",
  targeted: true,
  parse(input) {
    let seconds: number | undefined;
    let columns: string[] | undefined;
    // Either order works: a word that looks numeric is the interval, others list columns.
    for (const arg of input.args()) {
      if (/^[-+]?[0-9.]/.test(arg.text)) {
        if (seconds !== undefined) {
          return input.fail(`unexpected argument ${quote(arg.text)}`, arg.start);
        }
        seconds = interval(input, arg);
      } else {
        columns = addColumns(input, arg, columns ?? []);
      }
    }
    const intervalSeconds = seconds ?? WATCH_SECONDS.default;
    return columns === undefined
      ? { kind: "watch", intervalSeconds }
      : { kind: "watch", intervalSeconds, columns };
  },
};

function interval(input: CommandInput, arg: Token): number {
  const seconds = decimalNumber(arg.text);
  if (seconds === undefined) {
    return input.fail(`interval ${quote(arg.text)} is not a positive number`, arg.start);
  }
  if (seconds < WATCH_SECONDS.min || seconds > WATCH_SECONDS.max) {
    return input.fail(`interval ${quote(arg.text)} is outside ${RANGE} seconds`, arg.start);
  }
  return seconds;
}

function addColumns(input: CommandInput, arg: Token, columns: string[]): string[] {
  let column = arg.start;
  for (const part of arg.text.split(",")) {
    const name = part.toLowerCase();
    if (part === "") return input.fail("a column is empty", column);
    if (!COLUMNS.has(name)) return input.fail(`unknown column ${quote(part)}`, column);
    if (columns.includes(name)) return input.fail(`column ${quote(part)} is given twice`, column);
    columns.push(name);
    column += part.length + 1;
  }
  return columns;
}
