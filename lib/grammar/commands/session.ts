/**
 * The console's own small commands: `help [COMMAND]`, `hosts` and `exit`
 * (alias `quit`). Grammar layer.
 * @module
 */

import type { CommandSpec } from "../spec.ts";
import { quote } from "../_quote.ts";
import { atMost, noArgs, targetOfWords } from "./_args.ts";

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

/** `hosts [TARGET]`. */
export const HOSTS: CommandSpec = {
  name: "hosts",
  words: ["hosts"],
  form: "word",
  usage: "hosts [TARGET]",
  summary: "List the servers, their state and groups",
  detail: "Lists every known server with its address, connection state and groups,\n" +
    "marking the selected ones. With a target (hosts db*, or @db* hosts), only\n" +
    "those; a target naming one server shows it in full (the whole error, the\n" +
    "certificate fingerprint). Example: hosts web1",
  targeted: true,
  parse(input) {
    const args = input.args();
    if (args.length === 0) return { kind: "hosts" };
    return { kind: "hosts", target: targetOfWords(args) };
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
