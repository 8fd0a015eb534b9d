/**
 * A bounded time series: the last `capacity` samples of a few numbers per
 * host (time, CPU %, RAM %), kept in preallocated typed arrays so an hour of
 * history at any fleet size costs a fixed, known amount of memory. Client
 * web layer; pure.
 * @module
 */

/** One sample: when (ms since the epoch) and the values, NaN where unknown. */
export interface Sample {
  t: number;
  cpu: number;
  ram: number;
}

/** Columns of a series as the page's charts take them: times in seconds, then each metric. */
export interface SeriesColumns {
  t: number[];
  cpu: (number | null)[];
  ram: (number | null)[];
}

/** A ring buffer of samples; the oldest is overwritten once `capacity` is reached. */
export class SampleRing {
  #t: Float64Array;
  #cpu: Float32Array;
  #ram: Float32Array;
  #start = 0;
  #size = 0;

  /** A ring holding at most `capacity` samples (a whole number ≥ 1). */
  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`Cannot make a sample ring of ${capacity}: need a whole number >= 1`);
    }
    this.#t = new Float64Array(capacity);
    this.#cpu = new Float32Array(capacity);
    this.#ram = new Float32Array(capacity);
  }

  /** How many samples it holds. */
  get size(): number {
    return this.#size;
  }

  /** Add a sample, dropping the oldest when full. */
  push(s: Sample): void {
    const i = (this.#start + this.#size) % this.capacity;
    this.#t[i] = s.t;
    this.#cpu[i] = s.cpu;
    this.#ram[i] = s.ram;
    if (this.#size < this.capacity) this.#size++;
    else this.#start = (this.#start + 1) % this.capacity;
  }

  /**
   * The samples oldest first, as chart columns (seconds, and null for a gap),
   * thinned to at most `maxPoints` by keeping every n-th sample (and the last).
   */
  columns(maxPoints = this.capacity): SeriesColumns {
    const step = Math.max(1, Math.ceil(this.#size / Math.max(1, maxPoints)));
    const out: SeriesColumns = { t: [], cpu: [], ram: [] };
    for (let k = 0; k < this.#size; k += step) this.#emit(k, out);
    if (this.#size > 0 && (this.#size - 1) % step !== 0) this.#emit(this.#size - 1, out);
    return out;
  }

  #emit(k: number, out: SeriesColumns): void {
    const i = (this.#start + k) % this.capacity;
    out.t.push(this.#t[i]! / 1000);
    out.cpu.push(gap(this.#cpu[i]!));
    out.ram.push(gap(this.#ram[i]!));
  }
}

/** Round to 0.1 and turn NaN (no value that round) into a gap. */
function gap(value: number): number | null {
  return Number.isFinite(value) ? Math.round(value * 10) / 10 : null;
}
