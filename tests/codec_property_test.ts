// Codec layer, property-based (fast-check): the encoders round-trip through
// decodeMessage(), and decodeMessage() fails on anything only with
// ProtocolError. Needs no permissions; each property runs well under 2 s.

import assert from "node:assert/strict";
import fc from "fast-check";
import { ProtocolError } from "../lib/protocol/errors.ts";
import {
  DecodeError,
  decodeMessage,
  encodeError,
  encodeNotification,
  encodeRequest,
  encodeResult,
  isRequestId,
} from "../lib/protocol/codec.ts";
import type { Json, JsonObject, RequestId, RpcErrorObject } from "../lib/protocol/messages.ts";

/** Any Unicode text, lone surrogates aside (JSON text carries them, UTF-8 frames do not). */
const text = fc.string({ unit: "binary", maxLength: 80 });

/** Every valid request id: a safe integer, or a string of at most 64 UTF-16 units. */
const requestId: fc.Arbitrary<RequestId> = fc.oneof(
  fc.maxSafeInteger(),
  fc.string({ unit: "binary", maxLength: 64 }).filter((s) => s.length <= 64),
);

/**
 * A value as `JSON.parse` makes it: what a peer can send. (fast-check's own
 * values may hold -0, which JSON writes as 0, and objects without a prototype.)
 */
function parsed<T>(arb: fc.Arbitrary<unknown>): fc.Arbitrary<T> {
  return arb.map((v) => JSON.parse(JSON.stringify(v)) as T);
}

/** Any JSON value, and any JSON object (keys such as `__proto__` included). */
const json = parsed<Json>(fc.jsonValue({ maxDepth: 4 }));
const jsonObject = parsed<JsonObject>(
  fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }),
);

/** Whatever a peer might put in an envelope member, valid or not. */
const anything = fc.oneof(json, requestId, fc.constant("2.0"), jsonObject);

/** Envelope-shaped objects: any subset of the members, each valid or not. */
const envelope = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant("2.0"), anything),
    id: fc.oneof(requestId, anything),
    method: fc.oneof(text, anything),
    params: fc.oneof(jsonObject, anything),
    result: anything,
    error: fc.oneof(
      fc.record({ code: fc.integer(), message: text }),
      fc.record({ code: anything, message: anything, data: json }, { requiredKeys: [] }),
      anything,
    ),
  },
  { requiredKeys: [] },
);

Deno.test("encodeRequest() and encodeNotification() round-trip through decodeMessage()", () => {
  fc.assert(
    fc.property(
      requestId,
      text,
      fc.option(jsonObject, { nil: undefined }),
      (id, method, params) => {
        const msg = params === undefined
          ? { jsonrpc: "2.0", id, method }
          : { jsonrpc: "2.0", id, method, params };
        assert.deepEqual(decodeMessage(encodeRequest(id, method, params)), {
          kind: "request",
          msg,
        });
      },
    ),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(text, jsonObject, (method, params) => {
      assert.deepEqual(decodeMessage(encodeNotification(method, params)), {
        kind: "notification",
        msg: { jsonrpc: "2.0", method, params },
      });
    }),
    { numRuns: 300 },
  );
});

Deno.test("encodeResult() and encodeError() round-trip through decodeMessage()", () => {
  fc.assert(
    fc.property(requestId, json, (id, result) => {
      assert.deepEqual(decodeMessage(encodeResult(id, result)), {
        kind: "success",
        msg: { jsonrpc: "2.0", id, result },
      });
    }),
    { numRuns: 300 },
  );
  const errorObject = parsed<RpcErrorObject>(
    fc.record({ code: fc.integer(), message: text, data: json }, {
      requiredKeys: ["code", "message"],
    }),
  );
  fc.assert(
    fc.property(fc.option(requestId), errorObject, (id, error) => {
      assert.deepEqual(decodeMessage(encodeError(id, error)), {
        kind: "error",
        msg: { jsonrpc: "2.0", id, error },
      });
    }),
    { numRuns: 300 },
  );
});

/** Decode `frame`; any failure must be a ProtocolError, and a DecodeError's id the frame's own. */
function decodeOrProtocolError(frame: string, value?: unknown): void {
  try {
    const m = decodeMessage(frame);
    // What decodes is what its kind promises.
    if (m.kind === "request") assert.ok(isRequestId(m.msg.id) && typeof m.msg.method === "string");
    if (m.kind === "notification") assert.ok(!Object.hasOwn(m.msg, "id"));
    if (m.kind === "success") assert.ok(isRequestId(m.msg.id) && Object.hasOwn(m.msg, "result"));
    if (m.kind === "error") assert.ok(m.msg.id === null || isRequestId(m.msg.id));
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `unexpected ${err}`);
    if (err instanceof DecodeError && err.requestId !== null) {
      assert.ok(isRequestId(err.requestId));
      assert.deepEqual(
        err.requestId,
        (value as { id?: unknown }).id,
        "the id claimed is the frame's",
      );
    }
  }
}

Deno.test("decodeMessage() fails on any JSON only with ProtocolError", () => {
  fc.assert(
    fc.property(envelope, (value) => decodeOrProtocolError(JSON.stringify(value), value)),
    { numRuns: 1_000 },
  );
  fc.assert(
    fc.property(json, (value) => decodeOrProtocolError(JSON.stringify(value), value)),
    { numRuns: 300 },
  );
});

Deno.test("decodeMessage() fails on any text only with ProtocolError", () => {
  fc.assert(fc.property(fc.string({ unit: "binary" }), (t) => decodeOrProtocolError(t)), {
    numRuns: 300,
  });
});
