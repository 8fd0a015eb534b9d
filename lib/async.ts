/**
 * Small async helpers shared by every layer: an abortable delay, a deadline
 * on a promise and an abort race. Kept here so that timeout races and waits
 * are written once, and always clear their timers and listeners (Deno's test
 * sanitizers report a leaked one).
 * @module
 */

/** Wait `ms`, or reject with the signal's reason as soon as it aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  // The signal may have fired while we awaited something else: no event will come.
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Settle like `promise`, unless `ms` pass first: then settle with what
 * `onTimeout` returns, or reject with what it throws. The timer is cleared
 * either way. `promise` is not cancelled: a caller that gives up on it owns
 * whatever it still does (close its socket, catch its late rejection).
 *
 * ```ts
 * await deadline(dial(), 5_000, () => { throw new TimeoutError("Cannot connect: timed out"); });
 * const n = await deadline(conn.read(buf), 100, () => "timeout" as const);
 * ```
 */
export function deadline<T, U>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => U,
): Promise<T | U> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err);
      }
    }, ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Settle like `promise`, unless `signal` aborts first: then reject with the
 * signal's reason. The listener is removed either way; like {@linkcode deadline},
 * the abandoned `promise` keeps running.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() =>
    signal.removeEventListener("abort", onAbort!)
  );
}
