/**
 * Checking what a server sent before a view sees it: small typed validators
 * (`num`, `str`, `object({...})`, `arrayOf(...)`) that each command spec
 * composes into the validator of its result. A validator returns the value
 * typed, or throws `MalformedResultError` naming the path of the first bad
 * field. Extra fields are allowed (newer servers may add some). Grammar layer,
 * pure.
 * @module
 */

import type { CallEnd, PingResult, PingStats } from "../protocol/messages.ts";

/** A result field was missing or of the wrong type. */
export class MalformedResultError extends TypeError {
  /** Create one for the field at `path` (`result.loadAvg[2]`). */
  constructor(path: string, expected: string) {
    super(`Malformed answer: ${path} is not ${expected}`);
    this.name = "MalformedResultError";
  }
}

/** Checks an unknown value at `path` and returns it typed. */
export type Check<T> = (value: unknown, path: string) => T;

/** A finite number. */
export function num(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new MalformedResultError(path, "a number");
  }
  return v;
}

/** A string. */
export function str(v: unknown, path: string): string {
  if (typeof v !== "string") throw new MalformedResultError(path, "a string");
  return v;
}

/** A boolean. */
export function bool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") throw new MalformedResultError(path, "true or false");
  return v;
}

/** One of the given strings. */
export function oneOf<const T extends string>(...values: T[]): Check<T> {
  return (v, path) => {
    if (typeof v !== "string" || !(values as string[]).includes(v)) {
      throw new MalformedResultError(path, `one of ${values.join(", ")}`);
    }
    return v as T;
  };
}

/** `check`, or null. */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, path) => v === null ? null : check(v, path);
}

/** `check`, or absent (undefined). */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (v, path) => v === undefined ? undefined : check(v, path);
}

/** An array whose every item passes `item`. */
export function arrayOf<T>(item: Check<T>): Check<T[]> {
  return (v, path) => {
    if (!Array.isArray(v)) throw new MalformedResultError(path, "a list");
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };
}

/** A fixed-length tuple of numbers (`loadAvg`). */
export function numbers<N extends number>(length: N): Check<number[] & { length: N }> {
  return (v, path) => {
    const list = arrayOf(num)(v, path);
    if (list.length !== length) throw new MalformedResultError(path, `${length} numbers`);
    return list as number[] & { length: N };
  };
}

/** The validators of an object's fields: one for every field of `T`, optional ones included. */
export type FieldChecks<T> = { readonly [K in keyof T]-?: Check<T[K]> };

/** An object whose listed fields pass their checks (a missing field is checked as undefined). */
export function object<T>(fields: FieldChecks<T>): Check<T> {
  return (v, path) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new MalformedResultError(path, "an object");
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(fields) as (keyof T & string)[]) {
      const value = fields[key]((v as Record<string, unknown>)[key], `${path}.${key}`);
      if (value !== undefined) out[key] = value; // an absent optional field stays absent
    }
    return out as T;
  };
}

/** The end of a streaming call (`exec`, `ping`): how its process ended. */
export const CALL_END: Check<CallEnd> = object<CallEnd>({
  exitCode: nullable(num),
  signal: nullable(str),
  durationMs: num,
  truncated: bool,
  droppedBytes: num,
});

/** A ping run's figures (loss 0-100; round-trip times null without replies). */
export const PING_STATS: Check<PingStats> = object<PingStats>({
  sent: num,
  received: num,
  lossPercent: num,
  rttMinMs: nullable(num),
  rttAvgMs: nullable(num),
  rttMaxMs: nullable(num),
});

/** `ping`'s answer: a CallEnd, plus its figures (`stats`, absent from older servers). */
export const PING_RESULT: Check<PingResult> = object<PingResult>({
  exitCode: nullable(num),
  signal: nullable(str),
  durationMs: num,
  truncated: bool,
  droppedBytes: num,
  stats: optional(nullable(PING_STATS)),
});

/** The literal `true`. */
export function yes(v: unknown, path: string): true {
  if (v !== true) throw new MalformedResultError(path, "true");
  return true;
}
