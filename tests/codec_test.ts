// Codec layer: decodeMessage() and the encoders, table-driven. Needs no permissions.

import assert from "node:assert/strict";
import {
  ParamsRangeError,
  ParamsTypeError,
  ProtocolError,
  toErrorObject,
  TooLargeError,
} from "../lib/protocol/errors.ts";
import {
  DecodeError,
  decodeMessage,
  encodeError,
  encodeNotification,
  encodeRequest,
  encodeResult,
  isJsonObject,
} from "../lib/protocol/codec.ts";
import { ERROR_CODES } from "../lib/protocol/constants.ts";
import type { Json, Message, RequestId } from "../lib/protocol/messages.ts";

Deno.test("decodeMessage() accepts every kind of message", async (t) => {
  const cases: [string, string, Message][] = [
    [
      "a request with params",
      '{"jsonrpc":"2.0","id":1,"method":"exec","params":{"shell":"sh","command":"ls"}}',
      {
        kind: "request",
        msg: {
          jsonrpc: "2.0",
          id: 1,
          method: "exec",
          params: { shell: "sh", command: "ls" },
        },
      },
    ],
    [
      "a request without params",
      '{"jsonrpc":"2.0","id":2,"method":"ram"}',
      { kind: "request", msg: { jsonrpc: "2.0", id: 2, method: "ram" } },
    ],
    [
      "a request with a string id",
      '{"jsonrpc":"2.0","id":"a-1","method":"cpu"}',
      { kind: "request", msg: { jsonrpc: "2.0", id: "a-1", method: "cpu" } },
    ],
    [
      "a request with id 0",
      '{"jsonrpc":"2.0","id":0,"method":"auth","params":{}}',
      { kind: "request", msg: { jsonrpc: "2.0", id: 0, method: "auth", params: {} } },
    ],
    [
      "a request with a negative id",
      '{"jsonrpc":"2.0","id":-7,"method":"os"}',
      { kind: "request", msg: { jsonrpc: "2.0", id: -7, method: "os" } },
    ],
    [
      "a request with the largest safe integer id",
      `{"jsonrpc":"2.0","id":${Number.MAX_SAFE_INTEGER},"method":"os"}`,
      { kind: "request", msg: { jsonrpc: "2.0", id: Number.MAX_SAFE_INTEGER, method: "os" } },
    ],
    [
      "a request with a 64-character string id",
      `{"jsonrpc":"2.0","id":"${"i".repeat(64)}","method":"os"}`,
      { kind: "request", msg: { jsonrpc: "2.0", id: "i".repeat(64), method: "os" } },
    ],
    [
      "a request with extra members",
      '{"jsonrpc":"2.0","id":3,"method":"name","extra":true}',
      {
        kind: "request",
        msg: { jsonrpc: "2.0", id: 3, method: "name", extra: true } as never,
      },
    ],
    [
      "a notification",
      '{"jsonrpc":"2.0","method":"output","params":{"id":4,"stream":"stdout","data":"hi"}}',
      {
        kind: "notification",
        msg: {
          jsonrpc: "2.0",
          method: "output",
          params: { id: 4, stream: "stdout", data: "hi" },
        },
      },
    ],
    [
      "a notification without params",
      '{"jsonrpc":"2.0","method":"bye"}',
      { kind: "notification", msg: { jsonrpc: "2.0", method: "bye" } },
    ],
    [
      "a success response",
      '{"jsonrpc":"2.0","id":5,"result":{"cancelled":true}}',
      { kind: "success", msg: { jsonrpc: "2.0", id: 5, result: { cancelled: true } } },
    ],
    [
      "a success response with a null result",
      '{"jsonrpc":"2.0","id":6,"result":null}',
      { kind: "success", msg: { jsonrpc: "2.0", id: 6, result: null } },
    ],
    [
      "an error response",
      '{"jsonrpc":"2.0","id":7,"error":{"code":-32002,"message":"Timed out","data":{"exitCode":null}}}',
      {
        kind: "error",
        msg: {
          jsonrpc: "2.0",
          id: 7,
          error: { code: -32002, message: "Timed out", data: { exitCode: null } },
        },
      },
    ],
    [
      "an error response with a null id",
      '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}',
      {
        kind: "error",
        msg: { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } },
      },
    ],
    [
      "a message surrounded by whitespace (a CRLF peer's trailing \\r)",
      ' {"jsonrpc":"2.0","id":8,"method":"ip"}\r',
      { kind: "request", msg: { jsonrpc: "2.0", id: 8, method: "ip" } },
    ],
  ];
  for (const [what, text, expected] of cases) {
    await t.step(`decodes ${what}`, () => {
      assert.deepEqual(decodeMessage(text), expected);
    });
  }
});

Deno.test("decodeMessage() rejects what is not a JSON-RPC 2.0 message", async (t) => {
  /** [what, frame, expected code, expected requestId (undefined: not a DecodeError)] */
  const cases: [string, string, number, RequestId | null | undefined][] = [
    ["an empty frame", "", ERROR_CODES.parseError, undefined],
    ["truncated JSON", '{"jsonrpc":"2.0","id":1', ERROR_CODES.parseError, undefined],
    ["two JSON values", '{"a":1}{"b":2}', ERROR_CODES.parseError, undefined],
    ["single-quoted JSON", "{'jsonrpc':'2.0'}", ERROR_CODES.parseError, undefined],
    ["a bare word", "ram", ERROR_CODES.parseError, undefined],
    [
      "an array (batches are not supported)",
      '[{"jsonrpc":"2.0","id":1,"method":"ram"}]',
      ERROR_CODES.invalidRequest,
      undefined,
    ],
    ["an empty array", "[]", ERROR_CODES.invalidRequest, undefined],
    ["a number", "42", ERROR_CODES.invalidRequest, undefined],
    ["null", "null", ERROR_CODES.invalidRequest, undefined],
    ["a string", '"ram"', ERROR_CODES.invalidRequest, undefined],
    ["a boolean", "true", ERROR_CODES.invalidRequest, undefined],
    ["a missing jsonrpc member", '{"id":5,"method":"ram"}', ERROR_CODES.invalidRequest, 5],
    ["jsonrpc 1.0", '{"jsonrpc":"1.0","id":5,"method":"ram"}', ERROR_CODES.invalidRequest, 5],
    [
      "jsonrpc as a number",
      '{"jsonrpc":2.0,"id":"x","method":"ram"}',
      ERROR_CODES.invalidRequest,
      "x",
    ],
    [
      "a method that is not a string",
      '{"jsonrpc":"2.0","id":6,"method":1}',
      ERROR_CODES.invalidRequest,
      6,
    ],
    [
      "params as an array",
      '{"jsonrpc":"2.0","id":7,"method":"ram","params":[]}',
      ERROR_CODES.invalidRequest,
      7,
    ],
    [
      "params as null",
      '{"jsonrpc":"2.0","id":8,"method":"ram","params":null}',
      ERROR_CODES.invalidRequest,
      8,
    ],
    [
      "params as a string",
      '{"jsonrpc":"2.0","id":"p","method":"ram","params":"x"}',
      ERROR_CODES.invalidRequest,
      "p",
    ],
    [
      "notification params as an array",
      '{"jsonrpc":"2.0","method":"hello","params":[1]}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "params as an array with a bad id",
      '{"jsonrpc":"2.0","id":1.5,"method":"ram","params":[]}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "a fractional request id",
      '{"jsonrpc":"2.0","id":1.5,"method":"ram"}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "an unsafe integer request id",
      '{"jsonrpc":"2.0","id":9007199254740992,"method":"ram"}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "a boolean request id",
      '{"jsonrpc":"2.0","id":true,"method":"ram"}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "an object request id",
      '{"jsonrpc":"2.0","id":{},"method":"ram"}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "an array request id",
      '{"jsonrpc":"2.0","id":[1],"method":"ram"}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "a null request id",
      '{"jsonrpc":"2.0","id":null,"method":"ram"}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "a 65-character string id",
      `{"jsonrpc":"2.0","id":"${"i".repeat(65)}","method":"ram"}`,
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "jsonrpc 1.0 with a bad id",
      '{"jsonrpc":"1.0","id":1.5,"method":"ram"}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    ["an id alone", '{"jsonrpc":"2.0","id":9}', ERROR_CODES.invalidRequest, 9],
    ["a string id alone", '{"jsonrpc":"2.0","id":"s"}', ERROR_CODES.invalidRequest, "s"],
    ["a bad id alone", '{"jsonrpc":"2.0","id":1.5}', ERROR_CODES.invalidRequest, null],
    ["an empty object", "{}", ERROR_CODES.invalidRequest, null],
    [
      "an error response without id",
      '{"jsonrpc":"2.0","error":{"code":1,"message":"x"}}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "a success response with a fractional id",
      '{"jsonrpc":"2.0","id":2.5,"result":1}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "a success response with a null id",
      '{"jsonrpc":"2.0","id":null,"result":1}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "an error response with an object id",
      '{"jsonrpc":"2.0","id":{},"error":{"code":1,"message":"x"}}',
      ERROR_CODES.invalidRequest,
      null,
    ],
    [
      "an error object without message",
      '{"jsonrpc":"2.0","id":1,"error":{"code":1}}',
      ERROR_CODES.invalidRequest,
      1,
    ],
    [
      "an error object with a string code",
      '{"jsonrpc":"2.0","id":"e","error":{"code":"1","message":"x"}}',
      ERROR_CODES.invalidRequest,
      "e",
    ],
    [
      "an error member that is a string",
      '{"jsonrpc":"2.0","id":1,"error":"bad"}',
      ERROR_CODES.invalidRequest,
      1,
    ],
  ];
  for (const [what, text, code, requestId] of cases) {
    await t.step(`rejects ${what}`, () => {
      let caught: unknown;
      assert.throws(() => decodeMessage(text), (err) => {
        caught = err;
        return true;
      });
      assert.ok(caught instanceof ProtocolError, `expected ProtocolError, got ${caught}`);
      assert.equal(caught.code, code);
      assert.match(caught.message, /^Cannot decode frame: /);
      if (requestId === undefined) {
        assert.ok(!(caught instanceof DecodeError), "no request id should be claimed");
      } else {
        assert.ok(caught instanceof DecodeError, `expected DecodeError, got ${caught}`);
        assert.equal(caught.requestId, requestId);
      }
    });
  }

  await t.step("keeps the JSON error as the cause of a parse error", () => {
    assert.throws(
      () => decodeMessage("{"),
      (err) => err instanceof ProtocolError && err.cause instanceof SyntaxError,
    );
  });
});

Deno.test("decodeMessage() is safe against prototype keys", async (t) => {
  const polluted = () => (({}) as Record<string, unknown>).polluted;

  await t.step("keeps __proto__ in params as a plain own key", () => {
    const m = decodeMessage(
      '{"jsonrpc":"2.0","id":1,"method":"ram","params":{"__proto__":{"polluted":1}}}',
    );
    assert.equal(m.kind, "request");
    assert.equal(polluted(), undefined);
    const params = (m.msg as { params: Record<string, unknown> }).params;
    assert.equal(Object.getPrototypeOf(params), Object.prototype);
    assert.ok(Object.hasOwn(params, "__proto__"));
    assert.equal(params.polluted, undefined);
    // Copying the params, as handlers do, must not pollute either.
    const copy = { ...params };
    assert.equal(copy.polluted, undefined);
    assert.equal(polluted(), undefined);
  });

  await t.step("ignores envelope members hidden under __proto__", () => {
    assert.throws(
      () => decodeMessage('{"__proto__":{"jsonrpc":"2.0","id":1,"method":"ram"}}'),
      ProtocolError,
    );
    assert.throws(
      () => decodeMessage('{"jsonrpc":"2.0","__proto__":{"id":1,"method":"ram"}}'),
      ProtocolError,
    );
    assert.equal(polluted(), undefined);
  });

  await t.step("treats constructor and prototype keys as data", () => {
    const m = decodeMessage(
      '{"jsonrpc":"2.0","id":2,"method":"constructor","params":{"constructor":{"prototype":{"polluted":1}}}}',
    );
    assert.equal(m.kind, "request");
    assert.equal(polluted(), undefined);
    assert.equal(typeof ({}).constructor, "function");
  });

  await t.step("passes prototype-named methods through as plain strings", () => {
    for (const method of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      const m = decodeMessage(JSON.stringify({ jsonrpc: "2.0", id: 3, method }));
      assert.deepEqual(m, { kind: "request", msg: { jsonrpc: "2.0", id: 3, method } });
    }
  });

  await t.step("is not fooled by a hasOwnProperty member", () => {
    const m = decodeMessage('{"jsonrpc":"2.0","hasOwnProperty":1,"id":4,"method":"ram"}');
    assert.equal(m.kind, "request");
  });
});

Deno.test("encode*() output decodes back to the same message", async (t) => {
  await t.step("encodeRequest() with params", () => {
    const params = { shell: "sh" as const, command: "echo 'a\nb'", timeoutMs: 500 };
    assert.deepEqual(decodeMessage(encodeRequest(9, "exec", params)), {
      kind: "request",
      msg: { jsonrpc: "2.0", id: 9, method: "exec", params },
    });
  });

  await t.step("encodeRequest() without params leaves the member out", () => {
    const text = encodeRequest("s1", "ram");
    assert.equal(text, '{"jsonrpc":"2.0","id":"s1","method":"ram"}');
    assert.deepEqual(decodeMessage(text), {
      kind: "request",
      msg: { jsonrpc: "2.0", id: "s1", method: "ram" },
    });
  });

  await t.step("encodeNotification()", () => {
    const params = { id: 9, stream: "stderr", data: "line 1\nline 2\r\n\u2028€" };
    assert.deepEqual(decodeMessage(encodeNotification("output", params)), {
      kind: "notification",
      msg: { jsonrpc: "2.0", method: "output", params },
    });
  });

  const results: [string, Json][] = [
    ["null", null],
    ["false", false],
    ["zero", 0],
    ["a string", "x\ny"],
    ["an array", [1, "two", null]],
    ["a nested object", { exitCode: 0, signal: null, durationMs: 1.5, nested: { a: [true] } }],
  ];
  for (const [what, result] of results) {
    await t.step(`encodeResult() with ${what}`, () => {
      assert.deepEqual(decodeMessage(encodeResult(10, result)), {
        kind: "success",
        msg: { jsonrpc: "2.0", id: 10, result },
      });
    });
  }

  await t.step("encodeError() with data", () => {
    const error = {
      code: ERROR_CODES.timeout,
      message: "Command timed out after 500 ms",
      data: {
        exitCode: null,
        signal: "SIGKILL",
        durationMs: 501,
        truncated: false,
        droppedBytes: 0,
      },
    };
    assert.deepEqual(decodeMessage(encodeError(11, error)), {
      kind: "error",
      msg: { jsonrpc: "2.0", id: 11, error },
    });
  });

  await t.step("encodeError() with a null id", () => {
    const error = { code: ERROR_CODES.parseError, message: "Parse error" };
    assert.deepEqual(decodeMessage(encodeError(null, error)), {
      kind: "error",
      msg: { jsonrpc: "2.0", id: null, error },
    });
  });

  await t.step("never puts a newline inside a frame", () => {
    const nasty = "a\nb\rc\u2028d\u2029e";
    const frames = [
      encodeRequest(1, "exec", { command: nasty }),
      encodeNotification("output", { data: nasty }),
      encodeResult(1, nasty),
      encodeError(1, { code: 1, message: nasty }),
    ];
    for (const frame of frames) assert.ok(!frame.includes("\n"), frame);
  });
});

Deno.test("isJsonObject() accepts only plain objects", () => {
  assert.equal(isJsonObject({}), true);
  assert.equal(isJsonObject({ a: 1 }), true);
  for (const v of [null, undefined, [], [1], 0, "x", true]) {
    assert.equal(isJsonObject(v), false, JSON.stringify(v));
  }
});

Deno.test("toErrorObject() answers invalidParams only for params errors", async (t) => {
  await t.step("params errors are invalidParams, too-large ones tooLarge", () => {
    assert.equal(toErrorObject(new ParamsTypeError("bad")).code, ERROR_CODES.invalidParams);
    assert.equal(toErrorObject(new ParamsRangeError("bad")).code, ERROR_CODES.invalidParams);
    assert.equal(toErrorObject(new TooLargeError("big")).code, ERROR_CODES.tooLarge);
  });
  await t.step("any other TypeError or RangeError is a bug: internalError, no detail", () => {
    for (
      const err of [new TypeError("x is undefined"), new RangeError("bad length"), new Error()]
    ) {
      assert.deepEqual(toErrorObject(err), {
        code: ERROR_CODES.internalError,
        message: "Internal error",
      });
    }
  });
});
