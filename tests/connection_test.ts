/**
 * Unit tests of the connection layer (`RpcPeer`) over in-memory socket pairs:
 * ids, response matching, output routing, close, call timeouts and protocol
 * faults. The far end is a frame-level `FakePeer`; no sockets, no permissions.
 * @module
 */

import assert from "node:assert/strict";
import { type PeerHandlers, RpcPeer } from "../lib/protocol/connection.ts";
import { FrameReader, FrameWriter } from "../lib/protocol/framing.ts";
import { ERROR_CODES, METHODS, NOTIFICATIONS } from "../lib/protocol/constants.ts";
import {
  ConnectionClosedError,
  ProtocolError,
  RemoteError,
  TimeoutError,
} from "../lib/protocol/errors.ts";
import type { Notification, OutputParams } from "../lib/protocol/messages.ts";
import { FakePeer, memoryPair } from "./protocol_helpers.ts";

/** A request as the fake end receives it. */
interface SeenRequest {
  jsonrpc: string;
  id: number;
  method: string;
  params?: Record<string, unknown>;
}

/** An `RpcPeer` under test, its read loop running, and the fake far end; dispose to end both. */
function peerPair(handlers: PeerHandlers = {}) {
  const [ours, theirs] = memoryPair();
  const peer = new RpcPeer(
    ours,
    new FrameReader(ours, 1024 * 1024),
    new FrameWriter(ours),
    handlers,
  );
  const fake = new FakePeer(theirs);
  const running = peer.run();
  return {
    peer,
    fake,
    running,
    /** The next request the fake end received. */
    next: async () => await fake.recvJson() as unknown as SeenRequest,
    async [Symbol.asyncDispose]() {
      peer.close();
      await running;
      fake.close();
    },
  };
}

/** How a promise ended, to assert on a rejection without an unhandled one in between. */
function settled<T>(
  p: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
}

Deno.test("RpcPeer.call() numbers requests and matches each answer to its call", async (t) => {
  await t.step("ids count up from 1 and carry method and params", async () => {
    await using p = peerPair();
    const calls = [p.peer.call("name"), p.peer.call("exec", { shell: "sh", command: "true" })];
    const [a, b] = [await p.next(), await p.next()];
    assert.deepEqual(a, { jsonrpc: "2.0", id: 1, method: "name" });
    assert.deepEqual(b, {
      jsonrpc: "2.0",
      id: 2,
      method: "exec",
      params: { shell: "sh", command: "true" },
    });
    assert.equal(p.peer.pendingCount, 2);
    // Answered out of order: each call still gets its own result.
    await p.fake.send({ jsonrpc: "2.0", id: 2, result: "second" });
    await p.fake.send({ jsonrpc: "2.0", id: 1, result: "first" });
    assert.deepEqual(await Promise.all(calls), ["first", "second"]);
    assert.equal(p.peer.pendingCount, 0);
  });
  await t.step("an error answer rejects with RemoteError carrying the wire code", async () => {
    await using p = peerPair();
    const call = settled(p.peer.call("nope"));
    const req = await p.next();
    await p.fake.send({
      jsonrpc: "2.0",
      id: req.id,
      error: { code: ERROR_CODES.methodNotFound, message: "Method not found" },
    });
    const end = await call;
    assert.ok(!end.ok && end.error instanceof RemoteError);
    assert.equal(end.error.code, ERROR_CODES.methodNotFound);
    assert.equal(end.error.message, "Method not found");
    assert.ok(!p.peer.isClosed, "a call's error leaves the connection open");
  });
});

Deno.test("RpcPeer routes output to its call and other notifications to the handler", async () => {
  const notes: Notification[] = [];
  await using p = peerPair({ onNotification: (n) => notes.push(n) });
  const outputs = new Map<number, OutputParams[]>([[1, []], [2, []]]);
  const one = p.peer.call("exec", {}, { onOutput: (o) => outputs.get(1)!.push(o) });
  const two = p.peer.call("exec", {}, { onOutput: (o) => outputs.get(2)!.push(o) });
  await p.next();
  await p.next();
  const output = (id: number, data: string) => ({
    jsonrpc: "2.0",
    method: NOTIFICATIONS.output,
    params: { id, stream: "stdout", data },
  });
  await p.fake.send(output(2, "for two"));
  await p.fake.send(output(1, "for one"));
  await p.fake.send(output(7, "for nobody")); // no such call: dropped, not an error
  await p.fake.send({ jsonrpc: "2.0", method: NOTIFICATIONS.bye, params: { reason: "test" } });
  await p.fake.send({ jsonrpc: "2.0", id: 1, result: null });
  await p.fake.send({ jsonrpc: "2.0", id: 2, result: null });
  await Promise.all([one, two]);
  assert.deepEqual(outputs.get(1), [{ id: 1, stream: "stdout", data: "for one" }]);
  assert.deepEqual(outputs.get(2), [{ id: 2, stream: "stdout", data: "for two" }]);
  assert.deepEqual(notes.map((n) => n.method), [NOTIFICATIONS.bye]);
});

Deno.test("RpcPeer fails pending calls with ConnectionClosedError when the connection ends", async (t) => {
  await t.step("the peer hangs up", async () => {
    await using p = peerPair();
    const call = settled(p.peer.call("name"));
    await p.next();
    p.fake.close();
    await p.running;
    const end = await call;
    assert.ok(!end.ok && end.error instanceof ConnectionClosedError);
    assert.ok(p.peer.isClosed);
    await p.peer.closed;
  });
  await t.step("we close, with a reason; later calls fail at once", async () => {
    await using p = peerPair();
    const call = settled(p.peer.call("name"));
    await p.next();
    p.peer.close(new Error("going away"));
    const end = await call;
    assert.ok(!end.ok && end.error instanceof ConnectionClosedError);
    assert.match(end.error.message, /going away/);
    await assert.rejects(p.peer.call("name"), ConnectionClosedError);
    assert.equal(p.peer.pendingCount, 0);
  });
});

Deno.test("RpcPeer.call() gives up after timeoutMs and sends cancel for it", async () => {
  await using p = peerPair();
  const call = settled(p.peer.call("exec", {}, { timeoutMs: 1 }));
  const req = await p.next();
  const cancel = await p.next();
  assert.equal(cancel.method, METHODS.cancel);
  assert.deepEqual(cancel.params, { id: req.id });
  const end = await call;
  assert.ok(!end.ok && end.error instanceof TimeoutError);
  assert.match(end.error.message, /No answer to "exec" within 1 ms/);
  // The cancel is a call of its own; answering it settles it, and a late answer to the
  // abandoned call is then an unknown id, so the test answers only the cancel.
  await p.fake.send({ jsonrpc: "2.0", id: cancel.id, result: null });
  assert.ok(!p.peer.isClosed);
});

Deno.test("RpcPeer.call() sends cancel when its signal aborts", async () => {
  await using p = peerPair();
  const ac = new AbortController();
  const call = settled(p.peer.call("exec", {}, { signal: ac.signal }));
  const req = await p.next();
  ac.abort();
  const cancel = await p.next();
  assert.equal(cancel.method, METHODS.cancel);
  assert.deepEqual(cancel.params, { id: req.id });
  // The call ends with the server's answer to it, not with the abort.
  await p.fake.send({
    jsonrpc: "2.0",
    id: req.id,
    error: { code: ERROR_CODES.cancelled, message: "Cancelled" },
  });
  await p.fake.send({ jsonrpc: "2.0", id: cancel.id, result: null });
  const end = await call;
  assert.ok(!end.ok && end.error instanceof RemoteError);
  assert.equal(end.error.code, ERROR_CODES.cancelled);
});

Deno.test("RpcPeer treats an answer to an unknown id as a protocol error", async (t) => {
  await t.step("by default it closes the connection and fails pending calls", async () => {
    await using p = peerPair();
    const call = settled(p.peer.call("name"));
    await p.next();
    await p.fake.send({ jsonrpc: "2.0", id: 99, result: "who asked?" });
    await p.running;
    const reason = p.peer.closeReason;
    assert.ok(reason instanceof ConnectionClosedError && reason.cause instanceof ProtocolError);
    assert.match(reason.message, /Cannot match response: unknown id 99/);
    const end = await call;
    assert.ok(!end.ok && end.error instanceof ConnectionClosedError);
  });
  await t.step("onBadFrame hears of it and may keep the connection", async () => {
    const faults: ProtocolError[] = [];
    await using p = peerPair({
      onBadFrame: (err) => {
        faults.push(err);
        return true;
      },
    });
    const call = p.peer.call("name");
    const req = await p.next();
    await p.fake.send({ jsonrpc: "2.0", id: 99, result: "who asked?" });
    await p.fake.send({ jsonrpc: "2.0", id: req.id, result: "host" });
    assert.equal(await call, "host");
    assert.equal(faults.length, 1);
    assert.match(faults[0]!.message, /Cannot match response: unknown id 99/);
    assert.ok(!p.peer.isClosed);
  });
});
