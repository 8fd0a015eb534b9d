/**
 * Shell-like word splitting of console arguments, keeping each word's column
 * so parse errors can point at it. Grammar layer, pure.
 *
 * Words are separated by whitespace; `'...'` and `"..."` quote spaces and each
 * other, and quoted parts glue to their neighbours (`a"b c"` is one word). There
 * are no escapes: a backslash is an ordinary character (Windows paths stay intact).
 * @module
 */

import { CommandSyntaxError } from "./errors.ts";

/** One word of input and where it was. */
export interface Token {
  /** The word with quotes removed. */
  text: string;
  /** Column of its first character (its opening quote, if quoted). */
  start: number;
  /** Column just past its last character. */
  end: number;
  /** Whether any part of it was quoted (so `""` is an empty word, not nothing). */
  quoted: boolean;
}

const SPACE = /\s/;

/**
 * Split `text` into words.
 *
 * @param offset Column of `text[0]` in the whole line; added to every position.
 * @param label What is being parsed, for error messages (default `line`).
 * @throws {CommandSyntaxError} A quote is never closed.
 */
export function tokenize(text: string, offset = 0, label = "line"): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && SPACE.test(text[i]!)) i++;
    if (i === text.length) break;
    const start = i;
    let word = "";
    let quoted = false;
    while (i < text.length && !SPACE.test(text[i]!)) {
      const ch = text[i]!;
      if (ch === '"' || ch === "'") {
        const close = text.indexOf(ch, i + 1);
        if (close === -1) {
          const which = ch === '"' ? "double" : "single";
          throw new CommandSyntaxError(
            `Cannot parse ${label}: ${which} quote is never closed`,
            offset + i,
            `a closing ${ch}`,
          );
        }
        word += text.slice(i + 1, close);
        quoted = true;
        i = close + 1;
      } else {
        word += ch;
        i++;
      }
    }
    tokens.push({ text: word, start: offset + start, end: offset + i, quoted });
  }
  return tokens;
}
