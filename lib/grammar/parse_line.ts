/**
 * The console parser: one line of what a person typed into a typed command,
 * with an optional `@TARGET` prefix. Grammar layer, pure; errors carry the
 * column and the expected form.
 *
 * A line is, after optional whitespace: nothing or a `#` comment (no command);
 * an optional `@TARGET` word; then a prefix command whose text is kept verbatim
 * (`sh: ...`, `+web1`) or a command word (case-insensitive) and its arguments,
 * split like a shell splits words.
 * @module
 */

import type { ParsedLine, TargetExpr } from "./command.ts";
import { COMMAND_WORDS, findHelp } from "./help.ts";
import { SPECS_BY_PREFIX, SPECS_BY_WORD } from "./command_table.ts";
import { CommandSyntaxError } from "./errors.ts";
import type { CommandInput, CommandSpec } from "./spec.ts";
import { parseTarget, TARGET_FORM } from "./target.ts";
import { type Token, tokenize } from "./tokenize.ts";
import { quote } from "./_quote.ts";

export { CommandSyntaxError } from "./errors.ts";
export { parseTarget } from "./target.ts";

/** The expected form when a target is not followed by a command. */
const TARGETED_FORM = "@TARGET COMMAND";
/** The expected form when the command word is unknown. */
const COMMAND_FORM = "a command; type help for the list";
/** Longest prefixes first, so no prefix can shadow a longer one. */
const PREFIXES = [...SPECS_BY_PREFIX.keys()].sort((a, b) => b.length - a.length);
/** Words worth suggesting for a typo; lone signs would only confuse. */
const SUGGESTABLE = COMMAND_WORDS.filter((w) => /^[a-z]/.test(w));
const SPACE = /\s/;

/**
 * Parse one console line.
 *
 * @returns The command and its target (absent: the current selection), or null
 *   for a blank or comment-only line.
 * @throws {CommandSyntaxError} The line does not parse; `position` is its column.
 */
export function parseLine(line: string): ParsedLine | null {
  // Tolerate the terminator a line reader may leave; a break inside is a paste accident.
  const text = line.replace(/(?:\r\n|\n|\r)$/, "");
  const lineBreak = text.search(/[\r\n]/);
  if (lineBreak !== -1) {
    throw new CommandSyntaxError("Cannot parse line: it holds a line break", lineBreak, "one line");
  }
  const start = skipSpace(text, 0);
  if (start === text.length || text[start] === "#") return null;
  if (text[start] !== "@") return parseCommandAt(text, start).line;

  const targetEnd = wordEnd(text, start);
  const targetText = text.slice(start + 1, targetEnd);
  if (targetText === "") {
    throw new CommandSyntaxError(
      'Cannot parse target: nothing follows "@"',
      start + 1,
      TARGET_FORM,
    );
  }
  const target: TargetExpr = parseTarget(targetText, start + 1);
  const commandStart = skipSpace(text, targetEnd);
  if (commandStart === text.length) {
    throw new CommandSyntaxError(
      `Cannot parse ${quote(`@${targetText}`)}: a command must follow the target`,
      commandStart,
      TARGETED_FORM,
    );
  }
  const { spec, input, line: parsed } = parseCommandAt(text, commandStart);
  if (!spec.targeted) {
    throw new CommandSyntaxError(
      `Cannot parse ${quote(input.word)}: it takes no @TARGET prefix`,
      start,
      spec.usage,
    );
  }
  if (parsed.target) {
    input.fail("the target is given twice", input.args()[0]?.start ?? input.restStart);
  }
  return { target, command: parsed.command };
}

/** Find the command at column `pos` of `text` and run its parser. */
function parseCommandAt(
  text: string,
  pos: number,
): { spec: CommandSpec; input: CommandInput; line: ParsedLine } {
  const lower = text.slice(pos).toLowerCase();
  const prefix = PREFIXES.find((p) => lower.startsWith(p));
  let spec: CommandSpec | undefined;
  let word: string;
  let restStart: number;
  if (prefix !== undefined) {
    spec = SPECS_BY_PREFIX.get(prefix);
    word = prefix;
    restStart = skipSpace(text, pos + prefix.length);
  } else {
    restStart = wordEnd(text, pos);
    word = text.slice(pos, restStart).toLowerCase();
    spec = SPECS_BY_WORD.get(word);
  }
  if (spec === undefined) throw unknownCommand(text.slice(pos, restStart), pos);
  const input = makeInput(spec, word, text, pos, restStart);
  const result = spec.parse(input);
  // A Command has a `kind`; a ParsedLine (a command with a target argument) has none.
  return { spec, input, line: "kind" in result ? { command: result } : result };
}

function makeInput(
  spec: CommandSpec,
  word: string,
  text: string,
  start: number,
  restStart: number,
): CommandInput {
  const rest = text.slice(restStart);
  // Just past the last word: where a missing argument would have gone.
  const end = Math.min(text.length, text.trimEnd().length + 1);
  let args: Token[] | undefined;
  return {
    word,
    start,
    rest,
    restStart,
    end,
    args: () => args ??= tokenize(rest, restStart, quote(word)),
    fail(detail: string, position = end): never {
      throw new CommandSyntaxError(`Cannot parse ${quote(word)}: ${detail}`, position, spec.usage);
    },
    parseInner: () => parseCommandAt(text, skipSpace(text, restStart)).line,
    topic: (topic: string) => findHelp(topic)?.name,
  };
}

function unknownCommand(word: string, position: number): CommandSyntaxError {
  const hint = closestWord(word.toLowerCase());
  const message = hint === undefined
    ? `Unknown command ${quote(word)}`
    : `Unknown command ${quote(word)}: did you mean ${quote(hint)}?`;
  return new CommandSyntaxError(message, position, COMMAND_FORM);
}

/** The known word nearest to `word`, if it is at most 2 edits away and not a wholesale rewrite. */
function closestWord(word: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of SUGGESTABLE) {
    const d = editDistance(word, candidate);
    if (d < bestDistance && d < word.length) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Edits (insert, delete, substitute, swap adjacent) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  // Rows of the optimal-string-alignment table; two previous rows suffice.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, before[j - 2]! + 1);
      }
      row.push(d);
    }
    [before, previous] = [previous, row];
  }
  return previous[b.length]!;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && SPACE.test(text[i]!)) i++;
  return i;
}

function wordEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && !SPACE.test(text[i]!)) i++;
  return i;
}
