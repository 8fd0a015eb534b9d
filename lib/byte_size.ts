/**
 * Byte sizes as command lines take them: a whole number of bytes (`1048576`)
 * or with a binary unit (`64k`, `1m`, `2g`; `KiB`, `MiB`, `GiB` and `kb`, `mb`,
 * `gb` too, all powers of 1024). Used by `rmon --max-record-output`. Pure.
 * @module
 */

const SIZE = /^(\d+)\s*(?:([kmg])(?:i?b)?|b)?$/i;

const UNIT: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * Bytes from `64k`, `1m`, `1MiB` or a plain count (`0` included). Throws
 * SyntaxError for other text and RangeError for a size past 2^53 − 1.
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
