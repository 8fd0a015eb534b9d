import assert from "node:assert/strict";
import { ParamsTypeError } from "../lib/protocol/errors.ts";
import { ProtocolError, toErrorObject, TooLargeError } from "../lib/protocol/errors.ts";
import type { RemoteCommand } from "../lib/grammar/command.ts";
import { isRemote } from "../lib/grammar/command.ts";
import {
  clampPingCount,
  isCommandMethod,
  parseCancelParams,
  parseHeartbeatParams,
  parseParams,
  toRequest,
  UnknownMethodError,
} from "../lib/grammar/params.ts";
import { parseLine } from "../lib/grammar/parse_line.ts";
import { ERROR_CODES, LIMITS, TIMEOUTS } from "../lib/protocol/constants.ts";
import type { JsonObject } from "../lib/protocol/messages.ts";

/** Every remote command with the request it must become. */
const WIRE: [RemoteCommand, string, JsonObject][] = [
  [{ kind: "ram" }, "ram", {}],
  [{ kind: "cpu" }, "cpu", {}],
  [{ kind: "os" }, "os", {}],
  [{ kind: "name" }, "name", {}],
  [{ kind: "ip" }, "ip", {}],
  [{ kind: "disk" }, "disk", {}],
  [{ kind: "uptime" }, "uptime", {}],
  [{ kind: "info" }, "info", {}],
  [{ kind: "ping", host: "example.com" }, "ping", { host: "example.com" }],
  [{ kind: "ping", host: "::1", count: 3 }, "ping", { host: "::1", count: 3 }],
  [{ kind: "ping", host: "x", count: 50 }, "ping", { host: "x", count: 50 }],
  [{ kind: "exec", shell: "sh", command: "ls" }, "exec", { shell: "sh", command: "ls" }],
  [
    { kind: "exec", shell: "cmd", command: "dir", timeoutMs: 5000, maxOutputBytes: 1024 },
    "exec",
    { shell: "cmd", command: "dir", timeoutMs: 5000, maxOutputBytes: 1024 },
  ],
  [
    { kind: "exec", shell: "ps", command: " gps ", timeoutMs: TIMEOUTS.execMaxTimeoutMs },
    "exec",
    { shell: "ps", command: " gps ", timeoutMs: TIMEOUTS.execMaxTimeoutMs },
  ],
  [{ kind: "disconnect" }, "disconnect", {}],
  [{ kind: "reset" }, "reset", {}],
  [{ kind: "kill" }, "kill", {}],
];

Deno.test("toRequest() builds the method and params of every remote command", async (t) => {
  for (const [cmd, method, params] of WIRE) {
    await t.step(JSON.stringify(cmd), () => assert.deepEqual(toRequest(cmd), { method, params }));
  }
});

Deno.test("parseParams() and toRequest() round-trip", async (t) => {
  for (const [cmd, method, params] of WIRE) {
    await t.step(JSON.stringify(cmd), () => {
      assert.deepEqual(parseParams(method, params), cmd);
      assert.deepEqual(toRequest(parseParams(method, params)), { method, params });
      // Through JSON, as the params really travel.
      const { method: m, params: p } = toRequest(cmd);
      assert.deepEqual(parseParams(m, JSON.parse(JSON.stringify(p))), cmd);
    });
  }
});

Deno.test("parseParams() accepts what the console parser produces", async (t) => {
  const lines = [
    "ram",
    "ping 192.0.2.1 3",
    "ping fe80::1%eth0",
    "sh: df -h | sort",
    "dos: dir C:\\",
    "ps: Get-Process",
    "@web1 disconnect",
    "shutdown",
  ];
  for (const line of lines) {
    await t.step(line, () => {
      const cmd = parseLine(line)?.command;
      assert.ok(cmd && isRemote(cmd));
      const { method, params } = toRequest(cmd);
      assert.deepEqual(parseParams(method, JSON.parse(JSON.stringify(params))), cmd);
    });
  }
});

Deno.test("parseParams() takes absent or empty params for argument-less methods", async (t) => {
  for (const method of ["ram", "cpu", "os", "name", "ip", "disk", "uptime", "info"]) {
    await t.step(method, () => {
      assert.deepEqual(parseParams(method, undefined), { kind: method });
      assert.deepEqual(parseParams(method, {}), { kind: method });
      assert.deepEqual(parseParams(method, Object.create(null)), { kind: method });
    });
  }
  for (const method of ["disconnect", "reset", "kill"]) {
    await t.step(method, () => assert.deepEqual(parseParams(method, undefined), { kind: method }));
  }
});

Deno.test("parseParams() rejects bad params with TypeError or RangeError", async (t) => {
  const cases: [string, string, unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    ["array", "ram", [], TypeError, /^Cannot run "ram": params must be an object, got an array$/],
    ["null", "cpu", null, TypeError, /params must be an object, got null$/],
    ["string", "os", "x", TypeError, /params must be an object, got "x"$/],
    ["number", "disk", 1, TypeError, /params must be an object, got 1$/],
    [
      "extra field",
      "ram",
      { verbose: true },
      TypeError,
      /^Cannot run "ram": unexpected field "verbose"$/,
    ],
    ["extra on kill", "kill", { force: 1 }, TypeError, /unexpected field "force"$/],
    ["no host", "ping", undefined, TypeError, /^Cannot run "ping": field "host" is missing$/],
    ["host typo", "ping", { hots: "x" }, TypeError, /unexpected field "hots"$/],
    ["host number", "ping", { host: 5 }, TypeError, /field "host" must be a string, got 5$/],
    ["host null", "ping", { host: null }, TypeError, /field "host" must be a string, got null$/],
    ["host option", "ping", { host: "-f" }, RangeError, /host "-f" is not a valid host name/],
    ["host shell", "ping", { host: "a;b" }, RangeError, /host "a;b" is not a valid host name/],
    ["host empty", "ping", { host: "" }, RangeError, /host "" is not a valid host name/],
    [
      "count zero",
      "ping",
      { host: "x", count: 0 },
      RangeError,
      /field "count" must be 1-\d+, got 0$/,
    ],
    ["count negative", "ping", { host: "x", count: -3 }, RangeError, /got -3$/],
    [
      "count fraction",
      "ping",
      { host: "x", count: 1.5 },
      TypeError,
      /"count" must be a whole number, got 1.5$/,
    ],
    ["count string", "ping", { host: "x", count: "3" }, TypeError, /whole number, got "3"$/],
    ["count NaN", "ping", { host: "x", count: NaN }, TypeError, /whole number, got NaN$/],
    [
      "count huge",
      "ping",
      { host: "x", count: 2 ** 53 },
      TypeError,
      /whole number, got 9007199254740992$/,
    ],
    ["count bool", "ping", { host: "x", count: true }, TypeError, /whole number, got true$/],
    [
      "no shell",
      "exec",
      { command: "ls" },
      TypeError,
      /^Cannot run "exec": field "shell" is missing$/,
    ],
    [
      "shell bash",
      "exec",
      { shell: "bash", command: "ls" },
      RangeError,
      /shell "bash" is not one of "sh", "cmd", "ps"$/,
    ],
    ["shell case", "exec", { shell: "SH", command: "ls" }, RangeError, /shell "SH" is not one of/],
    [
      "shell dos",
      "exec",
      { shell: "dos", command: "dir" },
      RangeError,
      /shell "dos" is not one of/,
    ],
    ["no command", "exec", { shell: "sh" }, TypeError, /field "command" is missing$/],
    [
      "command array",
      "exec",
      { shell: "sh", command: ["ls"] },
      TypeError,
      /"command" must be a string, got an array$/,
    ],
    ["command empty", "exec", { shell: "sh", command: "" }, RangeError, /the command is empty$/],
    [
      "command blank",
      "exec",
      { shell: "sh", command: " \t\n" },
      RangeError,
      /the command is empty$/,
    ],
    [
      "command NUL",
      "exec",
      { shell: "sh", command: "a\0b" },
      RangeError,
      /contains a NUL character$/,
    ],
    [
      "timeout zero",
      "exec",
      { shell: "sh", command: "x", timeoutMs: 0 },
      RangeError,
      /"timeoutMs" must be 1-86400000, got 0$/,
    ],
    [
      "timeout over",
      "exec",
      { shell: "sh", command: "x", timeoutMs: TIMEOUTS.execMaxTimeoutMs + 1 },
      RangeError,
      /got 86400001$/,
    ],
    [
      "timeout fraction",
      "exec",
      { shell: "sh", command: "x", timeoutMs: 0.5 },
      TypeError,
      /"timeoutMs" must be a whole number/,
    ],
    [
      "output zero",
      "exec",
      { shell: "sh", command: "x", maxOutputBytes: 0 },
      RangeError,
      /"maxOutputBytes" must be 1-/,
    ],
    [
      "output string",
      "exec",
      { shell: "sh", command: "x", maxOutputBytes: "1" },
      TypeError,
      /"maxOutputBytes" must be a whole number/,
    ],
    [
      "exec extra",
      "exec",
      { shell: "sh", command: "x", env: {} },
      TypeError,
      /unexpected field "env"$/,
    ],
  ];
  for (const [name, method, params, kind, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseParams(method, params), (err) => {
        assert.ok(err instanceof kind, `expected ${kind.name}, got ${err}`);
        assert.match(err.message, message);
        // Bad params must answer invalidParams on the wire.
        assert.equal(toErrorObject(err).code, ERROR_CODES.invalidParams);
        return true;
      });
    });
  }
});

Deno.test("parseParams() cannot be fooled by prototype tricks", async (t) => {
  await t.step("a JSON __proto__ key is an unknown field, and pollutes nothing", () => {
    const params = JSON.parse('{"__proto__": {"host": "example.com"}, "host": "x"}');
    assert.throws(() => parseParams("ping", params), /unexpected field "__proto__"$/);
    assert.equal(({} as Record<string, unknown>).host, undefined);
  });
  await t.step("a JSON constructor key is an unknown field", () => {
    const params = JSON.parse('{"constructor": {"prototype": {"x": 1}}}');
    assert.throws(() => parseParams("ram", params), TypeError);
    assert.throws(() => parseParams("ram", params), /unexpected field "constructor"$/);
  });
  await t.step("fields are never inherited", () => {
    const params = Object.create({ host: "example.com" });
    assert.throws(() => parseParams("ping", params), /params must be a plain object$/);
  });
  await t.step("a polluted Object.prototype does not supply fields", () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.count = 99;
    proto.timeoutMs = -1;
    try {
      assert.deepEqual(parseParams("ping", { host: "x" }), { kind: "ping", host: "x" });
      assert.deepEqual(parseParams("exec", { shell: "sh", command: "ls" }), {
        kind: "exec",
        shell: "sh",
        command: "ls",
      });
    } finally {
      delete proto.count;
      delete proto.timeoutMs;
    }
  });
  await t.step("a null-prototype object is fine", () => {
    const params = Object.assign(Object.create(null), { host: "x", count: 2 });
    assert.deepEqual(parseParams("ping", params), { kind: "ping", host: "x", count: 2 });
  });
  await t.step("getters are refused without being called", () => {
    let called = false;
    const params = {};
    Object.defineProperty(params, "host", {
      enumerable: true,
      get() {
        called = true;
        return "x";
      },
    });
    assert.throws(() => parseParams("ping", params), /field "host" is not plain data$/);
    assert.equal(called, false);
  });
  await t.step("non-enumerable and symbol keys are still unknown fields", () => {
    const hidden = Object.defineProperty({ host: "x" }, "extra", { value: 1, enumerable: false });
    assert.throws(() => parseParams("ping", hidden), /unexpected field "extra"$/);
    const symbolic = { host: "x", [Symbol("s")]: 1 };
    assert.throws(() => parseParams("ping", symbolic), /unexpected field "Symbol\(s\)"$/);
  });
  await t.step("class instances are not params", () => {
    assert.throws(() => parseParams("ram", new Map()), /params must be a plain object$/);
    assert.throws(() => parseParams("ram", new Date()), /params must be a plain object$/);
  });
});

Deno.test("parseParams() throws UnknownMethodError for non-command methods", async (t) => {
  const methods = [
    "auth",
    "cancel",
    "heartbeat",
    "RAM",
    "",
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "shutdown",
    "sh",
  ];
  for (const method of methods) {
    await t.step(JSON.stringify(method), () => {
      assert.equal(isCommandMethod(method), false);
      assert.throws(() => parseParams(method, {}), (err) => {
        assert.ok(err instanceof UnknownMethodError);
        assert.ok(err instanceof ProtocolError);
        assert.equal(err.method, method);
        assert.equal(err.code, ERROR_CODES.methodNotFound);
        assert.equal(err.message, `Cannot run ${JSON.stringify(method)}: unknown method`);
        assert.equal(toErrorObject(err).code, ERROR_CODES.methodNotFound);
        return true;
      });
    });
  }
  await t.step("a huge method name is cut short in the message", () => {
    assert.throws(() => parseParams("x".repeat(10_000), {}), (err) => {
      assert.ok(err instanceof UnknownMethodError);
      assert.ok(err.message.length < 100, err.message);
      return true;
    });
  });
  await t.step("command methods are known", () => {
    for (const [, method] of WIRE) assert.equal(isCommandMethod(method), true);
  });
});

Deno.test("clampPingCount() defaults to 4 and clamps to the limits", async (t) => {
  const cases: [number | undefined, number][] = [
    [undefined, 4],
    [NaN, 4],
    [1, 1],
    [3, 3],
    [10, 10],
    [11, 10],
    [1000, 10],
    [Infinity, 10],
    [0, 1],
    [-5, 1],
    [-Infinity, 1],
    [3.9, 3],
  ];
  for (const [n, want] of cases) {
    await t.step(String(n), () => {
      assert.equal(clampPingCount(n), want);
      assert.ok(want >= LIMITS.pingCountMin && want <= LIMITS.pingCountMax);
    });
  }
});

Deno.test("parseCancelParams() takes exactly one request id", async (t) => {
  for (const id of [0, -3, Number.MAX_SAFE_INTEGER, "", "a-1", "x".repeat(64)]) {
    await t.step(`accepts ${JSON.stringify(id).slice(0, 20)}`, () => {
      assert.deepEqual(parseCancelParams({ id }), { id });
    });
  }
  const bad: [string, unknown][] = [
    ["absent params", undefined],
    ["empty params", {}],
    ["params as an array", [1]],
    ["an extra field", { id: 1, x: 2 }],
    ["a fractional id", { id: 0.5 }],
    ["an unsafe integer id", { id: 2 ** 53 }],
    ["a null id", { id: null }],
    ["a boolean id", { id: false }],
    ["an object id", { id: {} }],
    ["a 65-character id", { id: "x".repeat(65) }],
  ];
  for (const [what, params] of bad) {
    await t.step(`refuses ${what} with a TypeError (invalidParams)`, () => {
      assert.throws(() => parseCancelParams(params), (err) => {
        assert.ok(err instanceof TypeError);
        assert.match(err.message, /^Cannot run "cancel": /);
        assert.equal(toErrorObject(err).code, ERROR_CODES.invalidParams);
        return true;
      });
    });
  }
});

Deno.test("parseHeartbeatParams() takes absent or empty params only", () => {
  parseHeartbeatParams(undefined);
  parseHeartbeatParams({});
  assert.throws(
    () => parseHeartbeatParams({ time: 1 }),
    new ParamsTypeError('Cannot run "heartbeat": unexpected field "time"'),
  );
  assert.throws(() => parseHeartbeatParams([]), TypeError);
});

Deno.test("parseParams() refuses an exec command over LIMITS.commandBytes as tooLarge", async (t) => {
  const cases: [string, string, number][] = [
    ["one byte over, ASCII", "x".repeat(LIMITS.commandBytes + 1), 65537],
    ["over by a multi-byte character", "x".repeat(LIMITS.commandBytes - 2) + "€", 65537],
    ["3-byte characters", "€".repeat(21846), 65538],
  ];
  for (const [what, command, bytes] of cases) {
    await t.step(what, () => {
      assert.throws(() => parseParams("exec", { shell: "sh", command }), (err) => {
        assert.ok(err instanceof TooLargeError, `expected TooLargeError, got ${err}`);
        assert.equal(
          err.message,
          `Cannot run "exec": the command is ${bytes} bytes, over the 65536-byte limit`,
        );
        assert.deepEqual(toErrorObject(err), {
          code: ERROR_CODES.tooLarge,
          message: err.message,
        });
        return true;
      });
    });
  }
  await t.step("exactly at the limit is accepted", () => {
    const command = "x".repeat(LIMITS.commandBytes - 3) + "€";
    assert.deepEqual(parseParams("exec", { shell: "sh", command }), {
      kind: "exec",
      shell: "sh",
      command,
    });
  });
});
