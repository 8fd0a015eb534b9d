/**
 * Durations as both programs take them on their command lines: `10s`,
 * `500ms`, or a plain number of seconds (`1.5`). Shared by `rmon`'s timeouts
 * and `rmon-server --auth-timeout`, so one habit works everywhere. Pure.
 * @module
 */

const DURATION = /^(\d+(?:\.\d*)?|\.\d+)(ms|s)?$/;

/**
 * Milliseconds from `10s`, `500ms` or plain seconds (`2`, `0.5`), rounded to
 * a whole millisecond. Throws SyntaxError for other text and RangeError for
 * zero (or what rounds to it): a timeout of nothing is never meant.
 */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) {
    throw new SyntaxError(`"${text}" is not a duration: write seconds (10, 1.5), 10s or 500ms`);
  }
  const value = Number(m[1]);
  const ms = Math.round(m[2] === "ms" ? value : value * 1000);
  if (!Number.isFinite(ms) || ms < 1) throw new RangeError(`"${text}" is not a positive duration`);
  return ms;
}
