/**
 * Bus-mode options of both entry points (`--nats` and friends): pure parsing,
 * table-driven.
 * @module
 */

import assert from "node:assert/strict";
import { parseServerArgs } from "../lib/server/options.ts";
import { parseClientArgs } from "../lib/client/options.ts";
import { UsageError } from "../lib/usage.ts";
import { parseNatsTable } from "../lib/client/inventory_nats.ts";

Deno.test("parseServerArgs() reads bus mode and listens only when asked", async (t) => {
  await t.step("--nats alone: no listener", () => {
    const o = parseServerArgs(["--nats", "nats://a:4222,tls://b:4222", "--groups", "web, db"]);
    assert.deepEqual(o.nats, ["nats://a:4222", "tls://b:4222"]);
    assert.deepEqual(o.groups, ["web", "db"]);
    assert.equal(o.listen, false);
  });
  await t.step("--nats with --port or --host: both", () => {
    assert.equal(parseServerArgs(["--nats", "nats://a:1", "--port", "0"]).listen, true);
    assert.equal(parseServerArgs(["--nats", "nats://a:1", "--host", "127.0.0.1"]).listen, true);
    assert.equal(parseServerArgs([]).listen, true);
  });
  await t.step("--nats-heartbeat: seconds or with a unit, default 5 s", () => {
    assert.equal(parseServerArgs(["--nats", "nats://a:1"]).natsHeartbeatMs, 5000);
    assert.equal(
      parseServerArgs(["--nats", "nats://a:1", "--nats-heartbeat", "2"]).natsHeartbeatMs,
      2000,
    );
    assert.equal(
      parseServerArgs(["--nats", "nats://a:1", "--nats-heartbeat", "500ms"]).natsHeartbeatMs,
      500,
    );
  });
  const bad: [string[], RegExp][] = [
    [["--nats", ""], /--nats: no URL/],
    [["--nats", "http://a:1"], /not a nats:\/\/HOST:PORT/],
    [["--nats", "nats://u:secret@a:1"], /holds credentials: use --nats-creds/],
    [["--name", "web1"], /--name needs --nats/],
    [["--nats-creds", "f"], /--nats-creds needs --nats/],
    [["--nats-heartbeat", "5"], /--nats-heartbeat needs --nats/],
    [["--nats", "nats://a:1", "--nats-heartbeat", "0"], /Invalid --nats-heartbeat/],
    [["--nats", "nats://a:1", "--nats-heartbeat", "soon"], /Invalid --nats-heartbeat/],
    [["--nats", "nats://a:1", "--nats-creds", "f", "--nats-token-file", "g"], /conflict/],
    [["--nats", "nats://a:1", "--name", "a b"], /Invalid --name/],
    [["--nats", "nats://a:1", "--groups", "ok,b*d"], /Invalid --groups: "b\*d"/],
  ];
  for (const [args, message] of bad) {
    await t.step(`refuses ${args.join(" ")}`, () => {
      assert.throws(
        () => parseServerArgs(args),
        (e) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
});

Deno.test("parseClientArgs() reads bus mode for one-shot runs and the console", async (t) => {
  await t.step("--nats, --fleet, names", () => {
    const o = parseClientArgs(["--nats", "nats://a:4222", "--fleet", "prod", "web1", "--", "ram"]);
    assert.deepEqual(o.nats, ["nats://a:4222"]);
    assert.equal(o.fleet, "prod");
    assert.deepEqual(o.addresses, ["web1"]);
  });
  await t.step("--nats without a command: the console", () => {
    const o = parseClientArgs(["--nats", "nats://a:4222", "web1"]);
    assert.equal(o.command, null);
    assert.deepEqual(o.addresses, ["web1"]);
  });
  const bad: [string[], RegExp][] = [
    [["--fleet", "x", "--", "ram"], /--fleet needs --nats/],
    [["--nats", "a:1", "--", "ram"], /not a nats:\/\/HOST:PORT/],
    [
      ["--nats", "nats://a:1", "--nats-creds", "f", "--nats-token-file", "g", "--", "ram"],
      /conflict/,
    ],
  ];
  for (const [args, message] of bad) {
    await t.step(`refuses ${args.join(" ")}`, () => {
      assert.throws(
        () => parseClientArgs(args),
        (e) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
});

Deno.test("parseNatsTable() reads an inventory's [nats] table", async (t) => {
  await t.step("servers, fleet, paths relative to the inventory", () => {
    assert.deepEqual(
      parseNatsTable({
        servers: ["tls://a:4222"],
        fleet: "prod",
        creds: "op.creds",
        ca_file: "~/ca.pem",
      }, "/etc/rmon"),
      { servers: ["tls://a:4222"], fleet: "prod", creds: "/etc/rmon/op.creds", caFile: "~/ca.pem" },
    );
  });
  const bad: [unknown, RegExp][] = [
    [[], /must be a table/],
    [{}, /"servers" must be a list/],
    [{ servers: ["http://a"] }, /"servers": "http:\/\/a" is not a nats:\/\//],
    [{ servers: ["nats://u:pw@a:1"] }, /holds credentials/],
    [{ servers: ["nats://a:1"], serverz: 1 }, /unknown key "serverz"/],
    [{ servers: ["nats://a:1"], creds: "a", token_file: "b" }, /conflict/],
    [{ servers: ["nats://a:1"], fleet: "a b" }, /"fleet" may hold/],
  ];
  for (const [table, message] of bad) {
    await t.step(`refuses ${JSON.stringify(table)}`, () => {
      assert.throws(
        () => parseNatsTable(table, "/"),
        (e) => e instanceof SyntaxError && message.test(e.message),
      );
    });
  }
});
