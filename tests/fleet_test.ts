/**
 * The Fleet and its command registry, in process: each host is a fake server
 * behind an in-memory dialer, so what a server answers is under the test's
 * control. Checks that every command's result validator accepts what the real
 * collectors produce, and that the client refuses a malformed answer, naming
 * the field, instead of handing it to a view.
 * @module
 */

import assert from "node:assert/strict";
import { TokenKey } from "../lib/protocol/auth.ts";
import { FRAME_LIMITS } from "../lib/protocol/constants.ts";
import { RpcPeer } from "../lib/protocol/connection.ts";
import { serverHandshake } from "../lib/protocol/handshake.ts";
import type { Json, Request } from "../lib/protocol/messages.ts";
import type { Dialer } from "../lib/protocol/transport.ts";
import { REMOTE_SPECS } from "../lib/grammar/remote_table.ts";
import { MalformedResultError } from "../lib/grammar/result_check.ts";
import { Fleet } from "../lib/client/fleet.ts";
import { collectAll } from "../lib/sysinfo/all.ts";
import { memoryPair, memoryTransport } from "./protocol_helpers.ts";

const KEY = new TokenKey("fleet-test-token-0123456789abc");

/**
 * A dialer whose every connection reaches an in-process fake server that
 * authenticates, then answers each request with `answer(request)`.
 */
function fakeServerDialer(answer: (req: Request) => Json): {
  dial: Dialer;
  close(): Promise<void>;
} {
  const peers: RpcPeer[] = [];
  const runs: Promise<void>[] = [];
  const dial: Dialer = async () => {
    const [clientEnd, serverEnd] = memoryPair();
    const serverSide = serverHandshake(memoryTransport(serverEnd), {
      key: KEY,
      readOnly: false,
      deadlineMs: 5_000,
      maxFrameBytes: FRAME_LIMITS.postAuth,
    }).then((io) => {
      const peer: RpcPeer = new RpcPeer(serverEnd, io.reader, io.writer, {
        onRequest: (req) => peer.sendResult(req.id, answer(req)),
      });
      peers.push(peer);
      runs.push(peer.run());
    });
    serverSide.catch(() => {/* a failed handshake is the client's to report */});
    return await Promise.resolve(memoryTransport(clientEnd));
  };
  return {
    dial,
    async close() {
      for (const p of peers) p.close();
      await Promise.all(runs);
    },
  };
}

Deno.test("every metric's result validator accepts what the real collectors produce", async () => {
  const info = await collectAll();
  assert.deepEqual(REMOTE_SPECS.info.result(info, "result"), info);
  for (const kind of ["ram", "cpu", "os", "name", "ip", "disk", "uptime"] as const) {
    const spec = REMOTE_SPECS[kind];
    assert.deepEqual(spec.result(info[kind], "result"), info[kind], kind);
  }
});

Deno.test("result validators name the first bad field", async (t) => {
  const cases: [keyof typeof REMOTE_SPECS, unknown, string][] = [
    ["ram", {
      usedPercent: "50",
      totalBytes: 1,
      availableBytes: 1,
      swapTotalBytes: 0,
      swapFreeBytes: 0,
    }, "result.usedPercent is not a number"],
    [
      "cpu",
      { usagePercent: 1, cores: 2, model: "x", loadAvg: [1, 2] },
      "result.loadAvg is not 3 numbers",
    ],
    [
      "ip",
      { addresses: [{ name: "lo", family: "IPv5" }] },
      "result.addresses[0].family is not one of IPv4, IPv6",
    ],
    [
      "exec",
      { exitCode: "0", signal: null, durationMs: 1, truncated: false, droppedBytes: 0 },
      "result.exitCode is not a number",
    ],
    ["kill", { ok: false }, "result.ok is not true"],
    ["disk", [], "result is not an object"],
  ];
  for (const [kind, value, message] of cases) {
    await t.step(kind, () => {
      assert.throws(() => REMOTE_SPECS[kind].result(value, "result"), (err) => {
        assert.ok(err instanceof MalformedResultError);
        assert.equal(err.message, `Malformed answer: ${message}`);
        return true;
      });
    });
  }
});

Deno.test("Fleet.run() refuses a malformed answer as an error, and passes a good one", async (t) => {
  const good = { hostname: "box1" };
  const answers: Record<string, Json> = { name: good, ram: { usedPercent: "lots" } };
  const server = fakeServerDialer((req) => answers[req.method] ?? { ok: true });
  const fleet = new Fleet({ reconnect: false });
  fleet.add({
    name: "h1",
    endpoint: { hostname: "memory", port: 1 },
    groups: [],
    token: KEY,
    dial: server.dial,
  });
  try {
    await fleet.connect();
    assert.equal(fleet.get("h1")!.state, "up");
    await t.step("a well-formed answer reaches the result as data", async () => {
      const [result] = await fleet.run(["h1"], { kind: "name" });
      assert.equal(result!.status, "ok");
      assert.deepEqual(result!.data, good);
    });
    await t.step("a malformed one is an error naming the field", async () => {
      const [result] = await fleet.run(["h1"], { kind: "ram" });
      assert.equal(result!.status, "error");
      assert.equal(result!.error, "Malformed answer: result.usedPercent is not a number");
      assert.equal(result!.data, undefined);
    });
  } finally {
    await fleet.close();
    await server.close();
  }
});
