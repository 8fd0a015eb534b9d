import assert from "node:assert/strict";
import { addressProblem, type HostPort, parseAddress } from "../lib/grammar/address.ts";

Deno.test("parseAddress() reads host, host:port, [v6]:port and bare IPv6", async (t) => {
  const cases: [string, HostPort][] = [
    ["web1", { hostname: "web1" }],
    ["web1:5050", { hostname: "web1", port: 5050 }],
    ["db.example.com:1", { hostname: "db.example.com", port: 1 }],
    ["10.0.0.7:65535", { hostname: "10.0.0.7", port: 65535 }],
    ["[::1]", { hostname: "::1" }],
    ["[::1]:6000", { hostname: "::1", port: 6000 }],
    ["[fe80::1%eth0]:6000", { hostname: "fe80::1%eth0", port: 6000 }],
    ["2001:db8::7", { hostname: "2001:db8::7" }],
    ["::1", { hostname: "::1" }],
  ];
  for (const [text, want] of cases) {
    await t.step(text, () => {
      assert.deepEqual(parseAddress(text), want);
      assert.equal(addressProblem(text), undefined);
    });
  }
});

Deno.test("parseAddress() rejects malformed addresses with the right error class", async (t) => {
  const cases: [string, typeof SyntaxError | typeof RangeError, RegExp][] = [
    ["", SyntaxError, /it is empty/],
    ["web1:", SyntaxError, /port "" is not a number/],
    ["web1:http", SyntaxError, /port "http" is not a number/],
    ["web1:+80", SyntaxError, /port "\+80" is not a number/],
    ["web1:123456", SyntaxError, /port "123456" is not a number/],
    ["web1:0", RangeError, /port 0 is outside 1-65535/],
    ["web1:65536", RangeError, /port 65536 is outside 1-65535/],
    ["-web1", SyntaxError, /"-web1" is not a host name or address/],
    ["a;b:80", SyntaxError, /"a;b" is not a host name or address/],
    ["[::1", SyntaxError, /"\[" is never closed/],
    ["[web1]:80", SyntaxError, /"web1" is not an IPv6 address/],
    ["[::1]80", SyntaxError, /expected ":PORT" after "\]"/],
    ["[::1]:", SyntaxError, /port "" is not a number/],
    ["1:2:3", SyntaxError, /not an IPv6 address; write \[v6\]:port/],
  ];
  for (const [text, kind, message] of cases) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseAddress(text), (err) => {
        assert.ok(err instanceof kind, `expected ${kind.name}, got ${err}`);
        assert.match(err.message, /^Cannot parse address "/);
        assert.match(err.message, message);
        return true;
      });
      assert.match(addressProblem(text) ?? "", message);
    });
  }
});
