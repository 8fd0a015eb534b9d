/**
 * System-info layer, private helper: percentages as the collectors report them.
 * @module
 */

/** `part` as a percentage of `whole`, to one decimal place, kept within 0-100 (0 for an empty whole). */
export function percent(part: number, whole: number): number {
  if (!(whole > 0) || !Number.isFinite(part)) return 0;
  const value = Math.round((part / whole) * 1000) / 10;
  return Math.min(100, Math.max(0, value));
}
