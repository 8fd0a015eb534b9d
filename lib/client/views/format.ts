/**
 * Humanised numbers for the views: sizes in binary units, percentages,
 * durations and uptimes. Client view layer; pure. Values that are not finite
 * numbers (a malformed or missing field) render as `-`.
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/** What every formatter prints for a value it cannot show. */
export const MISSING = "-";

/**
 * A byte count in binary units: `0 B`, `512 MiB`, `15.6 GiB`. Below 100 of a
 * unit one decimal is shown, from 100 on none, so widths stay steady.
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return MISSING;
  if (n < 0) return `-${formatBytes(-n)}`;
  if (n < 1024) return `${Math.round(n)} B`;
  let unit = 0;
  let value = n;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  let text = value.toFixed(1);
  if (Number(text) >= 100) text = value.toFixed(0);
  // Rounding can reach the next unit (1023.97 KiB prints as 1024): step up instead.
  if (Number(text) >= 1024 && unit < UNITS.length - 1) {
    unit++;
    text = (Number(text) / 1024).toFixed(1);
  }
  return `${text} ${UNITS[unit]}`;
}

/** A percentage already scaled to 0-100, with one decimal: `42.0%`. */
export function formatPercent(x: number): string {
  if (!Number.isFinite(x)) return MISSING;
  return `${x.toFixed(1)}%`;
}

/**
 * An elapsed time, coarser as it grows: `850 ms`, `1.2 s`, `3 m 05 s`,
 * `1 h 02 m`, `2 d 04 h`. Larger units truncate rather than round, like a clock.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return MISSING;
  if (ms < 0) return `-${formatDuration(-ms)}`;
  const whole = Math.round(ms);
  if (whole < 1000) return `${whole} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  // Past 59.95 s the tenths rounded up to a minute; truncating must not fall back below it.
  const seconds = Math.max(60, Math.floor(ms / 1000));
  const two = (n: number) => String(n).padStart(2, "0");
  if (seconds < 3600) return `${Math.floor(seconds / 60)} m ${two(seconds % 60)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ${two(minutes % 60)} m`;
  const hours = Math.floor(minutes / 60);
  return `${Math.floor(hours / 24)} d ${two(hours % 24)} h`;
}

/** A machine's uptime in seconds: `42 s`, `3 m 05 s`, `5 h 07 m`, `12 d 03 h`. */
export function formatUptime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return MISSING;
  // Uptime counts whole seconds; tenths of a second would be noise here.
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  return formatDuration(seconds * 1000);
}

/** A point in time as `2024-05-01 10:22 UTC`; UTC so every host's row compares directly. */
export function formatTimestamp(epochMs: number): string {
  // Date cannot represent times beyond ±8.64e15 ms and would throw.
  if (!Number.isFinite(epochMs) || Math.abs(epochMs) > 8.64e15) return MISSING;
  const iso = new Date(epochMs).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
