/**
 * In-process integration tests of server sessions (lib/server/session.ts):
 * an `RmonServer` on a free loopback port in this process, driven by real
 * client connections. They cover what only the server's own promises can
 * show (shutdown resolves once every process is reaped) and the order of
 * frames on the wire; tests/server_test.ts covers the commands themselves.
 * @module
 */

import assert from "node:assert/strict";
import { ConnectionClosedError } from "../lib/protocol/errors.ts";
import { ERROR_CODES, NOTIFICATIONS } from "../lib/protocol/constants.ts";
import type { ByeParams, OutputParams } from "../lib/protocol/messages.ts";
import { connect, isAlive, rawAuthenticated, rawDial, startInProcessServer } from "./helpers.ts";
import { AuditLog } from "../lib/server/audit.ts";

/** A frame as a raw client reads it. */
interface Frame {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: { code: number; message: string };
}

Deno.test("RmonServer.shutdown() says bye, and resolves once the running exec's process is gone", async () => {
  await using srv = await startInProcessServer();
  await using s = await connect(srv);
  const byes: ByeParams[] = [];
  s.peer.handlers.onNotification = (n) => {
    if (n.method === NOTIFICATIONS.bye) byes.push(n.params as unknown as ByeParams);
  };
  let started!: (pid: number) => void;
  const pid = new Promise<number>((r) => started = r);
  const call = s.peer.call("exec", { shell: "sh", command: "echo $$; exec sleep 30" }, {
    onOutput: (o: OutputParams) => started(Number(o.data.trim())),
  }).then(() => null, (err: unknown) => err);
  // The shell printed its pid: the process runs.
  const child = await pid;
  assert.ok(isAlive(child), `${child} runs`);
  await srv.server.shutdown();
  // No waiting here: shutdown itself waits for the call, which waits for its process.
  assert.ok(!isAlive(child), `${child} was killed and reaped before shutdown resolved`);
  assert.equal(srv.server.sessionCount, 0);
  assert.ok(await call instanceof ConnectionClosedError, "the call ends with the connection");
  assert.deepEqual(byes, [{ reason: "shutdown" }]);
  assert.ok(srv.log.some((l) => l.endsWith(" info shutting down (shutdown)")), srv.log.join("\n"));
});

Deno.test("RmonServer.shutdown() closes a connection still in its handshake at once", async () => {
  // A handshake deadline far beyond the wait below: only the shutdown can close it in time.
  await using srv = await startInProcessServer({ authTimeoutMs: 60_000 });
  await using raw = await rawDial(srv);
  const hello = await raw.lines(1, 10_000);
  assert.match(hello.text, /"hello"/, "the server greeted the client");
  assert.equal(srv.server.sessionCount, 1);
  await srv.server.shutdown();
  const end = await raw.receive(10_000);
  assert.ok(end.closed, "the server closed the half-open connection");
  assert.equal(srv.server.sessionCount, 0);
});

Deno.test("Session sends no output for a call after its answer, even when cancelled mid-stream", async () => {
  await using srv = await startInProcessServer();
  await using raw = await rawAuthenticated(srv);
  const next = async () => await raw.next() as Frame;
  const isOutputOf = (f: Frame, id: number) =>
    f.method === NOTIFICATIONS.output && f.params?.id === id;
  await raw.send({
    jsonrpc: "2.0",
    id: 1,
    method: "exec",
    params: { shell: "sh", command: "while :; do echo tick; done" },
  });
  // Wait for the stream to flow, then cancel it.
  assert.ok(isOutputOf(await next(), 1), "the exec streams first");
  await raw.send({ jsonrpc: "2.0", id: 2, method: "cancel", params: { id: 1 } });
  const answers = new Map<number, Frame>();
  while (!answers.has(1)) {
    const f = await next();
    if (f.id !== undefined) answers.set(f.id, f);
  }
  assert.equal(answers.get(1)!.error?.code, ERROR_CODES.cancelled);
  // Everything the server writes from now on is after the exec's answer: a heartbeat's
  // answer marks the end of what to look at.
  await raw.send({ jsonrpc: "2.0", id: 3, method: "heartbeat" });
  const after: Frame[] = [];
  for (let f = await next(); f.id !== 3; f = await next()) after.push(f);
  assert.equal(after.filter((f) => isOutputOf(f, 1)).length, 0, JSON.stringify(after));
  const cancel = answers.get(2) ?? after.find((f) => f.id === 2);
  assert.deepEqual(cancel?.result, { cancelled: true });
});

Deno.test("Session keeps serving when the audit log cannot be written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-audit-fail-" });
  // A real audit log whose file is already closed: every write fails, as on a full disk.
  const audit = AuditLog.open(`${dir}/audit.jsonl`);
  audit.close();
  try {
    await using server = await startInProcessServer({ audit });
    await using client = await connect(server);
    const end = await client.peer.call("exec", { shell: "sh", command: "echo hi" });
    assert.equal((end as { exitCode: number }).exitCode, 0);
    assert.ok(await client.peer.call("name"));
    assert.ok(
      server.log.some((line) => line.includes("audit log not written")),
      server.log.join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
