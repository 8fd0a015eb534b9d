import assert from "node:assert/strict";
import { isHostname, isIPv4, isIPv6, isValidPingHost } from "../lib/grammar/ping_host.ts";

const LONG_LABEL = "a".repeat(63);

Deno.test("isValidPingHost() accepts IP literals and RFC 1123 names", async (t) => {
  const valid = [
    "localhost",
    "example.com",
    "example.com.",
    "web-1.internal",
    "1e100.net",
    "a",
    "A9",
    `${LONG_LABEL}.com`,
    // Exactly 253 characters, the longest name allowed; one more is rejected below.
    `${LONG_LABEL}.${LONG_LABEL}.${LONG_LABEL}.${"a".repeat(61)}`,
    "0.0.0.0",
    "192.0.2.1",
    "255.255.255.255",
    "::",
    "::1",
    "2001:db8::7",
    "fe80::1%eth0",
    "fe80::1%12",
    "1:2:3:4:5:6:7:8",
    "::ffff:192.0.2.1",
    "64:ff9b::192.0.2.33",
    "1::",
    "FE80::ABCD",
  ];
  for (const host of valid) {
    await t.step(
      `accepts ${JSON.stringify(host)}`,
      () => assert.equal(isValidPingHost(host), true),
    );
  }
});

Deno.test("isValidPingHost() rejects options, shell words and malformed hosts", async (t) => {
  const invalid = [
    "",
    "-f",
    "-c1",
    "--",
    "-example.com",
    "example-.com",
    "a;b",
    "a b",
    "$(reboot)",
    "`id`",
    "a|b",
    "a&b",
    "host\n",
    "ex_ample.com",
    "a..b",
    ".a",
    "..",
    "ünicode.de",
    `${"a".repeat(64)}.com`,
    `${LONG_LABEL}.${LONG_LABEL}.${LONG_LABEL}.${"a".repeat(62)}`,
    "256.1.1.1",
    "1.2.3",
    "10.0.0.256",
    "01.2.3.4",
    "1.2.3.4.5",
    "123",
    ":::",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "12345::",
    "::g",
    "1.2.3.4::",
    "::1%",
    "::1%eth 0",
    "::1%-x",
    "[::1]",
    "fe80::1%eth0%1",
  ];
  for (const host of invalid) {
    await t.step(
      `rejects ${JSON.stringify(host)}`,
      () => assert.equal(isValidPingHost(host), false),
    );
  }
});

Deno.test("isIPv4(), isIPv6() and isHostname() each accept only their own form", async (t) => {
  const cases: [string, boolean, boolean, boolean][] = [
    ["192.0.2.1", true, false, false],
    ["::1", false, true, false],
    ["::ffff:1.2.3.4", false, true, false],
    ["db1.example", false, false, true],
    ["db1", false, false, true],
    ["1.2.3.4x", false, false, true],
  ];
  for (const [text, v4, v6, name] of cases) {
    await t.step(text, () => {
      assert.equal(isIPv4(text), v4);
      assert.equal(isIPv6(text), v6);
      assert.equal(isHostname(text), name);
    });
  }
});
