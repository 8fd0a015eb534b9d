// The handshake, both sides, over in-memory socket pairs: real client against
// real server, and each against a fake (misbehaving) peer. Needs no permissions.

import assert from "node:assert/strict";
import { AuthError, isTransient, ProtocolError, TimeoutError } from "../lib/protocol/errors.ts";
import { isValidNonce, newNonce, TokenKey } from "../lib/protocol/auth.ts";
import {
  ERROR_CODES,
  FRAME_LIMITS,
  PROTOCOL_VERSION,
  RMON_VERSION,
} from "../lib/protocol/constants.ts";
import { RpcPeer } from "../lib/protocol/connection.ts";
import {
  clientHandshake,
  serverHandshake,
  type ServerHandshakeOptions,
} from "../lib/protocol/handshake.ts";
import { FakePeer, memoryPair, memoryTransport, plainFacts, trickle } from "./protocol_helpers.ts";

const TOKEN = "s3cret-token-for-tests";
const KEY = new TokenKey(TOKEN);

/** A correct `auth` request (fresh client nonce, right MAC) answering `serverNonce`. */
async function authRequest(serverNonce: string, id = 0) {
  const nonce = newNonce();
  const mac = await KEY.prove("client", plainFacts(nonce, serverNonce));
  return { jsonrpc: "2.0", id, method: "auth", params: { nonce, mac } };
}
/** Generous limit for steps that are expected to succeed or fail fast. */
const SLOW_MS = 5_000;
/** The exact frame the server sends for every unauthenticated request with id 7. */
const UNAUTHORIZED_7 = '{"jsonrpc":"2.0","id":7,"error":{"code":-32001,"message":"Unauthorized"}}';

function serverOptions(overrides: Partial<ServerHandshakeOptions> = {}): ServerHandshakeOptions {
  return {
    key: KEY,
    readOnly: false,
    deadlineMs: SLOW_MS,
    maxFrameBytes: FRAME_LIMITS.postAuth,
    ...overrides,
  };
}

/** Settle `promise` and return its rejection reason (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const [outcome] = await Promise.allSettled([promise]);
  assert.equal(outcome.status, "rejected", "expected a rejection");
  return (outcome as PromiseRejectedResult).reason;
}

/** A real server on one end, a frame-level fake client on the other (hello already read). */
async function serverWithFakeClient(overrides: Partial<ServerHandshakeOptions> = {}) {
  const [clientEnd, serverEnd] = memoryPair();
  const server = serverHandshake(memoryTransport(serverEnd), serverOptions(overrides));
  // Keep an early rejection from being reported as unhandled before the test looks at it.
  server.catch(() => {});
  const client = new FakePeer(clientEnd);
  const hello = await client.recvJson();
  const nonce = (hello.params as { nonce: string }).nonce;
  return { server, serverEnd, client, hello, serverNonce: nonce };
}

/** A real client on one end, a frame-level fake server on the other. */
function clientWithFakeServer(timeoutMs = SLOW_MS, key = KEY) {
  const [clientEnd, serverEnd] = memoryPair();
  const session = clientHandshake(memoryTransport(clientEnd), { key, timeoutMs });
  session.catch(() => {});
  return { session, clientEnd, server: new FakePeer(serverEnd) };
}

/** The hello a real server would send, with `nonce`. */
function helloFrame(nonce: string, protocol: number = PROTOCOL_VERSION) {
  return { jsonrpc: "2.0", method: "hello", params: { protocol, server: RMON_VERSION, nonce } };
}

Deno.test("serverHandshake() and clientHandshake() authenticate each other", async (t) => {
  await t.step("both sides succeed with the right token", async () => {
    const [clientEnd, serverEnd] = memoryPair();
    const [session, io] = await Promise.all([
      clientHandshake(memoryTransport(clientEnd), { key: KEY, timeoutMs: SLOW_MS }),
      serverHandshake(
        memoryTransport(serverEnd),
        serverOptions({ readOnly: true, maxFrameBytes: 2 * FRAME_LIMITS.postAuth }),
      ),
    ]);
    assert.equal(session.hello.protocol, PROTOCOL_VERSION);
    assert.equal(session.hello.server, RMON_VERSION);
    assert.ok(isValidNonce(session.hello.nonce));
    assert.equal(session.auth.server, RMON_VERSION);
    assert.equal(session.auth.readOnly, true);
    assert.match(session.auth.mac ?? "", /^[A-Za-z0-9_-]{43}$/);
    assert.equal(session.auth.role, "read-only", "a read-only server grants only that role");
    assert.equal(session.auth.user, "token");
    assert.deepEqual(io.identity, { kind: "token", user: "token", role: "read-only" });
    assert.ok(session.handshakeMs >= 0 && session.handshakeMs < SLOW_MS);
    assert.equal(io.reader.maxFrameBytes, 2 * FRAME_LIMITS.postAuth);
    assert.equal(clientEnd.closed, false);
    assert.equal(serverEnd.closed, false);
    session.peer.close();
    assert.equal(await io.reader.read(), null, "the server sees the client's close");
    serverEnd.close();
  });

  await t.step(
    "the connection then carries calls, with frames over the pre-auth limit",
    async () => {
      const [clientEnd, serverEnd] = memoryPair();
      const [session, io] = await Promise.all([
        clientHandshake(memoryTransport(clientEnd), { key: KEY, timeoutMs: SLOW_MS }),
        serverHandshake(memoryTransport(serverEnd), serverOptions()),
      ]);
      const server = new RpcPeer(serverEnd, io.reader, io.writer, {
        onRequest: (req) => {
          server.sendResult(req.id, {
            method: req.method,
            size: JSON.stringify(req.params).length,
          });
        },
      });
      const serverRun = server.run();
      const clientRun = session.peer.run();
      const big = "x".repeat(2 * FRAME_LIMITS.preAuth);
      assert.deepEqual(await session.peer.call("exec", { shell: "sh", command: big }), {
        method: "exec",
        size: JSON.stringify({ shell: "sh", command: big }).length,
      });
      session.peer.close();
      await Promise.all([clientRun, serverRun]);
      assert.ok(server.isClosed);
    },
  );

  await t.step("the client sends the documented auth request", async () => {
    const { session, server } = clientWithFakeServer();
    const serverNonce = newNonce();
    await server.send(helloFrame(serverNonce));
    const auth = await server.recvJson();
    assert.deepEqual(Object.keys(auth).sort(), ["id", "jsonrpc", "method", "params"]);
    assert.equal(auth.jsonrpc, "2.0");
    assert.equal(auth.id, 0);
    assert.equal(auth.method, "auth");
    const params = auth.params as { nonce: string; mac: string };
    assert.deepEqual(Object.keys(params).sort(), ["mac", "nonce"]);
    assert.ok(isValidNonce(params.nonce));
    assert.notEqual(params.nonce, serverNonce);
    assert.equal(
      await KEY.verify(params.mac, "client", plainFacts(params.nonce, serverNonce)),
      true,
    );
    const mac = await KEY.prove("server", plainFacts(params.nonce, serverNonce));
    await server.send({
      jsonrpc: "2.0",
      id: 0,
      result: { mac, server: "9.9.9", readOnly: false },
    });
    const s = await session;
    // A server from before roles: the client fills them in from readOnly.
    assert.deepEqual(s.auth, {
      mac,
      server: "9.9.9",
      readOnly: false,
      role: "admin",
      user: "token",
    });
    s.peer.close();
    assert.deepEqual(await server.drain(), []);
    server.close();
  });

  await t.step("the server sends the documented hello and auth result", async () => {
    const { server, client, hello, serverNonce } = await serverWithFakeClient({ readOnly: true });
    assert.deepEqual(hello, {
      jsonrpc: "2.0",
      method: "hello",
      params: {
        protocol: PROTOCOL_VERSION,
        server: RMON_VERSION,
        nonce: serverNonce,
        features: ["rawOutput", "closeAfter", "vitals"],
      },
    });
    assert.ok(isValidNonce(serverNonce));
    const clientNonce = newNonce();
    const mac = await KEY.prove("client", plainFacts(clientNonce, serverNonce));
    await client.send({
      jsonrpc: "2.0",
      id: 41,
      method: "auth",
      params: { nonce: clientNonce, mac },
    });
    const answer = await client.recvJson();
    const expectedMac = await KEY.prove("server", plainFacts(clientNonce, serverNonce));
    assert.deepEqual(answer, {
      jsonrpc: "2.0",
      id: 41,
      result: {
        server: RMON_VERSION,
        readOnly: true,
        role: "read-only",
        user: "token",
        mac: expectedMac,
      },
    });
    const io = await server;
    client.close();
    assert.equal(await io.reader.read(), null);
  });

  await t.step("the server keeps a command pipelined right behind auth", async () => {
    const { server, client, serverNonce } = await serverWithFakeClient();
    const auth = JSON.stringify(await authRequest(serverNonce));
    // Bigger than the pre-auth limit, and in the same write as auth.
    const command = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "exec",
      params: { shell: "sh", command: "y".repeat(FRAME_LIMITS.preAuth + 100) },
    });
    await client.sendRaw(`${auth}\n${command}\n`);
    const io = await server;
    assert.equal(await io.reader.read(), command);
    client.close();
    assert.equal(await io.reader.read(), null);
  });

  await t.step("the server accepts an auth frame of exactly the pre-auth limit", async () => {
    const { server, client, serverNonce } = await serverWithFakeClient();
    const auth = JSON.stringify(await authRequest(serverNonce));
    // JSON allows whitespace: pad the frame to exactly the limit.
    const padded = auth + " ".repeat(FRAME_LIMITS.preAuth - auth.length);
    assert.equal(padded.length, FRAME_LIMITS.preAuth);
    await client.send(padded);
    assert.ok("result" in await client.recvJson());
    await server;
    client.close();
  });
});

Deno.test("serverHandshake() and clientHandshake() refuse a wrong token", async (t) => {
  await t.step("both sides fail with AuthError and close", async () => {
    const [clientEnd, serverEnd] = memoryPair();
    const [client, server] = await Promise.allSettled([
      clientHandshake(memoryTransport(clientEnd), {
        key: new TokenKey(`${TOKEN}-wrong`),
        timeoutMs: SLOW_MS,
      }),
      serverHandshake(memoryTransport(serverEnd), serverOptions()),
    ]);
    assert.equal(client.status, "rejected");
    assert.equal(server.status, "rejected");
    assert.ok(client.reason instanceof AuthError, `client: ${client.reason}`);
    assert.ok(server.reason instanceof AuthError, `server: ${server.reason}`);
    assert.equal(isTransient(client.reason), false, "a wrong token is not worth a retry");
    assert.ok(clientEnd.closed && serverEnd.closed);
  });

  await t.step(
    "the right token over two different TLS channels fails: channel binding",
    async () => {
      const [clientEnd, serverEnd] = memoryPair();
      const [client, server] = await Promise.allSettled([
        clientHandshake(memoryTransport(clientEnd, { kind: "tls", fingerprint: "aa".repeat(32) }), {
          key: KEY,
          timeoutMs: SLOW_MS,
        }),
        serverHandshake(
          memoryTransport(serverEnd, { kind: "tls", fingerprint: "bb".repeat(32) }),
          serverOptions(),
        ),
      ]);
      assert.ok(client.status === "rejected" && client.reason instanceof AuthError);
      assert.ok(server.status === "rejected" && server.reason instanceof AuthError);
    },
  );

  await t.step("the same certificate on both ends authenticates", async () => {
    const [clientEnd, serverEnd] = memoryPair();
    const tls = { kind: "tls", fingerprint: "aa".repeat(32) } as const;
    const [client, server] = await Promise.all([
      clientHandshake(memoryTransport(clientEnd, tls), { key: KEY, timeoutMs: SLOW_MS }),
      serverHandshake(memoryTransport(serverEnd, tls), serverOptions()),
    ]);
    assert.equal(client.auth.server, RMON_VERSION);
    client.peer.close();
    assert.equal(await server.reader.read(), null, "the server sees the client's close");
    serverEnd.close();
  });

  await t.step("the server answers unauthorized, then closes", async () => {
    const { server, client, serverNonce } = await serverWithFakeClient();
    const clientNonce = newNonce();
    const mac = await new TokenKey("not the token").prove(
      "client",
      plainFacts(clientNonce, serverNonce),
    );
    await client.send({
      jsonrpc: "2.0",
      id: 7,
      method: "auth",
      params: { nonce: clientNonce, mac },
    });
    assert.deepEqual(await client.drain(), [UNAUTHORIZED_7]);
    assert.ok(await rejection(server) instanceof AuthError);
    client.close();
  });

  const badAuths: [string, (cn: string, sn: string, mac: string) => unknown][] = [
    ["a truncated MAC", (cn, _sn, mac) => ({ nonce: cn, mac: mac.slice(0, -1) })],
    ["a missing MAC", (cn) => ({ nonce: cn })],
    ["a numeric MAC", (cn) => ({ nonce: cn, mac: 1 })],
    ["a missing nonce", (_cn, _sn, mac) => ({ mac })],
    ["a too-short nonce", (_cn, _sn, mac) => ({ nonce: "c2hvcnQ", mac })],
    ["a nonce with bad characters", (cn, _sn, mac) => ({ nonce: `${cn}+/`, mac })],
    ["params as a string", () => "auth"],
  ];
  for (const [what, params] of badAuths) {
    await t.step(`the server answers unauthorized to ${what}`, async () => {
      const { server, client, serverNonce } = await serverWithFakeClient();
      const cn = newNonce();
      const mac = await KEY.prove("client", plainFacts(cn, serverNonce));
      const frame = { jsonrpc: "2.0", id: 7, method: "auth", params: params(cn, serverNonce, mac) };
      await client.send(frame);
      const frames = await client.drain();
      // Params that are not an object break the envelope: closed, without an answer.
      if (typeof frame.params === "object") assert.deepEqual(frames, [UNAUTHORIZED_7]);
      else assert.deepEqual(frames, []);
      assert.ok(await rejection(server) instanceof AuthError);
      client.close();
    });
  }

  await t.step("the server refuses its own nonce echoed back as the client's", async () => {
    // Even with the right MAC: a peer must bring fresh randomness of its own.
    const { server, client, serverNonce } = await serverWithFakeClient();
    const mac = await KEY.prove("client", plainFacts(serverNonce, serverNonce));
    await client.send({
      jsonrpc: "2.0",
      id: 7,
      method: "auth",
      params: { nonce: serverNonce, mac },
    });
    assert.deepEqual(await client.drain(), [UNAUTHORIZED_7]);
    assert.ok(await rejection(server) instanceof AuthError);
    client.close();
  });

  await t.step("the server refuses its own proof reflected back", async () => {
    // A client that sends the server-direction MAC (e.g. relayed from another session).
    const { server, client, serverNonce } = await serverWithFakeClient();
    const cn = newNonce();
    const mac = await KEY.prove("server", plainFacts(cn, serverNonce));
    await client.send({ jsonrpc: "2.0", id: 7, method: "auth", params: { nonce: cn, mac } });
    assert.deepEqual(await client.drain(), [UNAUTHORIZED_7]);
    assert.ok(await rejection(server) instanceof AuthError);
    client.close();
  });
});

Deno.test("serverHandshake() answers anything but auth like an unknown method", async (t) => {
  /** Send `frame` as the first frame; return what came back before the close. */
  async function firstFrame(frame: unknown): Promise<{ frames: string[]; err: unknown }> {
    const { server, client } = await serverWithFakeClient();
    await client.send(frame);
    const frames = await client.drain();
    const err = await rejection(server);
    client.close();
    return { frames, err };
  }

  const baseline = await firstFrame({ jsonrpc: "2.0", id: 7, method: "no-such-method" });

  await t.step("auth with an unknown field gets the same answer as a wrong MAC", async () => {
    const { server, client, serverNonce } = await serverWithFakeClient();
    const auth = await authRequest(serverNonce, 7);
    await client.send({ ...auth, params: { ...auth.params, role: "admin" } });
    assert.deepEqual(await client.drain(), [UNAUTHORIZED_7]);
    assert.ok(await rejection(server) instanceof AuthError);
    client.close();
  });

  await t.step("one empty line before auth (the plain client's probe) is skipped", async () => {
    const { server, client, serverNonce } = await serverWithFakeClient();
    await client.send("");
    await client.send(await authRequest(serverNonce, 3));
    const answer = await client.recvJson();
    assert.equal(answer.id, 3);
    assert.ok("result" in answer, JSON.stringify(answer));
    client.close();
    assert.equal(await (await server).reader.read(), null, "the server sees the client's close");
  });

  await t.step("an unknown method gets unauthorized and a close", () => {
    assert.deepEqual(baseline.frames, [UNAUTHORIZED_7]);
    assert.ok(baseline.err instanceof AuthError);
  });

  const requests: [string, unknown][] = [
    ["ram", { jsonrpc: "2.0", id: 7, method: "ram" }],
    ["exec", { jsonrpc: "2.0", id: 7, method: "exec", params: { shell: "sh", command: "id" } }],
    ["kill", { jsonrpc: "2.0", id: 7, method: "kill" }],
    ["heartbeat", { jsonrpc: "2.0", id: 7, method: "heartbeat" }],
    ["auth without params", { jsonrpc: "2.0", id: 7, method: "auth" }],
    ["__proto__", { jsonrpc: "2.0", id: 7, method: "__proto__" }],
  ];
  for (const [what, frame] of requests) {
    await t.step(`${what} before auth gets exactly the same answer`, async () => {
      const { frames, err } = await firstFrame(frame);
      assert.deepEqual(frames, baseline.frames);
      assert.ok(err instanceof AuthError);
    });
  }

  await t.step("auth sent as a notification gets unauthorized with a null id", async () => {
    const cn = newNonce();
    const { frames, err } = await firstFrame({
      jsonrpc: "2.0",
      method: "auth",
      params: { nonce: cn, mac: "x" },
    });
    assert.deepEqual(frames.map((f) => JSON.parse(f)), [
      {
        jsonrpc: "2.0",
        id: null,
        error: { code: ERROR_CODES.unauthorized, message: "Unauthorized" },
      },
    ]);
    assert.ok(err instanceof AuthError);
  });

  const garbage: [string, string][] = [
    ["invalid JSON", "{not json"],
    ["two empty lines", "\n"],
    ["a JSON array", "[1,2]"],
    ["a response", '{"jsonrpc":"2.0","id":7,"result":{}}'],
  ];
  for (const [what, frame] of garbage) {
    await t.step(
      `${what} as the first frame closes the connection, telling nothing else`,
      async () => {
        const { frames, err } = await firstFrame(frame);
        // Either no answer or the same unauthorized error: never a hint about what was wrong.
        for (const f of frames) {
          const answer = JSON.parse(f);
          assert.deepEqual(answer.error, {
            code: ERROR_CODES.unauthorized,
            message: "Unauthorized",
          });
        }
        assert.ok(frames.length <= 1);
        assert.ok(err instanceof AuthError);
      },
    );
  }
});

Deno.test("serverHandshake() limits the first frame to the pre-auth size", async (t) => {
  await t.step("closes on a first frame one byte over 4 KiB", async () => {
    const { server, serverEnd, client } = await serverWithFakeClient();
    await client.send("a".repeat(FRAME_LIMITS.preAuth + 1));
    const err = await rejection(server);
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.code, ERROR_CODES.tooLarge);
    assert.deepEqual(await client.drain(), []);
    assert.ok(serverEnd.closed);
    client.close();
  });

  await t.step("closes on an endless first frame without reading it all", async () => {
    const { server, serverEnd, client } = await serverWithFakeClient();
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    // Keep sending until the server hangs up; it must do so long before 10 MB.
    let sent = 0;
    try {
      while (sent < 10_000_000) {
        await client.sendRaw(chunk);
        sent += chunk.length;
        // Let the server run between chunks, as a real network would.
        await new Promise((r) => setTimeout(r, 0));
      }
    } catch (_err) {
      // BrokenPipe: the server closed.
    }
    const err = await rejection(server);
    assert.ok(err instanceof ProtocolError && err.code === ERROR_CODES.tooLarge);
    assert.ok(serverEnd.closed);
    assert.ok(sent < 1_000_000, `sent ${sent} bytes before the server gave up`);
    client.close();
  });
});

Deno.test("serverHandshake() enforces an absolute deadline", async (t) => {
  await t.step("closes a client that never sends auth", async () => {
    const started = performance.now();
    const { server, serverEnd, client } = await serverWithFakeClient({ deadlineMs: 200 });
    const err = await rejection(server);
    const elapsed = performance.now() - started;
    assert.ok(err instanceof TimeoutError, `got ${err}`);
    assert.ok(elapsed >= 190 && elapsed < 1_000, `closed after ${elapsed} ms`);
    assert.ok(serverEnd.closed);
    assert.deepEqual(await client.drain(), []);
    client.close();
  });

  await t.step(
    "closes a client trickling bytes without a newline at the same deadline",
    async () => {
      const started = performance.now();
      const { server, serverEnd, client } = await serverWithFakeClient({ deadlineMs: 300 });
      // One byte every 50 ms: traffic must not extend the deadline.
      const trickling = trickle(client.conn, 50);
      const err = await rejection(server);
      const elapsed = performance.now() - started;
      const sent = await trickling;
      assert.ok(err instanceof TimeoutError, `got ${err}`);
      assert.ok(elapsed >= 290 && elapsed < 1_000, `closed after ${elapsed} ms`);
      assert.ok(sent >= 3, `only ${sent} bytes trickled`);
      assert.ok(serverEnd.closed);
      client.close();
    },
  );

  await t.step("closes a client trickling a valid auth frame too slowly", async () => {
    const { server, client, serverNonce } = await serverWithFakeClient({ deadlineMs: 300 });
    const frame = JSON.stringify(await authRequest(serverNonce));
    const sending = (async () => {
      try {
        for (const ch of `${frame}\n`) {
          await client.sendRaw(ch);
          await new Promise((r) => setTimeout(r, 10));
        }
      } catch (_err) {
        // The server hung up mid-frame, as it should.
      }
    })();
    assert.ok(await rejection(server) instanceof TimeoutError);
    await sending;
    client.close();
  });
});

Deno.test("clientHandshake() checks the server before trusting it", async (t) => {
  await t.step(
    "fails with ProtocolError on another protocol version, sending nothing",
    async () => {
      const { session, clientEnd, server } = clientWithFakeServer();
      await server.send(helloFrame(newNonce(), 99));
      const err = await rejection(session);
      assert.ok(err instanceof ProtocolError, `got ${err}`);
      assert.match(
        err.message,
        new RegExp(`protocol mismatch \\(server speaks 99, client ${PROTOCOL_VERSION}\\)`),
      );
      assert.equal(isTransient(err), false);
      assert.deepEqual(await server.drain(), [], "no auth for a server of another version");
      assert.ok(clientEnd.closed);
      server.close();
    },
  );

  const badHellos: [string, unknown][] = [
    ["a hello with a short nonce", helloFrame("c2hvcnQ")],
    ["a hello without nonce", { jsonrpc: "2.0", method: "hello", params: { protocol: 1 } }],
    ["a hello without params", { jsonrpc: "2.0", method: "hello" }],
    ["another notification", { jsonrpc: "2.0", method: "bye", params: { reason: "kill" } }],
    ["a request", { jsonrpc: "2.0", id: 1, method: "hello", params: {} }],
    ["invalid JSON", "hello"],
  ];
  for (const [what, frame] of badHellos) {
    await t.step(`fails with ProtocolError on ${what}`, async () => {
      const { session, server } = clientWithFakeServer();
      await server.send(frame);
      assert.ok(await rejection(session) instanceof ProtocolError);
      assert.deepEqual(await server.drain(), []);
      server.close();
    });
  }

  await t.step("fails with TimeoutError when the server never says hello", async () => {
    const started = performance.now();
    const { session, clientEnd, server } = clientWithFakeServer(200);
    const err = await rejection(session);
    const elapsed = performance.now() - started;
    assert.ok(err instanceof TimeoutError, `got ${err}`);
    assert.ok(elapsed >= 190 && elapsed < 1_000, `gave up after ${elapsed} ms`);
    assert.ok(isTransient(err));
    assert.ok(clientEnd.closed);
    server.close();
  });

  await t.step("fails with TimeoutError when the server never answers auth", async () => {
    const { session, server } = clientWithFakeServer(200);
    await server.send(helloFrame(newNonce()));
    assert.ok(await rejection(session) instanceof TimeoutError);
    const frames = await server.drain();
    assert.equal(frames.length, 1, "only the auth request");
    server.close();
  });

  await t.step("fails with AuthError when the server answers unauthorized", async () => {
    const { session, server } = clientWithFakeServer();
    await server.send(helloFrame(newNonce()));
    await server.recvJson();
    await server.send({ jsonrpc: "2.0", id: 0, error: { code: -32001, message: "Unauthorized" } });
    assert.ok(await rejection(session) instanceof AuthError);
    server.close();
  });

  /** Server proofs a fake server that accepts any token might send. */
  const badProofs: [string, (clientMac: string, cn: string, sn: string) => Promise<unknown>][] = [
    [
      "a proof made with another token",
      (_m, cn, sn) => new TokenKey("other").prove("server", plainFacts(cn, sn)),
    ],
    ["the client's own proof reflected", (m) => Promise.resolve(m)],
    ["a client-direction proof", (_m, cn, sn) => KEY.prove("client", plainFacts(cn, sn))],
    ["a proof for swapped nonces", (_m, cn, sn) => KEY.prove("server", plainFacts(sn, cn))],
    [
      "a truncated proof",
      async (_m, cn, sn) => (await KEY.prove("server", plainFacts(cn, sn))).slice(0, 42),
    ],
    ["no proof", () => Promise.resolve(undefined)],
    ["a numeric proof", () => Promise.resolve(0)],
  ];
  for (const [what, proof] of badProofs) {
    await t.step(`fails with AuthError on ${what}, before sending any command`, async () => {
      const { session, clientEnd, server } = clientWithFakeServer();
      const sn = newNonce();
      await server.send(helloFrame(sn));
      const auth = await server.recvJson();
      const { nonce: cn, mac } = auth.params as { nonce: string; mac: string };
      const result: Record<string, unknown> = { server: RMON_VERSION, readOnly: false };
      const bad = await proof(mac, cn, sn);
      if (bad !== undefined) result.mac = bad;
      await server.send({ jsonrpc: "2.0", id: 0, result });
      const err = await rejection(session);
      assert.ok(err instanceof AuthError, `got ${err}`);
      assert.ok(clientEnd.closed);
      assert.deepEqual(await server.drain(), [], "nothing may follow auth");
      server.close();
    });
  }

  await t.step("fails with ProtocolError on an answer to another id", async () => {
    const { session, server } = clientWithFakeServer();
    const sn = newNonce();
    await server.send(helloFrame(sn));
    const { nonce: cn } = (await server.recvJson()).params as { nonce: string };
    const mac = await KEY.prove("server", plainFacts(cn, sn));
    await server.send({
      jsonrpc: "2.0",
      id: 1,
      result: { mac, server: RMON_VERSION, readOnly: false },
    });
    assert.ok(await rejection(session) instanceof ProtocolError);
    server.close();
  });
});

// BUG (lib/protocol/handshake.ts, clientHandshake): a server that hangs up
// before hello is reported as ProtocolError, and one that hangs up after auth
// without answering as AuthError. Both are final for the client (isTransient()
// is false, AuthError means "bad token"), yet both happen in normal operation:
// RmonServer closes connections over --max-connections without a word, and
// `reset` closes sessions still in their handshake. A silent hang-up is a closed
// connection (ConnectionClosedError, transient), not a verdict on the protocol
// or the token; the server always answers `unauthorized` before closing on a
// wrong token.
Deno.test("clientHandshake() reports a silent hang-up as a transient failure", async (t) => {
  await t.step("before hello", async () => {
    const { session, server } = clientWithFakeServer();
    server.close();
    const err = await rejection(session);
    assert.ok(!(err instanceof AuthError), `got ${err}`);
    assert.ok(isTransient(err), `got ${err}`);
  });

  await t.step("after auth, with no answer", async () => {
    const { session, server } = clientWithFakeServer();
    await server.send(helloFrame(newNonce()));
    await server.recvJson();
    server.close();
    const err = await rejection(session);
    assert.ok(!(err instanceof AuthError), `got ${err}`);
    assert.ok(isTransient(err), `got ${err}`);
  });
});

// BUG (lib/protocol/connection.ts, RpcPeer.run): when a frame is fatal
// (oversized, invalid UTF-8, or onBadFrame() returns false), run() calls
// close() in the same tick as the handler queued its error answer, so the
// FrameWriter's batch (which waits one microtask) finds the socket closed and
// the answer is lost: the peer never learns why it was cut off. The same holds
// for any frame written just before close(). (Belongs with the connection
// tests; it is here because it needs an authenticated pair.)
Deno.test("RpcPeer.run() delivers the answer to a fatal frame before closing", async (t) => {
  /** A real server (with the session's bad-frame policy) and an authenticated fake client. */
  async function authenticatedPair() {
    const { server, client, serverNonce } = await serverWithFakeClient({ maxFrameBytes: 1024 });
    await client.send(await authRequest(serverNonce));
    assert.ok("result" in await client.recvJson());
    const io = await server;
    const serverEnd = client.conn.peer;
    const peer: RpcPeer = new RpcPeer(serverEnd, io.reader, io.writer, {
      onRequest: (req) => peer.sendResult(req.id, null),
      onBadFrame: (err) => {
        peer.sendError(null, { code: err.code, message: err.message });
        return err.code === ERROR_CODES.parseError && !/UTF-8/.test(err.message);
      },
    });
    return { peer, run: peer.run(), client };
  }

  await t.step("a frame over the post-auth limit gets tooLarge, then the close", async () => {
    const { run, client } = await authenticatedPair();
    await client.send("z".repeat(2000));
    const frames = (await client.drain()).map((f) => JSON.parse(f));
    await run;
    client.close();
    assert.equal(frames.length, 1, "the tooLarge answer must arrive before the close");
    assert.equal(frames[0].error.code, ERROR_CODES.tooLarge);
  });

  await t.step("bad JSON gets parseError and the connection stays open", async () => {
    // The control case: here the peer keeps reading, so the answer gets out.
    const { peer, run, client } = await authenticatedPair();
    await client.send("{not json");
    const answer = await client.recvJson();
    assert.equal((answer.error as { code: number }).code, ERROR_CODES.parseError);
    assert.equal(peer.isClosed, false);
    client.close();
    await run;
  });
});
