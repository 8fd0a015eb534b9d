/**
 * Unit tests of `rmon-server --help`: the text must say what the server does
 * (no permissions needed).
 * @module
 */

import assert from "node:assert/strict";
import { SERVER_USAGE } from "../lib/server/options.ts";

/** The help entry of `option`: its line plus the indented lines that continue it. */
function entry(option: string): string {
  const lines = SERVER_USAGE.split("\n");
  const start = lines.findIndex((line) => line.trimStart().startsWith(option));
  assert.ok(start >= 0, `no help entry for ${option}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => !/^ {20,}\S/.test(line));
  return [lines[start]!, ...rest.slice(0, end < 0 ? rest.length : end)].join("\n");
}

Deno.test("SERVER_USAGE says --read-only refuses exec, reset and kill, not disconnect", () => {
  const text = entry("--read-only").replace(/\s+/g, " ");
  assert.match(text, /refuse exec \(sh:, dos:, ps:\), reset and kill/);
  assert.doesNotMatch(text, /disconnect/);
});
