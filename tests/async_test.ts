/**
 * Unit tests of the shared async helpers (no permissions needed). Timers are
 * tiny or never reached: a test asserts which way a race went, never how long
 * it took, and the sanitizers prove no timer or listener is left behind.
 * @module
 */

import assert from "node:assert/strict";
import { abortable, deadline, delay } from "../lib/async.ts";

/** A promise that never settles: the losing side of a race. */
const never = <T>() => new Promise<T>(() => {});

Deno.test("deadline() settles like the promise when it wins", async (t) => {
  await t.step("resolved", async () => {
    // A far deadline that is never reached: the sanitizer fails the test if its timer leaks.
    assert.equal(await deadline(Promise.resolve(7), 60_000, () => "late"), 7);
  });
  await t.step("rejected", async () => {
    const err = new Error("boom");
    await assert.rejects(deadline(Promise.reject(err), 60_000, () => "late"), (e) => e === err);
  });
  await t.step("onTimeout is not called", async () => {
    let calls = 0;
    await deadline(Promise.resolve(), 60_000, () => calls++);
    assert.equal(calls, 0);
  });
});

Deno.test("deadline() settles with onTimeout when the time runs out", async (t) => {
  await t.step("its return value resolves", async () => {
    assert.equal(await deadline(never<number>(), 1, () => "timeout" as const), "timeout");
  });
  await t.step("what it throws rejects", async () => {
    await assert.rejects(
      deadline(never(), 1, () => {
        throw new RangeError("too slow");
      }),
      RangeError,
      "too slow",
    );
  });
  await t.step("a late rejection of the abandoned promise is not unhandled", async () => {
    let fail!: (e: Error) => void;
    const work = new Promise<never>((_, reject) => fail = reject);
    assert.equal(await deadline(work, 1, () => "gave up"), "gave up");
    fail(new Error("late"));
    await delay(0);
  });
});

Deno.test("abortable() settles like the promise until the signal aborts", async (t) => {
  await t.step("the promise wins and the listener goes", async () => {
    const ac = new AbortController();
    const removed: unknown[] = [];
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.removeEventListener = (...args: Parameters<AbortSignal["removeEventListener"]>) => {
      removed.push(args[0]);
      remove(...args);
    };
    assert.equal(await abortable(Promise.resolve("done"), ac.signal), "done");
    assert.deepEqual(removed, ["abort"]);
    ac.abort(new Error("after")); // no listener left: nothing rejects
  });
  await t.step("an abort rejects with the signal's reason", async () => {
    const ac = new AbortController();
    const reason = new Error("stopped");
    const racing = abortable(never(), ac.signal);
    ac.abort(reason);
    await assert.rejects(racing, (e) => e === reason);
  });
  await t.step("an already aborted signal rejects at once", async () => {
    const reason = new Error("already");
    await assert.rejects(abortable(never(), AbortSignal.abort(reason)), (e) => e === reason);
  });
});

Deno.test("delay() resolves, or rejects when aborted", async () => {
  await delay(1);
  const ac = new AbortController();
  const waiting = delay(60_000, ac.signal);
  ac.abort(new Error("cut short"));
  await assert.rejects(waiting, Error, "cut short");
});
