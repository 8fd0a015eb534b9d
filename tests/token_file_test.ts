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
import { BENCH_TOKEN } from "../bench/procs.ts";
import { TEST_TOKEN } from "./helpers.ts";

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
  assert.equal(checkToken("abcdefgh".repeat(3) + "\n", "x"), "abcdefgh".repeat(3));
  assert.throws(() => checkToken("", "x"), /empty or contains white space/);
  assert.throws(() => checkToken("abc def ghi jkl mno pqr stu", "x"), /white space/);
  assert.throws(
    () => checkToken("short", "x"),
    new Error(
      "Cannot use token from x: it is 5 characters, fewer than 22 (under 128 bits); " +
        'generate one with "rmon token new FILE" or "openssl rand -base64 32", or leave out ' +
        "RMON_TOKEN and --token-file to let rmon-server generate one",
    ),
  );
});

Deno.test("checkToken() refuses tokens with less than 128 bits of entropy", async (t) => {
  const weak: [string, string, RegExp][] = [
    ["16 characters of one letter", "a".repeat(16), /it is 16 characters, fewer than 22/],
    ["21 random characters", "Xk3_9fQ-2LpZr8Wm1vTyB", /it is 21 characters, fewer than 22/],
    ["one repeated letter", "a".repeat(64), /it has only 1 distinct character, fewer than 8/],
    [
      "a short repeated pattern",
      "ab12".repeat(10),
      /it has only 4 distinct characters, fewer than 8/,
    ],
    [
      "7 distinct characters",
      "abcdefg".repeat(4),
      /it has only 7 distinct characters, fewer than 8/,
    ],
  ];
  for (const [what, token, message] of weak) {
    await t.step(`refuses ${what}`, () => {
      assert.throws(() => checkToken(token, "RMON_TOKEN"), (err) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /^Cannot use token from RMON_TOKEN: /);
        assert.match(err.message, message);
        assert.match(
          err.message,
          /generate one with "rmon token new FILE" or "openssl rand -base64 32"/,
        );
        return true;
      });
    });
  }
  const strong: [string, string][] = [
    ["22 characters, 8 distinct", "abcdefgh".repeat(2) + "abcdef"],
    ["openssl rand -base64 32", "q1Yc7Jb0xQ9m8wz6Gk3Hn2Vt5Rs4Pl7Ud0Ae8Fo9Ci0="],
    ["a generated token", generateToken()],
  ];
  for (const [what, token] of strong) {
    await t.step(`accepts ${what}`, () => assert.equal(checkToken(token, "x"), token));
  }
});

Deno.test("checkToken() accepts every token the tests and benchmarks give a server", () => {
  for (const token of [TEST_TOKEN, "some-other-token-0123456789", BENCH_TOKEN]) {
    assert.equal(checkToken(token, "x"), token);
  }
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
