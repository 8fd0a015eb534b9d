/**
 * The console's own small commands: `help [COMMAND]`, `hosts` and `exit`
 * (alias `quit`). Grammar layer.
 * @module
 */

import type { CommandSpec } from "../spec.ts";
import { quote } from "../_quote.ts";
import { atMost, noArgs } from "./_args.ts";

/** `help [COMMAND]`. */
export const HELP: CommandSpec = {
  name: "help",
  words: ["help", "?"],
  form: "word",
  usage: "help [COMMAND]",
  summary: "List the commands, or explain one",
  detail: "Without an argument, lists every command. With one, shows its usage and\n" +
    "details; try help ping, help sh: or help target.",
  targeted: false,
  parse(input) {
    const [word] = atMost(input, 1);
    if (!word) return { kind: "help" };
    const topic = input.topic(word.text);
    if (topic === undefined) return input.fail(`no help topic ${quote(word.text)}`, word.start);
    return { kind: "help", topic };
  },
};

/** `hosts`. */
export const HOSTS: CommandSpec = {
  name: "hosts",
  words: ["hosts"],
  form: "word",
  usage: "hosts",
  summary: "List the servers, their state and groups",
  detail: "Lists every known server with its address, connection state and groups,\n" +
    "marking the selected ones. With a target (@db* hosts), only those.",
  targeted: true,
  parse(input) {
    noArgs(input);
    return { kind: "hosts" };
  },
};

/** `exit`, alias `quit`. */
export const EXIT: CommandSpec = {
  name: "exit",
  words: ["exit", "quit"],
  form: "word",
  usage: "exit",
  summary: "Leave the console (alias quit)",
  detail: "Closes every connection and leaves. The servers keep running.",
  targeted: false,
  parse(input) {
    noArgs(input);
    return { kind: "exit" };
  },
};
