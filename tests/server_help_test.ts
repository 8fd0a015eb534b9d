/**
 * Unit tests of what `rmon-server` tells people: `--help` must say what the
 * server does, and the start-up lines name the client as they will have it
 * (no permissions needed).
 * @module
 */

import assert from "node:assert/strict";
import { SERVER_USAGE } from "../lib/server/options.ts";
import { clientCommand } from "../lib/server/banner.ts";

/** The help entry of `option`: its line plus the indented lines that continue it. */
function entry(option: string): string {
  const lines = SERVER_USAGE.split("\n");
  const start = lines.findIndex((line) => line.trimStart().startsWith(option));
  assert.ok(start >= 0, `no help entry for ${option}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => !/^ {20,}\S/.test(line));
  return [lines[start]!, ...rest.slice(0, end < 0 ? rest.length : end)].join("\n");
}

Deno.test("SERVER_USAGE says --read-only refuses exec, push, pull, reset and kill, not disconnect", () => {
  const text = entry("--read-only").replace(/\s+/g, " ");
  assert.match(text, /refuse exec \(sh:, dos:, ps:\), push, pull, reset and kill/);
  assert.doesNotMatch(text, /disconnect/);
});

Deno.test("clientCommand() names the client as the person will have it", () => {
  const compiled = { standalone: true };
  const script = { standalone: false };
  assert.equal(clientCommand(compiled, "/usr/local/bin/rmon-server"), "rmon");
  assert.equal(clientCommand(compiled, "C:\\rmon\\rmon-server.exe"), "rmon");
  assert.equal(clientCommand(script, "/home/a/.deno/bin/deno"), "deno task client --");
  assert.equal(clientCommand(script, "C:\\Users\\a\\.deno\\bin\\deno.exe"), "deno task client --");
  // A binary built some other way is still not deno: its name is not "deno".
  assert.equal(clientCommand(script, "/opt/rmon/rmon-server"), "rmon");
});
