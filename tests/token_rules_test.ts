/**
 * Process-level tests of the token rules (`checkToken`): both entry points
 * refuse a token with less than 128 bits of entropy before any connection,
 * and say how to make a good one.
 * @module
 */

import assert from "node:assert/strict";
import { EXIT_CODES } from "../lib/usage.ts";
import { runClient, startServer } from "./helpers.ts";

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
