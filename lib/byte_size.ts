/**
 * Sizes as people write them on a command line: `1048576`, `512k`, `10m`,
 * `1g` (binary units: k = 1024 bytes; an optional `b`/`ib`, any case).
 * Shared by both programs' option parsers; pure.
 * @module
 */

const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/**
 * The number of bytes `text` means.
 * @throws {RangeError} `text` is not a whole number with an optional unit, or is
 *   beyond 2^53 − 1 bytes.
 */
export function parseByteSize(text: string): number {
  const m = /^([0-9]+)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (m === null) {
    throw new RangeError(`Cannot read size "${text}": expected a number with k, m, g or t`);
  }
  const n = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(n)) throw new RangeError(`Cannot read size "${text}": too large`);
  return n;
}
