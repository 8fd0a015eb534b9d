/**
 * HostCredentials: what a host signs in with when nothing names an operator
 * key, with and without a home folder to look for the default one in.
 * @module
 */

import assert from "node:assert/strict";
import { HostCredentials } from "../lib/client/setup.ts";
import { hostSpecFromAddress } from "../lib/client/inventory.ts";
import { parseClientArgs } from "../lib/client/options.ts";
import { TEST_TOKEN } from "./helpers.ts";

Deno.test("HostCredentials: no home folder means no default key, and the token still works", async () => {
  const saved = { HOME: Deno.env.get("HOME"), XDG_CONFIG_HOME: Deno.env.get("XDG_CONFIG_HOME") };
  Deno.env.delete("HOME");
  Deno.env.delete("XDG_CONFIG_HOME");
  try {
    const credentials = new HostCredentials(parseClientArgs(["--token", TEST_TOKEN]));
    const host = await credentials.fleetHost(hostSpecFromAddress("127.0.0.1:5050"));
    assert.equal(host.identity, null);
    assert.ok(host.token !== null);
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value !== undefined) Deno.env.set(name, value);
    }
  }
});
