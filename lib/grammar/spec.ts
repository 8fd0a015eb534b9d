/**
 * The shape every command module fills in: the words that invoke it, its help
 * text, its console parser and, for remote commands, its wire codec and the
 * validator of its result. Adding a
 * command means writing one module under `commands/` and listing it in
 * `command_table.ts` (a console command) or `remote_table.ts` (a remote one).
 * Grammar layer.
 * @module
 */

import type { JsonObject } from "../protocol/messages.ts";
import type {
  Command,
  ParsedLine,
  RemoteCommandOf,
  RemoteKind,
  RemoteResultOf,
} from "./command.ts";
import type { Check } from "./result_check.ts";
import type { ParamReader } from "./param_reader.ts";
import type { Token } from "./tokenize.ts";

/**
 * How a command is found in a line: `word` is a word followed by arguments
 * (`ping HOST`); `prefix` is glued to what follows, which is taken verbatim
 * (`sh: ls -l`, `+web1`).
 */
export type CommandForm = "word" | "prefix";

/** What a command's parser sees of the line; built by `parseLine`. */
export interface CommandInput {
  /** The command word or prefix as typed, lower-cased: `ping`, `shutdown`, `sh:`, `+`. */
  readonly word: string;
  /** Column of the word. */
  readonly start: number;
  /** Raw text after the word; after a prefix, without the whitespace that follows it. */
  readonly rest: string;
  /** Column where `rest` starts. */
  readonly restStart: number;
  /** Column where a missing argument belongs: just after the last word. */
  readonly end: number;
  /** `rest` split into shell-like words. */
  args(): Token[];
  /**
   * Throw a `CommandSyntaxError` `Cannot parse "WORD": DETAIL` whose expected
   * form is this command's usage, at `position` (default: `end`).
   */
  fail(detail: string, position?: number): never;
  /** Parse `rest` as a command line of its own, without a target (for `diff CMD`). */
  parseInner(): ParsedLine;
  /** The help topic a word names (`sh` → `exec`), if any. */
  topic(word: string): string | undefined;
}

/** A console command: its words, help text and parser. */
export interface CommandSpec {
  /** Canonical name; also its help topic. */
  readonly name: string;
  /** What invokes it, canonical first; lower case. Prefix-form words include their `:`. */
  readonly words: readonly string[];
  readonly form: CommandForm;
  /** Usage line such as `ping HOST [COUNT]`; the expected form of its parse errors. */
  readonly usage: string;
  /** One line for the help list. */
  readonly summary: string;
  /** A few lines for `help NAME`. */
  readonly detail: string;
  /** Whether a `@TARGET` prefix may precede it. */
  readonly targeted: boolean;
  /** Parse what follows the word; a `ParsedLine` when the arguments name a target. */
  parse(input: CommandInput): Command | ParsedLine;
}

/**
 * A command that runs on the servers, `C` the command it builds and `R` what
 * the server answers: also how it travels as JSON-RPC params. The module
 * that defines a spec declares `C` and `R`; `RemoteCommand` and
 * `RemoteResultMap` (command.ts) are derived from the table of specs
 * (remote_table.ts), so the spec is the one place a command's types live.
 */
export interface WireSpec<C extends { readonly kind: string }, R> extends RemoteSpecBase<C, R> {
  /** Only on {@linkcode MetricSpec}s. */
  readonly metric?: undefined;
}

/** What every remote spec has; see {@linkcode WireSpec} and {@linkcode MetricSpec}. */
export interface RemoteSpecBase<C extends { readonly kind: string }, R> extends CommandSpec {
  readonly kind: C["kind"];
  /** The JSON-RPC method: always the kind itself (protocol.md §4). */
  readonly method: C["kind"];
  /** Every params field the server accepts; any other field is refused. */
  readonly fields: readonly string[];
  /** The params of the request that asks for `cmd`. */
  toParams(cmd: C): JsonObject;
  /** Check received params and build the command; throws `TypeError`/`RangeError`. */
  fromParams(params: ParamReader): C;
  /** Check a server's answer before a view sees it; throws `MalformedResultError`. */
  readonly result: Check<R>;
}

/**
 * A metric: a command answered with data rather than streamed output, shown
 * as a table (`lib/client/views/metrics.ts` must have a view for each) and
 * compared by `diff` through that view.
 */
export interface MetricSpec<C extends { readonly kind: string }, R> extends RemoteSpecBase<C, R> {
  readonly metric: true;
}

/** The spec of the remote command with tag `K` (every remote command when `K` is left out). */
export type RemoteSpec<K extends RemoteKind = RemoteKind> =
  | WireSpec<RemoteCommandOf<K>, RemoteResultOf<K>>
  | MetricSpec<RemoteCommandOf<K>, RemoteResultOf<K>>;

/** The command a remote spec builds. */
export type CommandOfSpec<S> = S extends { fromParams(params: ParamReader): infer C } ? C
  : never;

/** The result a remote spec checks. */
export type ResultOfSpec<S> = S extends { readonly result: Check<infer R> } ? R : never;
