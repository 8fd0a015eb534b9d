/**
 * Errors of the command grammar: a console line that does not parse, and a
 * request naming a method that is not a command. Grammar layer.
 * @module
 */

import { ProtocolError } from "../protocol/errors.ts";
import { ERROR_CODES } from "../protocol/constants.ts";
import { quote } from "./_quote.ts";

/** A console line that does not parse; says where and what was expected there. */
export class CommandSyntaxError extends SyntaxError {
  /** 0-based column (UTF-16 index) in the input line where the problem is. */
  readonly position: number;
  /** The expected form at that point, e.g. `ping HOST [COUNT]`. */
  readonly expected: string;
  /** Create a syntax error at `position` expecting `expected`. */
  constructor(message: string, position: number, expected: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CommandSyntaxError";
    this.position = position;
    this.expected = expected;
  }
}

/**
 * A request named a method that is not a command (see `parseParams`). A
 * `ProtocolError` with code `methodNotFound`, so `toErrorObject` answers it as such.
 */
export class UnknownMethodError extends ProtocolError {
  /** The method name as received. */
  readonly method: string;
  /** Create an unknown-method error for `method`. */
  constructor(method: string, options?: ErrorOptions) {
    super(`Cannot run ${quote(method)}: unknown method`, ERROR_CODES.methodNotFound, options);
    this.name = "UnknownMethodError";
    this.method = method;
  }
}

/**
 * Two lines for people: the input (tabs shown as spaces, so columns line up) and
 * a caret under the error's position followed by the message.
 */
export function describeSyntaxError(line: string, err: CommandSyntaxError): string {
  const shown = line.replaceAll("\t", " ").replace(/[\r\n]+$/, "");
  const column = Math.min(err.position, shown.length);
  return `${shown}\n${" ".repeat(column)}^ ${err.message} (expected: ${err.expected})`;
}
