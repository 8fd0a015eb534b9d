/**
 * Unit tests of command-line durations (no permissions needed).
 * @module
 */

import assert from "node:assert/strict";
import { parseDuration } from "../lib/duration.ts";

Deno.test("parseDuration() reads seconds, 10s and 500ms", () => {
  const cases: [string, number][] = [
    ["10", 10_000],
    ["1.5", 1_500],
    [".5", 500],
    ["10s", 10_000],
    ["0.25s", 250],
    ["500ms", 500],
    [" 2 ", 2_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

Deno.test("parseDuration() refuses what is not a positive duration", () => {
  for (const text of ["", "ten", "10m", "-1", "1e3", "10 s", "s"]) {
    assert.throws(() => parseDuration(text), SyntaxError, text);
  }
  for (const text of ["0", "0s", "0.0001"]) {
    assert.throws(() => parseDuration(text), RangeError, text);
  }
});
