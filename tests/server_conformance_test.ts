/**
 * Integration tests of `rmon-server`'s protocol conformance (issue #7): every
 * answer carries the id it can, protocol methods check their params, and no
 * id is ever answered twice. Real server processes on loopback, driven by raw
 * frames so the tests choose ids and shapes that a well-behaved client never sends.
 * @module
 */

import assert from "node:assert/strict";
import { ERROR_CODES, LIMITS } from "../lib/protocol/constants.ts";
import { rawAuthenticated, startServer } from "./helpers.ts";

/** An answer frame as the tests look at it. */
interface Answer {
  id: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

Deno.test("rmon-server answers a frame without a method with its readable id", async (t) => {
  await using server = await startServer();
  await using raw = await rawAuthenticated(server);
  const cases: [string, unknown, unknown][] = [
    ["an id alone", { jsonrpc: "2.0", id: 5 }, 5],
    ["a string id alone", { jsonrpc: "2.0", id: "x-1" }, "x-1"],
    ["a result the server never asked for", { jsonrpc: "2.0", id: 6, result: 1 }, 6],
    [
      "an error response the server never asked for",
      { jsonrpc: "2.0", id: 7, error: { code: 1, message: "x" } },
      7,
    ],
    ["a malformed error member", { jsonrpc: "2.0", id: 8, error: "bad" }, 8],
    ["an unreadable id", { jsonrpc: "2.0", id: 1.5 }, null],
  ];
  for (const [what, frame, id] of cases) {
    await t.step(what, async () => {
      await raw.send(frame);
      const answer = await raw.next() as Answer;
      assert.equal(answer.id, id);
      assert.equal(answer.error?.code, ERROR_CODES.invalidRequest);
    });
  }
  await t.step("the connection stays usable", async () => {
    await raw.send({ jsonrpc: "2.0", id: 9, method: "heartbeat" });
    const answer = await raw.next() as Answer;
    assert.equal(answer.id, 9);
    assert.equal(typeof answer.result?.time, "number");
  });
});

Deno.test("rmon-server checks heartbeat and cancel params strictly", async (t) => {
  await using server = await startServer();
  await using raw = await rawAuthenticated(server);
  let nextId = 100;
  /** Send one request and return its answer, checking that it carries the request's id. */
  const ask = async (method: string, params?: unknown): Promise<Answer> => {
    const id = nextId++;
    await raw.send(
      params === undefined ? { jsonrpc: "2.0", id, method } : {
        jsonrpc: "2.0",
        id,
        method,
        params,
      },
    );
    const answer = await raw.next() as Answer;
    assert.equal(answer.id, id);
    return answer;
  };
  await t.step("heartbeat without params or with {} answers the time", async () => {
    for (const params of [undefined, {}]) {
      const answer = await ask("heartbeat", params);
      assert.equal(typeof answer.result?.time, "number");
    }
  });
  await t.step("heartbeat with any field is invalidParams", async () => {
    const answer = await ask("heartbeat", { at: 1 });
    assert.equal(answer.error?.code, ERROR_CODES.invalidParams);
    assert.equal(answer.error?.message, 'Cannot run "heartbeat": unexpected field "at"');
  });
  await t.step("cancel of an id not running answers cancelled: false", async () => {
    assert.deepEqual((await ask("cancel", { id: 12345 })).result, { cancelled: false });
    assert.deepEqual((await ask("cancel", { id: "nope" })).result, { cancelled: false });
  });
  const bad: [string, unknown, string][] = [
    ["no params", undefined, 'Cannot run "cancel": field "id" is missing'],
    ["empty params", {}, 'Cannot run "cancel": field "id" is missing'],
    ["an extra field", { id: 1, all: true }, 'Cannot run "cancel": unexpected field "all"'],
    ["a fractional id", { id: 1.5 }, 'Cannot run "cancel": field "id" must be a request id'],
    ["a null id", { id: null }, 'Cannot run "cancel": field "id" must be a request id'],
    ["a boolean id", { id: true }, 'Cannot run "cancel": field "id" must be a request id'],
    ["an array id", { id: [1] }, 'Cannot run "cancel": field "id" must be a request id'],
    [
      "a 65-character id",
      { id: "i".repeat(65) },
      'Cannot run "cancel": field "id" must be a request id',
    ],
  ];
  for (const [what, params, message] of bad) {
    await t.step(`cancel with ${what} is invalidParams`, async () => {
      const answer = await ask("cancel", params);
      assert.equal(answer.error?.code, ERROR_CODES.invalidParams);
      assert.ok(answer.error?.message.startsWith(message), answer.error?.message);
    });
  }
});

Deno.test("rmon-server never answers one id twice, heartbeat and cancel included", async () => {
  await using server = await startServer();
  await using raw = await rawAuthenticated(server);
  await raw.send({
    jsonrpc: "2.0",
    id: 5,
    method: "exec",
    params: { shell: "sh", command: "sleep 30" },
  });
  // The exec is in flight under id 5: every other request reusing 5 is refused.
  for (const [method, params] of [["heartbeat", undefined], ["cancel", { id: 5 }], ["ram", {}]]) {
    await raw.send({ jsonrpc: "2.0", id: 5, method, params });
    const answer = await raw.next() as Answer;
    assert.equal(answer.id, 5);
    assert.equal(answer.error?.code, ERROR_CODES.invalidRequest, String(method));
    assert.equal(answer.error?.message, "Duplicate request id 5");
  }
  await raw.send({ jsonrpc: "2.0", id: 6, method: "cancel", params: { id: 5 } });
  const answers = [await raw.next() as Answer, await raw.next() as Answer];
  const cancel = answers.find((a) => a.id === 6);
  const exec = answers.find((a) => a.id === 5);
  assert.deepEqual(cancel?.result, { cancelled: true });
  assert.equal(exec?.error?.code, ERROR_CODES.cancelled);
});

Deno.test("rmon-server still serves heartbeat and cancel on a connection answering busy", async () => {
  await using server = await startServer();
  await using raw = await rawAuthenticated(server);
  for (let id = 1; id <= LIMITS.callsPerConnection; id++) {
    await raw.send({
      jsonrpc: "2.0",
      id,
      method: "exec",
      params: { shell: "sh", command: "sleep 30" },
    });
  }
  const full = LIMITS.callsPerConnection + 1;
  await raw.send({ jsonrpc: "2.0", id: full, method: "ram" });
  const busy = await raw.next() as Answer;
  assert.equal(busy.id, full);
  assert.equal(busy.error?.code, ERROR_CODES.busy);
  await raw.send({ jsonrpc: "2.0", id: "hb", method: "heartbeat" });
  const beat = await raw.next() as Answer;
  assert.equal(beat.id, "hb");
  assert.equal(typeof beat.result?.time, "number");
  await raw.send({ jsonrpc: "2.0", id: "c", method: "cancel", params: { id: 1 } });
  const answers = [await raw.next() as Answer, await raw.next() as Answer];
  assert.deepEqual(answers.find((a) => a.id === "c")?.result, { cancelled: true });
  assert.equal(answers.find((a) => a.id === 1)?.error?.code, ERROR_CODES.cancelled);
});

Deno.test("rmon-server answers an exec command over 64 KiB with tooLarge", async () => {
  await using server = await startServer();
  await using raw = await rawAuthenticated(server);
  const command = "x".repeat(LIMITS.commandBytes + 1);
  await raw.send({ jsonrpc: "2.0", id: 1, method: "exec", params: { shell: "sh", command } });
  const answer = await raw.next() as Answer;
  assert.equal(answer.id, 1);
  assert.deepEqual(answer.error, {
    code: ERROR_CODES.tooLarge,
    message: 'Cannot run "exec": the command is 65537 bytes, over the 65536-byte limit',
  });
});
