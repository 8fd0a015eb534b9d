/**
 * Module-private helpers that put user-supplied values into error messages:
 * quoted, escaped and cut short, so a hostile value cannot flood a log.
 * @module
 */

/** Longest part of a value shown in a message, in UTF-16 units. */
const MAX_SHOWN = 40;

/** A string as a double-quoted, escaped literal, cut at `MAX_SHOWN` characters. */
export function quote(value: string): string {
  return JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value);
}

/** A short description of any JSON value for "got ..." details. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return quote(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value;
}
