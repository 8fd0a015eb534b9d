/**
 * Unit tests of the server's deadline sweep. Needs no permissions.
 * @module
 */

import assert from "node:assert/strict";
import { Sweeper, sweepPeriod } from "../lib/server/sweeper.ts";

Deno.test("sweepPeriod() is a quarter of the shortest deadline, within 25 ms … 1 s", () => {
  assert.equal(sweepPeriod(400), 100);
  assert.equal(sweepPeriod(10), 25);
  assert.equal(sweepPeriod(10_000), 1_000);
  assert.equal(sweepPeriod(Infinity), 1_000);
});

Deno.test("Sweeper visits its items and runs only while it has some", async (t) => {
  await t.step("sweepNow() visits every item with the time given", () => {
    const sweeper = new Sweeper(1_000);
    const seen: [string, number][] = [];
    const a = { sweep: (now: number) => seen.push(["a", now]) };
    const b = { sweep: (now: number) => seen.push(["b", now]) };
    sweeper.add(a);
    sweeper.add(b);
    sweeper.sweepNow(42);
    assert.deepEqual(seen, [["a", 42], ["b", 42]]);
    sweeper.delete(a);
    sweeper.delete(b);
    assert.equal(sweeper.size, 0);
    // The sanitizer fails this step if the interval outlived the last item.
  });

  await t.step("an item may remove itself (or another) during a sweep", () => {
    const sweeper = new Sweeper(1_000);
    const seen: string[] = [];
    const b = { sweep: () => seen.push("b") };
    const a = {
      sweep: () => {
        seen.push("a");
        sweeper.delete(a);
        sweeper.delete(b);
      },
    };
    sweeper.add(a);
    sweeper.add(b);
    sweeper.sweepNow();
    assert.deepEqual(seen, ["a"]);
    assert.equal(sweeper.size, 0);
  });

  await t.step("the interval calls sweep on its own", async () => {
    const sweeper = new Sweeper(25);
    const visited = Promise.withResolvers<number>();
    const item = { sweep: (now: number) => visited.resolve(now) };
    sweeper.add(item);
    const now = await visited.promise;
    sweeper.delete(item);
    assert.ok(now > 0);
  });
});
