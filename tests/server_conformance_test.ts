/**
 * Integration tests of `rmon-server`'s protocol conformance (issue #7): every
 * answer carries the id it can, protocol methods check their params, and no
 * id is ever answered twice. Real server processes on loopback, driven by raw
 * frames so the tests choose ids and shapes that a well-behaved client never sends.
 * @module
 */

import assert from "node:assert/strict";
import { ERROR_CODES } from "../lib/protocol/constants.ts";
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
