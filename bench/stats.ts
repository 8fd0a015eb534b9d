/**
 * Benchmark statistics: medians and percentiles over samples, and the summary
 * of several repetitions that every figure reports (median, min, max).
 * Pure: numbers in, numbers out.
 * @module
 */

/** Percentile `p` (0–100) of `samples` by the nearest-rank method; NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** The median of `samples` (mean of the two middle values for an even count); NaN when empty. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The median and range of one figure's per-repetition values. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** The per-repetition values, in the order they were measured. */
  samples: number[];
}

/** Summarise per-repetition values. */
export function summarize(samples: readonly number[]): Summary {
  return {
    median: median(samples),
    min: samples.length ? Math.min(...samples) : NaN,
    max: samples.length ? Math.max(...samples) : NaN,
    samples: [...samples],
  };
}

/** Milliseconds on the monotonic clock. */
export function now(): number {
  return performance.now();
}
