/**
 * The shape every command module fills in: the words that invoke it, its help
 * text, its console parser and, for remote commands, its wire codec and the
 * validator of its result. Adding a
 * command means writing one module under `commands/` and listing it in
 * `command_table.ts`. Grammar layer.
 * @module
 */

import type { MethodName } from "../protocol/constants.ts";
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

/** A command that runs on the servers: also how it travels as JSON-RPC params. */
export interface RemoteSpec<K extends RemoteKind = RemoteKind> extends CommandSpec {
  readonly kind: K;
  readonly method: MethodName;
  /** Every params field the server accepts; any other field is refused. */
  readonly fields: readonly string[];
  /** The params of the request that asks for `cmd`. */
  toParams(cmd: RemoteCommandOf<K>): JsonObject;
  /** Check received params and build the command; throws `TypeError`/`RangeError`. */
  fromParams(params: ParamReader): RemoteCommandOf<K>;
  /** Check a server's answer before a view sees it; throws `MalformedResultError`. */
  readonly result: Check<RemoteResultOf<K>>;
}
