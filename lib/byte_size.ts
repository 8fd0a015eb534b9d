/**
 * Byte sizes as command lines take them: a whole number of bytes (`1048576`)
 * or with a binary unit (`64k`, `1m`, `2g`, `1t`; `KiB`, `MiB`, `GiB` and `kb`,
 * `mb`, `gb` too, all powers of 1024). Shared by both programs' option parsers
 * (`--max-upload`, `--max-record-output`); pure.
 * @module
 */

const SIZE = /^(\d+)\s*(?:([kmgt])(?:i?b)?|b)?$/i;

const UNIT: Readonly<Record<string, number>> = {
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/**
 * Bytes from `64k`, `1m`, `1MiB` or a plain count (`0` included).
 * @throws {SyntaxError} `text` is not a whole number with an optional unit.
 * @throws {RangeError} the size is past 2^53 − 1 bytes.
 */
export function parseByteSize(text: string): number {
  const m = SIZE.exec(text.trim());
  if (!m) {
    throw new SyntaxError(`"${text}" is not a size: write bytes (65536) or 64k, 1m, 2g`);
  }
  const bytes = Number(m[1]) * (m[2] === undefined ? 1 : UNIT[m[2].toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`"${text}" is too large a size`);
  return bytes;
}
