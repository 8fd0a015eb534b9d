/**
 * Unit tests of token files: generation, the per-user state path on each OS
 * (pure, with an injected environment), checks and file permissions.
 * @module
 */

import assert from "node:assert/strict";
import {
  checkToken,
  generateToken,
  readTokenFile,
  tokenStatePath,
  writeTokenFile,
} from "../lib/token_file.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("generateToken() makes 256-bit URL-safe tokens that never look like options", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const token = generateToken();
    assert.match(token, /^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/);
    seen.add(token);
  }
  assert.equal(seen.size, 500);
});

Deno.test("tokenStatePath() follows each OS's convention", async (t) => {
  const cases: [string, Record<string, string>, typeof Deno.build.os, string][] = [
    ["linux, XDG", { HOME: "/home/a", XDG_STATE_HOME: "/xdg" }, "linux", "/xdg/rmon/token"],
    [
      "linux, relative XDG ignored",
      { HOME: "/home/a", XDG_STATE_HOME: "x" },
      "linux",
      "/home/a/.local/state/rmon/token",
    ],
    ["linux, HOME", { HOME: "/home/a" }, "linux", "/home/a/.local/state/rmon/token"],
    ["macOS", { HOME: "/Users/a" }, "darwin", "/Users/a/Library/Application Support/rmon/token"],
    [
      "Windows",
      { APPDATA: "C:\\Users\\a\\AppData\\Roaming" },
      "windows",
      "C:\\Users\\a\\AppData\\Roaming\\rmon\\token",
    ],
  ];
  for (const [name, vars, os, want] of cases) {
    await t.step(name, () => assert.equal(tokenStatePath(env(vars), os), want));
  }
  await t.step("no HOME is a clear error", () => {
    assert.throws(() => tokenStatePath(env({}), "linux"), /HOME is not set/);
  });
});

Deno.test("checkToken() refuses empty, spaced and short tokens", () => {
  assert.equal(checkToken("a".repeat(16) + "\n", "x"), "a".repeat(16));
  assert.throws(() => checkToken("", "x"), /empty or contains white space/);
  assert.throws(() => checkToken("abc def ghi jkl mno", "x"), /white space/);
  assert.throws(() => checkToken("short", "x"), /shorter than 16 characters/);
});

Deno.test("writeTokenFile() writes 0600 in a 0700 folder and never overwrites", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/state/rmon/token`;
    await writeTokenFile(path, "token-0123456789abcdef");
    assert.equal(readTokenFile(path), "token-0123456789abcdef");
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(`${dir}/state/rmon`)).mode! & 0o777, 0o700);
    }
    await assert.rejects(
      writeTokenFile(path, "another-token-0123456789"),
      Deno.errors.AlreadyExists,
    );
    assert.equal(readTokenFile(path), "token-0123456789abcdef");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
