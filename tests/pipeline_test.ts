/**
 * A cold one-shot host costs as few writes and round trips as it can: a
 * metric query goes out in the same write as the `auth` request (the server
 * runs it only once the auth succeeded), marked `last` so that a server that
 * offers `closeAfter` closes once it has answered, and a plain client sends
 * its probe line only to a server that has not greeted it. Real servers throughout,
 * watched through a relay that can tell a pipelined request from one sent
 * after the auth answer.
 * @module
 */

import assert from "node:assert/strict";
import { Fleet } from "../lib/client/fleet.ts";
import { dialTcp, PROBE_DELAY_MS } from "../lib/protocol/tcp_transport.ts";
import { clientHandshake, TokenKey } from "../lib/protocol/handshake.ts";
import { AuthError, RemoteError } from "../lib/protocol/errors.ts";
import { deadline } from "../lib/async.ts";
import { EXIT_CODES } from "../lib/usage.ts";
import { DEFAULT_ADMISSION } from "../lib/server/admission.ts";
import {
  connect,
  countingRelays,
  ndjson,
  runClient,
  startInProcessServer,
  startServer,
  TEST_TOKEN,
  watchingRelay,
} from "./helpers.ts";

const env = { RMON_TOKEN: TEST_TOKEN };
const RAM = '"method":"ram"';

Deno.test("one-shot ram sends its request with the auth, to a real server, and gets the answer", async () => {
  await using server = await startServer();
  await using relay = watchingRelay(server.port, { marker: RAM });
  const run = await runClient(["--hosts", `127.0.0.1:${relay.port}`, "--json", "--", "ram"], {
    env,
  });
  assert.equal(run.code, EXIT_CODES.ok, run.stderr);
  const [record] = ndjson(run.stdout);
  assert.equal(record?.status, "ok", run.stdout);
  assert.equal(typeof (record?.data as { totalBytes?: unknown }).totalBytes, "number");
  const [conn] = relay.connections;
  assert.ok(conn?.sentBeforeAuthAnswer, "the ram request left before the auth answer came");
  // No probe line: the server greeted at once.
  assert.ok(conn.fromClient.startsWith("{"), JSON.stringify(conn.fromClient.slice(0, 20)));
  const frames = conn.fromClient.trimEnd().split("\n").map((f) => JSON.parse(f));
  assert.deepEqual(frames.map((f) => f.method), ["auth", "ram"]);
});

Deno.test("commands that act or carry text wait for the server's proof before they are sent", async () => {
  await using server = await startServer();
  await using relay = watchingRelay(server.port, { marker: '"method":"exec"', holdMs: 300 });
  const run = await runClient(
    ["--hosts", `127.0.0.1:${relay.port}`, "--json", "--", "sh: echo hi"],
    { env },
  );
  assert.equal(run.code, EXIT_CODES.ok, run.stderr);
  assert.equal(ndjson(run.stdout)[0]?.stdout, "hi\n");
  assert.equal(relay.connections[0]?.sentBeforeAuthAnswer, false);
});

Deno.test("a refused auth with a pipelined request is auth_failed, and the server never runs it", async (t) => {
  // Penalties off: every connection must meet the handshake, not a refusal at the door.
  await using server = await startInProcessServer({
    credentials: { token: new TokenKey("another-token-Q7v2Lx9Pw4Zr8Kd3Nf6Hs1Jm5"), keys: null },
    limits: { ...DEFAULT_ADMISSION, penaltyMs: 0 },
  });
  await t.step("one-shot: every host auth_failed, exit 3", async () => {
    await using relays = countingRelays(8, server.port);
    const hosts = relays.ports.map((p) => `127.0.0.1:${p}`);
    const run = await runClient(["--hosts", hosts.join(","), "--json", "--", "ram"], { env });
    assert.equal(run.code, EXIT_CODES.unreachable, run.stderr);
    const records = ndjson(run.stdout);
    assert.equal(records.length, 8);
    for (const r of records) {
      assert.equal(r.status, "auth_failed", JSON.stringify(r));
      assert.match(String(r.error), /bad token/);
    }
  });
  await t.step("the handshake fails with AuthError and fails the pipelined call", async () => {
    const transport = await dialTcp({ hostname: "127.0.0.1", port: server.port }, 5_000);
    let answer: Promise<unknown> | null = null;
    await assert.rejects(
      clientHandshake(transport, {
        key: new TokenKey(TEST_TOKEN),
        timeoutMs: 5_000,
        pipeline: (peer) => answer = peer.call("ram"),
      }),
      AuthError,
    );
    assert.ok(answer !== null, "the call was made");
    await assert.rejects(answer);
  });
  assert.ok(!server.log.some((line) => / ram: /.test(line)), server.log.join("\n"));
  assert.ok(server.log.some((line) => /auth failed/.test(line)), server.log.join("\n"));
});

Deno.test("a plain server that greets late gets the probe line first, and the client still signs in", async () => {
  await using server = await startServer();
  await using relay = watchingRelay(server.port, {
    marker: RAM,
    helloDelayMs: PROBE_DELAY_MS * 2,
  });
  const fleet = new Fleet({ heartbeatMs: 0, describe: false, reconnect: false });
  fleet.add({
    name: "late",
    endpoint: { hostname: "127.0.0.1", port: relay.port },
    groups: [],
    token: TEST_TOKEN,
    dial: dialTcp,
  });
  const [result] = await fleet.run(["late"], { kind: "ram" }, { connectEach: true });
  await fleet.close();
  assert.equal(result?.status, "ok", JSON.stringify(result));
  const sent = relay.connections[0]?.fromClient ?? "";
  assert.ok(sent.startsWith("\n{"), JSON.stringify(sent.slice(0, 20)));
});

Deno.test("a call marked last (closeAfter) is answered, then the server closes the connection", async (t) => {
  await using server = await startInProcessServer();
  await using older = await startInProcessServer({ features: [] });
  await t.step(
    "the server closes once it has answered, without waiting for the client",
    async () => {
      await using s = await connect(server);
      assert.ok(s.hello.features?.includes("closeAfter"));
      const data = await s.peer.call("ram", { last: true }) as { totalBytes?: unknown };
      assert.equal(typeof data.totalBytes, "number");
      const closed = await deadline(s.peer.closed.then(() => true), 5_000, () => false);
      assert.ok(closed, "the server closed the connection");
      assert.match(String(s.peer.closeReason?.message), /Connection closed/);
    },
  );
  await t.step("last: false changes nothing: the connection stays open", async () => {
    await using s = await connect(server);
    await s.peer.call("ram", { last: false });
    assert.equal(await s.peer.call("heartbeat") !== null, true);
    assert.equal(s.peer.isClosed, false);
  });
  await t.step(
    "only metric queries may carry it: anything else refuses it as a field",
    async () => {
      await using s = await connect(server);
      await assert.rejects(
        s.peer.call("exec", { shell: "sh", command: "true", last: true }),
        (err: unknown) => err instanceof RemoteError && /last/.test(err.message),
      );
      assert.equal(s.peer.isClosed, false);
    },
  );
  await t.step("a server that does not offer it refuses it like an older one", async () => {
    await using s = await connect(older);
    assert.ok(!s.hello.features?.includes("closeAfter"));
    await assert.rejects(
      s.peer.call("ram", { last: true }),
      (err: unknown) => err instanceof RemoteError && /last/.test(err.message),
    );
  });
  await t.step("one-shot asks for it only where offered, and both servers answer ok", async () => {
    await using a = watchingRelay(server.port, { marker: RAM });
    await using b = watchingRelay(older.port, { marker: RAM });
    const hosts = `127.0.0.1:${a.port},127.0.0.1:${b.port}`;
    const run = await runClient(["--hosts", hosts, "--json", "--", "ram"], { env });
    assert.equal(run.code, EXIT_CODES.ok, run.stderr);
    assert.deepEqual(ndjson(run.stdout).map((r) => r.status), ["ok", "ok"]);
    assert.match(a.connections[0]?.fromClient ?? "", /"params":\{"last":true\}/);
    assert.doesNotMatch(b.connections[0]?.fromClient ?? "", /"last"/);
  });
});
