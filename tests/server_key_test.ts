/**
 * Unit tests of the server key: which addresses name the same server.
 * @module
 */

import assert from "node:assert/strict";
import { canonicalHost, serverKey } from "../lib/client/server_key.ts";

Deno.test("canonicalHost() writes one server's addresses one way", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", "127.0.0.1"],
    ["localhost", "127.0.0.1"],
    ["LocalHost.", "127.0.0.1"],
    ["db.localhost", "127.0.0.1"],
    ["::1", "::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["[::1]", "::1"],
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["::FFFF:7f00:1", "127.0.0.1"],
    ["2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0000:0000:0:0:0:7", "2001:db8::7"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"],
    ["fe80::1%eth0", "fe80::1%eth0"],
    ["Web1.Example.COM.", "web1.example.com"],
    ["web1", "web1"],
  ];
  for (const [input, want] of cases) assert.equal(canonicalHost(input), want, input);
});

Deno.test("serverKey() tells the same server from another", () => {
  const key = (hostname: string, port: number) => serverKey({ hostname, port });
  assert.equal(key("localhost", 7101), key("127.0.0.1", 7101));
  assert.equal(key("0:0::1", 5050), "[::1]:5050");
  assert.notEqual(key("127.0.0.1", 7101), key("127.0.0.1", 7102));
  assert.notEqual(key("127.0.0.1", 7101), key("::1", 7101), "IPv4 and IPv6 loopback differ");
  // Names are not resolved: a name and the address it may stand for stay apart.
  assert.notEqual(key("web1", 5050), key("10.0.0.11", 5050));
});
