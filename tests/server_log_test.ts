/**
 * Unit tests of the server log's rate-limited warnings, with an injected
 * clock and sink. Needs no permissions.
 * @module
 */

import assert from "node:assert/strict";
import { isoTimestamp, Logger } from "../lib/server/log.ts";
import { prng } from "./protocol_helpers.ts";

/** A logger writing into an array, with a clock the test moves by hand. */
function capture(level: "quiet" | "normal" = "quiet") {
  let t = 0;
  const lines: string[] = [];
  const log = new Logger(level, (line) => lines.push(line.replace(/^\S+ /, "").trimEnd()), {
    now: () => t,
    linesPerSecond: 3,
  });
  return { log, lines, advance: (ms: number) => t += ms };
}

Deno.test("Logger.warnLimited() writes N lines a second per kind, then one count", async (t) => {
  await t.step(
    "lines past the limit are counted, and the count is written after the second",
    () => {
      const { log, lines, advance } = capture();
      for (let i = 0; i < 10; i++) log.warnLimited("refused", `r${i}`);
      assert.deepEqual(lines, ["warn r0", "warn r1", "warn r2"]);
      advance(1_000);
      log.warnLimited("refused", "r10");
      assert.deepEqual(lines.slice(3), ["warn refused: 7 similar lines suppressed", "warn r10"]);
      log.flush();
    },
  );

  await t.step("each kind has its own budget, and warnings show with --quiet", () => {
    const { log, lines } = capture("quiet");
    for (let i = 0; i < 5; i++) {
      log.warnLimited("refused", `r${i}`);
      log.warnLimited("auth failed", `a${i}`);
    }
    log.info("routine");
    assert.deepEqual(lines, ["warn r0", "warn a0", "warn r1", "warn a1", "warn r2", "warn a2"]);
    log.flush();
    assert.deepEqual(lines.slice(6), [
      "warn refused: 2 similar lines suppressed",
      "warn auth failed: 2 similar lines suppressed",
    ]);
  });

  await t.step("flush() writes nothing when nothing was suppressed", () => {
    const { log, lines } = capture();
    log.warnLimited("refused", "only one");
    log.flush();
    assert.deepEqual(lines, ["warn only one"]);
  });
});

Deno.test("Logger.warnLimited() reports the count even when the flood stops", async () => {
  const lines: string[] = [];
  const log = new Logger("quiet", (line) => lines.push(line.trimEnd()), { linesPerSecond: 1 });
  log.warnLimited("refused", "first");
  log.warnLimited("refused", "second");
  log.warnLimited("refused", "third");
  // Nothing else is logged: the count must come from the logger's own timer.
  const deadline = Date.now() + 3_000;
  while (lines.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /warn refused: 2 similar lines suppressed$/);
  log.flush();
});

Deno.test("isoTimestamp() writes what Date.prototype.toISOString() writes", () => {
  const leapDay = Date.UTC(2024, 1, 29, 23, 59, 59, 999);
  const times = [0, 1, 999, 86_399_999, 951_782_400_000, leapDay, 4_102_444_799_999, Date.now()];
  const next = prng(42);
  for (let i = 0; i < 1000; i++) times.push(Math.floor(next() * 8_000_000_000_000));
  for (const ms of times) assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
});
