/**
 * Process-level tests of the token rules (`checkToken`): both entry points
 * refuse a token with less than 128 bits of entropy before any connection,
 * and say how to make a good one.
 * @module
 */

import assert from "node:assert/strict";
import { EXIT_CODES } from "../lib/usage.ts";
import { runClient, runServerOnce, startServer } from "./helpers.ts";

Deno.test("rmon-server refuses a weak token at start and says how to make a good one", async () => {
  await assert.rejects(
    startServer({ token: "a".repeat(16) }),
    /Cannot use token from RMON_TOKEN: it is 16 characters, fewer than 22 .*openssl rand -base64 32/,
  );
  await assert.rejects(
    startServer({ token: "a".repeat(40) }),
    /Cannot use token from RMON_TOKEN: it has only 1 distinct character, fewer than 8/,
  );
});

Deno.test("rmon refuses a weak token before connecting", async () => {
  // Port 9 on loopback: nothing is asked of it, the token is refused first.
  const run = await runClient(["--hosts", "127.0.0.1:9", "--json", "--", "name"], {
    env: { RMON_TOKEN: "a".repeat(16) },
  });
  assert.equal(run.code, EXIT_CODES.usage, run.stderr);
  assert.match(
    run.stderr,
    /Cannot connect to "127\.0\.0\.1:9": Cannot use token from RMON_TOKEN: it is 16 characters, fewer than 22 .*openssl rand -base64 32/,
  );
  assert.equal(run.stdout, "");
});

Deno.test("rmon token new and rmon-server --gen-token write one private token, once", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-test-token-" });
  const unix = Deno.build.os !== "windows";
  try {
    const made: [string, () => Promise<{ code: number; stdout: string; stderr: string }>][] = [
      ["rmon token new", () => runClient(["token", "new", `${dir}/client.token`])],
      ["rmon-server --gen-token", () => runServerOnce(["--gen-token", "server.token"], dir)],
    ];
    for (const [what, make] of made) {
      await t.step(what, async () => {
        const file = what.startsWith("rmon token") ? `${dir}/client.token` : `${dir}/server.token`;
        const first = await make();
        assert.equal(first.code, EXIT_CODES.ok, first.stderr);
        assert.match(first.stdout, /Wrote a new 256-bit token to .*token \(mode 0600\)/);
        const token = (await Deno.readTextFile(file)).trim();
        assert.match(token, /^[A-Za-z0-9_-]{43}$/);
        if (unix) assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
        const again = await make();
        assert.equal(again.code, EXIT_CODES.usage);
        assert.match(again.stderr, /it exists already \(a token is never overwritten/);
        assert.equal((await Deno.readTextFile(file)).trim(), token, "the first token stays");
      });
    }
    await t.step("a bare file name makes no directory", async () => {
      const names = [];
      for await (const entry of Deno.readDir(dir)) names.push(entry.name);
      assert.deepEqual(names.sort(), ["client.token", "server.token"]);
    });
    await t.step("a server and a client sharing the file work together", async () => {
      await using server = await startServer({
        token: null,
        args: ["--token-file", `${dir}/server.token`],
      });
      const run = await runClient([
        "--token-file",
        `${dir}/server.token`,
        "--json",
        `127.0.0.1:${server.port}`,
        "--",
        "name",
      ]);
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
