/**
 * Strict reading of a request's `params` on the server: a plain object of own
 * data fields, only the fields a command declares, each of the right type.
 * Grammar layer; `params.ts` uses it, command modules read their fields with it.
 *
 * Fields are copied out once by own-key enumeration, so inherited properties,
 * getters and keys such as `__proto__` or `constructor` can never stand in for
 * a field: they are either ignored (inherited) or refused as unknown (own).
 * @module
 */

import { ParamsRangeError, ParamsTypeError, TooLargeError } from "../protocol/errors.ts";
import { isRequestId } from "../protocol/codec.ts";
import type { RequestId } from "../protocol/messages.ts";
import { describeValue, quote } from "./_quote.ts";

/** Reads and checks the fields of one request's params; every failure names the method. */
export class ParamReader {
  /** The method whose params these are, for messages. */
  readonly method: string;
  readonly #fields = new Map<string, unknown>();
  readonly #allowed: ReadonlySet<string>;

  /**
   * Take `params` apart. Absent params (`undefined`) count as `{}`.
   *
   * @param allowed The only field names the method accepts.
   * @throws {TypeError} `params` is not a plain object, or has a field not in `allowed`.
   */
  constructor(method: string, params: unknown, allowed: readonly string[]) {
    this.method = method;
    this.#allowed = new Set(allowed);
    if (params === undefined) return;
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      throw this.typeError(`params must be an object, got ${describeValue(params)}`);
    }
    const proto = Object.getPrototypeOf(params);
    if (proto !== Object.prototype && proto !== null) {
      throw this.typeError("params must be a plain object");
    }
    for (const key of Reflect.ownKeys(params)) {
      if (typeof key !== "string" || !this.#allowed.has(key)) {
        throw this.typeError(`unexpected field ${quote(String(key))}`);
      }
      const descriptor = Object.getOwnPropertyDescriptor(params, key);
      if (descriptor === undefined || !("value" in descriptor)) {
        throw this.typeError(`field ${quote(key)} is not plain data`);
      }
      // An own field holding `undefined` (only possible from JS callers) counts as absent.
      if (descriptor.value !== undefined) this.#fields.set(key, descriptor.value);
    }
  }

  /** A required string field. */
  string(key: string): string {
    const value = this.#get(key);
    if (value === undefined) throw this.typeError(`field ${quote(key)} is missing`);
    if (typeof value !== "string") {
      throw this.typeError(`field ${quote(key)} must be a string, got ${describeValue(value)}`);
    }
    return value;
  }

  /** An optional whole-number field of at least `min` (default 1) and at most `max`. */
  optionalInteger(key: string, max = Number.MAX_SAFE_INTEGER, min = 1): number | undefined {
    const value = this.#get(key);
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      throw this.typeError(
        `field ${quote(key)} must be a whole number, got ${describeValue(value)}`,
      );
    }
    if (value < min || value > max) {
      throw this.rangeError(`field ${quote(key)} must be ${min}-${max}, got ${value}`);
    }
    return value;
  }

  /** An optional boolean field. */
  optionalBoolean(key: string): boolean | undefined {
    const value = this.#get(key);
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") {
      throw this.typeError(
        `field ${quote(key)} must be true or false, got ${describeValue(value)}`,
      );
    }
    return value;
  }

  /** A required request id field: a safe integer or a string of at most 64 characters. */
  requestId(key: string): RequestId {
    const value = this.#get(key);
    if (value === undefined) throw this.typeError(`field ${quote(key)} is missing`);
    if (!isRequestId(value)) {
      throw this.typeError(
        `field ${quote(key)} must be a request id (a whole number or a string of at most 64 ` +
          `characters), got ${describeValue(value)}`,
      );
    }
    return value;
  }

  /** A params error (a `TypeError`) for a field of the wrong type: `Cannot run "ping": <detail>`. */
  typeError(detail: string): ParamsTypeError {
    return new ParamsTypeError(`Cannot run ${quote(this.method)}: ${detail}`);
  }

  /** A params error (a `RangeError`) for a value that is not allowed: `Cannot run "ping": <detail>`. */
  rangeError(detail: string): ParamsRangeError {
    return new ParamsRangeError(`Cannot run ${quote(this.method)}: ${detail}`);
  }

  /** A `TooLargeError` for a field over a size limit (answered `tooLarge`): `Cannot run "exec": <detail>`. */
  tooLargeError(detail: string): TooLargeError {
    return new TooLargeError(`Cannot run ${quote(this.method)}: ${detail}`);
  }

  #get(key: string): unknown {
    // Reading an undeclared field is a bug in the command module, not bad input.
    if (!this.#allowed.has(key)) throw new Error(`Field ${quote(key)} is not declared`);
    return this.#fields.get(key);
  }
}
