/**
 * Module-private helpers shared by the command modules: argument counting and
 * the number formats the console accepts. Grammar layer, pure.
 * @module
 */

import type { TargetExpr, TargetItem } from "../command.ts";
import type { CommandInput } from "../spec.ts";
import { parseTarget } from "../target.ts";
import type { Token } from "../tokenize.ts";
import { quote } from "../_quote.ts";

/** Refuse any argument. */
export function noArgs(input: CommandInput): void {
  atMost(input, 0);
}

/** The arguments, refusing more than `max` of them. */
export function atMost(input: CommandInput, max: number): Token[] {
  const args = input.args();
  const extra = args[max];
  if (extra) input.fail(`unexpected argument ${quote(extra.text)}`, extra.start);
  return args;
}

/**
 * A whole number written in plain decimal digits (no sign, exponent or fraction),
 * or undefined. Digits beyond the safe-integer range also give undefined.
 */
export function wholeNumber(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A decimal number such as `2`, `0.5` or `.5` (no sign or exponent), or undefined. */
export function decimalNumber(text: string): number | undefined {
  if (!/^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Words that together form one target: `use web1 db2` means `web1,db2`. */
export function targetOfWords(words: readonly Token[]): TargetExpr {
  const items: TargetItem[] = [];
  for (const word of words) items.push(...parseTarget(word.text, word.start).items);
  return { items, text: words.map((w) => w.text).join(",") };
}
