/**
 * Tests of rmon's own NATS client (lib/protocol/nats_conn.ts) against real
 * `nats-server` processes on loopback, with the NATS project's npm client as
 * an independent peer, and against fake servers the tests script (silent,
 * garbage, a handshake and then silence): publish and subscribe, flush,
 * limits, token and nkey sign-in, TLS, errors of a failed connect, reconnect
 * with publishes, subscriptions and flushes carried over, failover to a node
 * learned from the cluster, keep-alive, and close. Sanitizers stay on: a
 * leaked socket or timer fails the test.
 * @module
 */

import assert from "node:assert/strict";
import {
  connect as npmConnect,
  credsAuthenticator,
  type NatsConnection,
  nkeys,
} from "@nats-io/transport-node";
import {
  connectNats,
  LAME_DUCK_SPREAD_MS,
  MAX_PENDING_BYTES,
  type NatsConn,
  type NatsConnOptions,
  type NatsMsg,
  type NatsStatus,
} from "../lib/protocol/nats_conn.ts";
import { natsReason } from "../lib/protocol/nats_reason.ts";
import { toBase64Url } from "../lib/protocol/auth.ts";
import {
  AuthError,
  ConnectionClosedError,
  ProtocolError,
  TimeoutError,
} from "../lib/protocol/errors.ts";
import { deadline, delay } from "../lib/async.ts";
import {
  drainConn,
  eventually,
  fakeNatsHandshake,
  hasNatsServer,
  makeCaSignedServer,
  startFakeNats,
  startNats,
} from "./helpers.ts";

const ignore = !hasNatsServer();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `connectNats` with short test timings, closed on dispose. */
async function open(
  opts: Partial<NatsConnOptions> & { servers: string[] },
): Promise<NatsConn & AsyncDisposable> {
  const conn = await connectNats({ timeoutMs: 3_000, reconnectWaitMs: 100, ...opts });
  return Object.assign(conn, { [Symbol.asyncDispose]: () => conn.close() });
}

/** An npm NATS connection (the reference client), closed on dispose. */
async function peer(url: string): Promise<NatsConnection & AsyncDisposable> {
  const nc = await npmConnect({ servers: url });
  return Object.assign(nc, { [Symbol.asyncDispose]: () => nc.close() });
}

/** Subscribe on `conn`, collecting payloads as text. */
function collect(conn: NatsConn, subject: string): { got: string[]; msgs: NatsMsg[] } {
  const got: string[] = [];
  const msgs: NatsMsg[] = [];
  conn.subscribe(subject, (m) => {
    msgs.push(m);
    got.push(decoder.decode(m.data));
  });
  return { got, msgs };
}

/** The error `p` rejects with (fails when it resolves). */
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail("expected a rejection");
}

/** A loopback port nothing listens on (now). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr;
  l.close();
  return port;
}

/** A nats-server configuration file in a temp dir; dispose removes it. */
async function natsConfig(text: string): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "rmon-nats-conf-" });
  const path = `${dir}/nats.conf`;
  await Deno.writeTextFile(path, text);
  return { path, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test({
  name: "NatsConn publishes and subscribes through a real nats-server",
  ignore,
  async fn(t) {
    await using nats = await startNats();
    await using conn = await open({ servers: [nats.url], name: "conn-test" });
    await using nc = await peer(nats.url);
    assert.equal(conn.server, `127.0.0.1:${nats.port}`);

    await t.step("a round trip, with and without a reply subject", async () => {
      const { msgs } = collect(conn, "rt.>");
      await conn.flush();
      conn.publish("rt.a", "one");
      conn.publish("rt.b", encoder.encode("two"), "back.here");
      await conn.flush();
      assert.deepEqual(
        msgs.map((m) => [m.subject, m.reply, decoder.decode(m.data)]),
        [["rt.a", undefined, "one"], ["rt.b", "back.here", "two"]],
      );
    });

    await t.step("the reference client's request is answered on its reply subject", async () => {
      conn.subscribe("svc.echo", (m) => conn.publish(m.reply!, `echo:${decoder.decode(m.data)}`));
      await conn.flush();
      const answer = await nc.request("svc.echo", "hi", { timeout: 2_000 });
      assert.equal(answer.string(), "echo:hi");
    });

    await t.step("a request to the reference client: its answer comes to our inbox", async () => {
      const sub = nc.subscribe("svc.upper", {
        callback: (_err, m) => void m.respond(m.string().toUpperCase()),
      });
      await nc.flush();
      const { got } = collect(conn, "_INBOX.conn.1");
      await conn.flush();
      conn.publish("svc.upper", "shout", "_INBOX.conn.1");
      assert.ok(await eventually(() => got.length === 1, 3_000));
      assert.deepEqual(got, ["SHOUT"]);
      sub.unsubscribe();
    });

    await t.step("binary payloads with CRLF and zero bytes arrive byte for byte", async () => {
      const { msgs } = collect(conn, "bin");
      await conn.flush();
      const data = Uint8Array.from({ length: 70_000 }, (_, i) => [13, 10, 0, i & 255][i % 4]!);
      conn.publish("bin", data);
      conn.publish("bin", new Uint8Array(0));
      await conn.flush();
      assert.equal(msgs.length, 2);
      assert.deepEqual(msgs[0]!.data, data);
      assert.equal(msgs[1]!.data.length, 0);
    });

    await t.step("flush resolves after the server has seen what came before it", async () => {
      const seen: string[] = [];
      const sub = nc.subscribe("fl.x", { callback: (_e, m) => void seen.push(m.string()) });
      await nc.flush();
      for (let i = 0; i < 50; i++) conn.publish("fl.x", String(i));
      await conn.flush();
      // The server took all 50 before its PONG; the peer's own flush orders its side.
      await nc.flush();
      assert.equal(seen.length, 50);
      // Several flushes at once all resolve.
      await Promise.all([conn.flush(), conn.flush(), conn.flush()]);
      sub.unsubscribe();
    });

    await t.step("unsubscribe stops delivery (and twice is harmless)", async () => {
      const { got } = collect(conn, "un.x");
      const other = collect(conn, "un.y");
      let count = 0;
      const sub = conn.subscribe("un.x", () => count++);
      await conn.flush();
      conn.publish("un.x", "1");
      await conn.flush();
      assert.equal(count, 1);
      sub.unsubscribe();
      sub.unsubscribe();
      conn.publish("un.x", "2");
      conn.publish("un.y", "y");
      await conn.flush();
      assert.equal(count, 1);
      assert.deepEqual(got, ["1", "2"], "the other subscription of the subject goes on");
      assert.deepEqual(other.got, ["y"]);
    });

    await t.step("many publishes in one turn arrive all, in order", async () => {
      const { got } = collect(conn, "many");
      const seen: string[] = [];
      const sub = nc.subscribe("many", { callback: (_e, m) => void seen.push(m.string()) });
      await nc.flush();
      await conn.flush();
      const n = 5_000;
      for (let i = 0; i < n; i++) conn.publish("many", `m${i}`);
      await conn.flush();
      const want = Array.from({ length: n }, (_, i) => `m${i}`);
      assert.deepEqual(got, want);
      assert.ok(await eventually(() => seen.length === n, 5_000));
      assert.deepEqual(seen, want);
      sub.unsubscribe();
    });

    await t.step("a subject NATS would misread is refused, and nothing is sent", async () => {
      const { got } = collect(conn, "inj.>");
      const { got: all } = collect(conn, ">");
      await conn.flush();
      const before = all.length;
      for (
        const bad of [
          "inj.a b",
          "inj.x\r\nPUB inj.y 1\r\nz",
          "inj.\tq",
          "",
          "inj.a\nb",
          "inj.\u00a0",
        ]
      ) {
        assert.throws(() => conn.publish(bad, "x"), ProtocolError, JSON.stringify(bad));
        assert.throws(() => conn.subscribe(bad, () => {}), ProtocolError, JSON.stringify(bad));
      }
      assert.throws(() => conn.publish("inj.ok", "x", "re ply"), ProtocolError);
      assert.throws(() => conn.publish("inj.ok", "x", "re\r\nply"), ProtocolError);
      assert.throws(() => conn.publish("x".repeat(1025), "x"), ProtocolError);
      conn.publish("inj.after", "fine");
      await conn.flush();
      assert.deepEqual(got, ["fine"]);
      assert.equal(all.length, before + 1, "only the good publish went out");
      assert.doesNotMatch(nats.log(), /\[ERR\]|Parser ERROR/);
    });

    await t.step("close() sends what was published before it", async () => {
      const seen: string[] = [];
      const sub = nc.subscribe("last", { callback: (_e, m) => void seen.push(m.string()) });
      await nc.flush();
      const other = await open({ servers: [nats.url] });
      for (let i = 0; i < 100; i++) other.publish("last", `l${i}`);
      await other.close();
      assert.ok(await eventually(() => seen.length === 100, 3_000), `${seen.length} arrived`);
      assert.equal(seen[99], "l99");
      sub.unsubscribe();
    });

    await t.step("a subscriber that throws does not stop the others or the link", async () => {
      const errors: unknown[] = [];
      const onError = (e: ErrorEvent) => {
        e.preventDefault();
        errors.push(e.error);
      };
      globalThis.addEventListener("error", onError);
      try {
        conn.subscribe("boom", () => {
          throw new Error("subscriber bug");
        });
        const { got } = collect(conn, "boom");
        await conn.flush();
        conn.publish("boom", "a");
        conn.publish("boom", "b");
        await conn.flush();
        assert.deepEqual(got, ["a", "b"]);
        assert.equal(errors.length, 2);
      } finally {
        globalThis.removeEventListener("error", onError);
      }
    });
  },
});

Deno.test({
  name: "NatsConn refuses a payload over the server's max_payload, before sending it",
  ignore,
  async fn() {
    await using conf = await natsConfig("max_payload: 1024\n");
    await using nats = await startNats({ args: ["-c", conf.path] });
    await using conn = await open({ servers: [nats.url] });
    const { got } = collect(conn, "mp");
    await conn.flush();
    assert.throws(
      () => conn.publish("mp", new Uint8Array(1025)),
      (err: unknown) =>
        err instanceof ProtocolError &&
        /1025 bytes is over the server's limit of 1024/.test(err.message),
    );
    conn.publish("mp", "x".repeat(1024));
    await conn.flush();
    assert.equal(got.length, 1);
    assert.equal(got[0]!.length, 1024);
    assert.equal(conn.server, `127.0.0.1:${nats.port}`, "still on the same link");
  },
});

Deno.test({
  name: "NatsConn signs in with a token; a wrong one is an AuthError, 'credentials refused'",
  ignore,
  async fn() {
    const token = "nats-secret-0123456789";
    await using nats = await startNats({ args: ["--auth", token] });
    await using conn = await open({ servers: [nats.url], auth: { kind: "token", token } });
    const { got } = collect(conn, "tok");
    await conn.flush();
    conn.publish("tok", "in");
    await conn.flush();
    assert.deepEqual(got, ["in"]);
    for (const auth of [{ kind: "token" as const, token: "wrong-0123456789" }, undefined]) {
      const err = await failure(open({ servers: [nats.url], auth }));
      assert.ok(err instanceof AuthError, String(err));
      assert.equal(natsReason(err), "credentials refused");
    }
  },
});

Deno.test({
  name: "NatsConn signs in as an nkey user; another user's seed is refused",
  ignore,
  async fn() {
    const user = nkeys.createUser();
    const stranger = nkeys.createUser();
    await using conf = await natsConfig(
      `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`,
    );
    await using nats = await startNats({ args: ["-c", conf.path] });
    const creds = encoder.encode(decoder.decode(user.getSeed()) + "\n");
    await using conn = await open({ servers: [nats.url], auth: { kind: "creds", creds } });
    const { got } = collect(conn, "nk");
    await conn.flush();
    conn.publish("nk", "signed");
    await conn.flush();
    assert.deepEqual(got, ["signed"]);
    const wrong = await failure(
      open({ servers: [nats.url], auth: { kind: "creds", creds: stranger.getSeed() } }),
    );
    assert.ok(wrong instanceof AuthError, String(wrong));
    assert.equal(natsReason(wrong), "credentials refused");
    const none = await failure(open({ servers: [nats.url] }));
    assert.ok(none instanceof AuthError, String(none));
  },
});

/** A NATS JWT (ed25519-nkey) for `sub`, signed by `signer`, with `nats` claims. */
function natsJwt(
  signer: nkeys.KeyPair,
  sub: string,
  name: string,
  nats: Record<string, unknown>,
): string {
  const part = (o: unknown) => toBase64Url(encoder.encode(JSON.stringify(o)));
  const head = part({ typ: "JWT", alg: "ed25519-nkey" });
  const claims = part({
    jti: crypto.randomUUID().replaceAll("-", "").toUpperCase(),
    iat: Math.floor(Date.now() / 1000),
    iss: signer.getPublicKey(),
    name,
    sub,
    nats: { ...nats, version: 2 },
  });
  return `${head}.${claims}.${toBase64Url(signer.sign(encoder.encode(`${head}.${claims}`)))}`;
}

/** An account JWT without limits, signed by the operator `op`. */
function accountJwt(op: nkeys.KeyPair, account: nkeys.KeyPair, name: string): string {
  const limits = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, conn: -1, leaf: -1 };
  return natsJwt(op, account.getPublicKey(), name, {
    type: "account",
    limits: { ...limits, wildcards: true },
  });
}

/** A creds file as `nsc` writes it for `user`, whose JWT `account` signed. */
function credsFile(account: nkeys.KeyPair, user: nkeys.KeyPair, seedOf = user): Uint8Array {
  const jwt = natsJwt(account, user.getPublicKey(), "ops", {
    type: "user",
    pub: {},
    sub: {},
    subs: -1,
    data: -1,
    payload: -1,
  });
  return encoder.encode(`-----BEGIN NATS USER JWT-----
${jwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
${decoder.decode(seedOf.getSeed())}
------END USER NKEY SEED------

*************************************************************
`);
}

Deno.test({
  name: "NatsConn signs in with an nsc creds file (user JWT) on a server in operator mode",
  ignore,
  async fn() {
    const op = nkeys.createOperator();
    const account = nkeys.createAccount();
    const sys = nkeys.createAccount(); // JetStream (on in startNats) needs a system account
    const opJwt = natsJwt(op, op.getPublicKey(), "op", { type: "operator" });
    await using conf = await natsConfig(
      `operator: ${opJwt}\nsystem_account: ${sys.getPublicKey()}\nresolver: MEMORY\n` +
        `resolver_preload: {\n  ${account.getPublicKey()}: ${accountJwt(op, account, "fleet")}\n` +
        `  ${sys.getPublicKey()}: ${accountJwt(op, sys, "SYS")}\n}\n`,
    );
    await using nats = await startNats({ args: ["-c", conf.path] });
    const user = nkeys.createUser();
    const creds = credsFile(account, user);
    await using conn = await open({ servers: [nats.url], auth: { kind: "creds", creds } });
    // The reference client takes the same file: a peer in the same account.
    const nc = await npmConnect({ servers: nats.url, authenticator: credsAuthenticator(creds) });
    await using _nc = { [Symbol.asyncDispose]: () => nc.close() };
    const seen: string[] = [];
    nc.subscribe("jwt.x", { callback: (_e, m) => void seen.push(m.string()) });
    await nc.flush();
    conn.publish("jwt.x", "by-jwt");
    await conn.flush();
    assert.ok(await eventually(() => seen.length === 1, 3_000));
    assert.deepEqual(seen, ["by-jwt"]);
    // The JWT with another user's seed (a signature that does not match), and a JWT from an
    // account the server does not know: both refused as credentials.
    for (
      const bad of [
        credsFile(account, user, nkeys.createUser()),
        credsFile(nkeys.createAccount(), user),
      ]
    ) {
      const err = await failure(open({ servers: [nats.url], auth: { kind: "creds", creds: bad } }));
      assert.ok(err instanceof AuthError, String(err));
      assert.equal(natsReason(err), "credentials refused");
    }
  },
});

Deno.test({
  name: "NatsConn reports a server's -ERR for a denied publish, and the link goes on",
  ignore,
  async fn() {
    const user = nkeys.createUser();
    await using conf = await natsConfig(
      `authorization { users = [ { nkey: ${user.getPublicKey()}, ` +
        `permissions: { publish: { deny: ["deny.>"] } } } ] }\n`,
    );
    await using nats = await startNats({ args: ["-c", conf.path] });
    await using conn = await open({
      servers: [nats.url],
      auth: { kind: "creds", creds: user.getSeed() },
    });
    const errors: string[] = [];
    conn.onServerError = (text) => errors.push(text);
    const statuses: NatsStatus[] = [];
    conn.onStatus = (s) => void (s.type !== "error" && statuses.push(s)); // rounds failed: below
    const { got } = collect(conn, ">");
    await conn.flush();
    conn.publish("deny.x", "no");
    conn.publish("allow.x", "yes");
    await conn.flush();
    assert.ok(await eventually(() => errors.length === 1, 3_000));
    assert.match(errors[0]!, /Permissions Violation for Publish to "deny\.x"/);
    assert.ok(conn.lastError instanceof ProtocolError);
    assert.deepEqual(got, ["yes"]);
    assert.deepEqual(statuses, []);
  },
});

Deno.test("NatsConn: a closed port is 'connection refused'", async () => {
  const err = await failure(open({ servers: [`nats://127.0.0.1:${closedPort()}`] }));
  assert.ok(err instanceof Deno.errors.ConnectionRefused, String(err));
  assert.equal(natsReason(err), "connection refused");
});

Deno.test("NatsConn: bad arguments are refused before any connection", async () => {
  await assert.rejects(connectNats({ servers: [] }), SyntaxError);
  for (
    const url of ["127.0.0.1:4222", "http://127.0.0.1:4222", "nats://a b:1", "nats://h:123456"]
  ) {
    await assert.rejects(connectNats({ servers: [url] }), SyntaxError, url);
  }
});

Deno.test("NatsConn: a server that never says INFO is a TimeoutError after timeoutMs", async () => {
  await using fake = startFakeNats((conn) => drainConn(conn));
  const started = Date.now();
  const err = await failure(open({ servers: [fake.url], timeoutMs: 300 }));
  const took = Date.now() - started;
  assert.ok(err instanceof TimeoutError, String(err));
  assert.match(err.message, /connection timeout after 300 ms/);
  assert.equal(natsReason(err), "timed out");
  assert.ok(took >= 250 && took < 3_000, `${took} ms`);
});

Deno.test("NatsConn: a server that stalls later in the handshake is a TimeoutError", async (t) => {
  await t.step("it asks for TLS, then never answers the TLS hello", async () => {
    await using fake = startFakeNats(async (conn) => {
      const info = { "server_id": "F", "tls_required": true };
      await conn.write(encoder.encode(`INFO ${JSON.stringify(info)}\r\n`));
      await drainConn(conn);
    });
    const err = await failure(open({ servers: [fake.url], timeoutMs: 300 }));
    assert.ok(err instanceof TimeoutError, String(err));
  });
  await t.step("it takes CONNECT and PING, then never answers PONG", async () => {
    await using fake = startFakeNats(async (conn) => {
      await conn.write(encoder.encode(`INFO {"server_id":"F"}\r\n`));
      await drainConn(conn);
    });
    const err = await failure(open({ servers: [fake.url], timeoutMs: 300 }));
    assert.ok(err instanceof TimeoutError, String(err));
  });
  await t.step("it refuses CONNECT with an -ERR that is not about credentials", async () => {
    await using fake = startFakeNats(async (conn) => {
      await conn.write(encoder.encode(`INFO {"server_id":"F"}\r\n`));
      await conn.read(new Uint8Array(4096));
      await conn.write(encoder.encode("-ERR 'Maximum Connections Exceeded'\r\n"));
    });
    const err = await failure(open({ servers: [fake.url] }));
    assert.ok(err instanceof ProtocolError, String(err));
    assert.match(err.message, /Maximum Connections Exceeded/);
  });
});

Deno.test("NatsConn: a server that is not NATS is a ProtocolError", async (t) => {
  for (
    const banner of [
      "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
      "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
      "INFO not-json\r\n",
      "\x16\x03\x01\x00\x05hello\r\n",
    ]
  ) {
    await t.step(JSON.stringify(banner.slice(0, 12)), async () => {
      await using fake = startFakeNats(async (conn) => {
        await conn.write(encoder.encode(banner));
        await drainConn(conn);
      });
      const err = await failure(open({ servers: [fake.url], timeoutMs: 2_000 }));
      assert.ok(err instanceof ProtocolError, String(err));
    });
  }
  await t.step("a server that hangs up before INFO", async () => {
    await using fake = startFakeNats(async () => {});
    const err = await failure(open({ servers: [fake.url], timeoutMs: 2_000 }));
    assert.ok(err instanceof ConnectionClosedError, String(err));
    assert.match(err.message, /before its INFO/);
  });
});

Deno.test("NatsConn answers the server's PINGs, also one sent with the handshake's PONG", async () => {
  const pongs: number[] = [];
  await using fake = startFakeNats(async (conn) => {
    await fakeNatsHandshake(conn, {}, "PING\r\n");
    await conn.write(encoder.encode("PING\r\n"));
    let n = 0;
    await drainConn(conn, (text) => {
      n += text.split("PONG\r\n").length - 1;
      pongs[0] = n;
    });
  });
  await using _conn = await open({ servers: [fake.url] });
  assert.ok(await eventually(() => pongs[0] === 2, 3_000), `PONGs: ${pongs[0]}`);
});

Deno.test("NatsConn: tls:// to a server that offers no TLS is refused", async () => {
  await using fake = startFakeNats(async (conn) => {
    await fakeNatsHandshake(conn);
    await drainConn(conn);
  });
  const err = await failure(open({ servers: [fake.url.replace("nats:", "tls:")] }));
  assert.ok(err instanceof ProtocolError, String(err));
  assert.match(err.message, /does not offer TLS/);
});

Deno.test("NatsConn ignores a connect_urls that is not a list, in the first INFO or a later one", async () => {
  let answered = false;
  await using fake = startFakeNats(async (conn) => {
    await fakeNatsHandshake(conn, { "connect_urls": 5 });
    await conn.write(encoder.encode(`INFO {"connect_urls":{"a":1}}\r\nPING\r\n`));
    // The PING after the INFO answered: the client has read the INFO.
    await drainConn(conn, (text) => answered ||= text.includes("PONG\r\n"));
  });
  await using conn = await open({ servers: [fake.url] });
  const statuses: NatsStatus[] = [];
  conn.onStatus = (s) => void (s.type !== "error" && statuses.push(s)); // rounds failed: below
  assert.ok(await eventually(() => answered, 3_000));
  assert.deepEqual(statuses, []);
  assert.equal(conn.server, `127.0.0.1:${fake.port}`);
  assert.equal(conn.lastError, null);
});

Deno.test("NatsConn tries the servers given in turn: a refused one, then one that takes it", async () => {
  await using fake = startFakeNats(async (conn) => {
    await fakeNatsHandshake(conn);
    await drainConn(conn);
  });
  const dead = `nats://127.0.0.1:${closedPort()}`;
  await using conn = await open({ servers: [dead, fake.url] });
  assert.equal(conn.server, `127.0.0.1:${fake.port}`);
});

Deno.test({
  name: "NatsConn over TLS to nats-server: verified against the CA; another CA is refused",
  ignore,
  async fn() {
    const pki = await makeCaSignedServer(["localhost"]);
    const other = await makeCaSignedServer(["localhost"]);
    const dir = await Deno.makeTempDir({ prefix: "rmon-nats-tls-" });
    try {
      await Deno.writeTextFile(`${dir}/cert.pem`, pki.certPem);
      await Deno.writeTextFile(`${dir}/key.pem`, pki.keyPem, { mode: 0o600 });
      await Deno.writeTextFile(`${dir}/ca.pem`, pki.caPem);
      await Deno.writeTextFile(`${dir}/other.pem`, other.caPem);
      await using nats = await startNats({
        args: ["--tls", "--tlscert", `${dir}/cert.pem`, "--tlskey", `${dir}/key.pem`],
      });
      const url = `tls://127.0.0.1:${nats.port}`;
      for (const servers of [[url], [nats.url]]) {
        // tls:// or nats:// with a CA: TLS either way.
        await using conn = await open({ servers, caFile: `${dir}/ca.pem` });
        const { got } = collect(conn, "sealed");
        await conn.flush();
        conn.publish("sealed", "secret");
        await conn.flush();
        assert.deepEqual(got, ["secret"]);
      }
      const wrong = await failure(open({ servers: [url], caFile: `${dir}/other.pem` }));
      assert.match(String(wrong), /certificate|UnknownIssuer/i);
      assert.ok(!(wrong instanceof TimeoutError));
      // No CA given: the system's roots do not know this one either.
      const noCa = await failure(open({ servers: [url] }));
      assert.match(String(noCa), /certificate|UnknownIssuer/i);
      assert.doesNotMatch(nats.log(), /secret/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "NatsConn leaves a node entering lame-duck mode for another, before the node closes it",
  ignore,
  async fn() {
    const a = await startNats({ cluster: true });
    try {
      await using conn = await open({ servers: [a.url] });
      await using b = await startNats({ routes: [a.routeUrl!] });
      assert.ok(
        await eventually(() => /Route connection created/.test(a.log() + b.log()), 10_000),
      );
      await delay(200); // the INFO update naming b follows the route by a moment
      const statuses: NatsStatus[] = [];
      conn.onStatus = (s) => void (s.type !== "error" && statuses.push(s));
      const { got } = collect(conn, "ldm");
      await conn.flush();
      // SIGUSR2: lame duck. nats-server waits its 10 s grace period before closing clients, so a
      // move within a few seconds is the client's own.
      Deno.kill(a.pid, "SIGUSR2");
      assert.ok(
        await eventually(() => statuses.length === 2, LAME_DUCK_SPREAD_MS + 3_000),
        JSON.stringify(statuses) + a.log().slice(-400),
      );
      assert.deepEqual(statuses.map((s) => [s.type, s.server]), [
        ["disconnect", `127.0.0.1:${a.port}`],
        ["reconnect", `127.0.0.1:${b.port}`],
      ]);
      await using nc = await peer(b.url);
      nc.publish("ldm", "on-b");
      await nc.flush();
      assert.ok(await eventually(() => got.length === 1, 3_000));
    } finally {
      await a.kill();
    }
  },
});

Deno.test({
  name: "NatsConn over TLS moves to a node announced by address, verified by the name it dialled",
  ignore,
  async fn() {
    // Certificates name the servers ("localhost"), not their addresses: the cluster announces
    // 127.0.0.1:PORT, and that node must be verified against the name the client dialled.
    const pki = await makeCaSignedServer(["localhost"], { ipAddress: false });
    const dir = await Deno.makeTempDir({ prefix: "rmon-nats-tls-" });
    try {
      await Deno.writeTextFile(`${dir}/cert.pem`, pki.certPem);
      await Deno.writeTextFile(`${dir}/key.pem`, pki.keyPem, { mode: 0o600 });
      await Deno.writeTextFile(`${dir}/ca.pem`, pki.caPem);
      const tls = ["--tls", "--tlscert", `${dir}/cert.pem`, "--tlskey", `${dir}/key.pem`];
      const a = await startNats({ cluster: true, args: tls });
      try {
        await using conn = await open({
          servers: [`tls://localhost:${a.port}`],
          caFile: `${dir}/ca.pem`,
        });
        await using b = await startNats({ routes: [a.routeUrl!], args: tls });
        assert.ok(
          await eventually(() => /Route connection created/.test(a.log() + b.log()), 10_000),
        );
        // By address, the certificate is refused: the name is what makes the move work.
        const byAddress = await failure(
          open({ servers: [`tls://127.0.0.1:${b.port}`], caFile: `${dir}/ca.pem` }),
        );
        assert.match(String(byAddress), /not valid for name/i);
        const statuses: NatsStatus[] = [];
        conn.onStatus = (s) => void (s.type !== "error" && statuses.push(s));
        const { got } = collect(conn, "tls-fo");
        await conn.flush();
        await delay(200); // the INFO update follows the route by a moment
        await a.kill();
        assert.ok(await eventually(() => statuses.length === 2, 8_000), JSON.stringify(statuses));
        assert.deepEqual(statuses[1], { type: "reconnect", server: `127.0.0.1:${b.port}` });
        conn.publish("tls-fo", "via-b");
        await conn.flush();
        assert.deepEqual(got, ["via-b"]);
      } finally {
        await a.kill();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "NatsConn: a status callback that throws is an uncaught error, and the link still comes back",
  ignore,
  async fn() {
    let nats = await startNats();
    const port = nats.port;
    const uncaught: unknown[] = [];
    const onError = (e: ErrorEvent) => {
      e.preventDefault(); // recorded here instead of failing the test run
      uncaught.push(e.error);
    };
    globalThis.addEventListener("error", onError);
    try {
      await using conn = await open({ servers: [nats.url] });
      conn.onStatus = (s) => {
        if (s.type === "disconnect") throw new Error("a buggy status callback");
      };
      await nats.kill();
      assert.ok(await eventually(() => uncaught.length === 1, 5_000));
      assert.match(String(uncaught[0]), /a buggy status callback/);
      nats = await startNats({ port });
      assert.ok(await eventually(() => conn.server !== null, 10_000), "never reconnected");
      await conn.flush();
    } finally {
      globalThis.removeEventListener("error", onError);
      await nats.kill();
    }
  },
});

Deno.test({
  name: "NatsConn reconnects to a restarted nats-server: publishes, subscriptions and flushes",
  ignore,
  async fn() {
    let nats = await startNats();
    const port = nats.port;
    try {
      await using conn = await open({ servers: [nats.url] });
      const statuses: NatsStatus[] = [];
      const failedRounds: NatsStatus[] = [];
      conn.onStatus = (s) => void (s.type === "error" ? failedRounds : statuses).push(s);
      const { got } = collect(conn, "rc.>");
      await conn.flush();
      conn.publish("rc.a", "before");
      await conn.flush();
      assert.deepEqual(got, ["before"]);

      await nats.kill();
      assert.ok(await eventually(() => statuses.length === 1, 5_000));
      assert.deepEqual(statuses, [{ type: "disconnect", server: `127.0.0.1:${port}` }]);
      assert.equal(conn.server, null);
      // While down: publishes wait, a new subscription waits, a flush waits.
      conn.publish("rc.a", "down-1");
      const late = collect(conn, "late");
      conn.publish("rc.b", "down-2", "rc.reply");
      conn.publish("late", "for-the-new-sub");
      let flushed = false;
      let flushFailed: unknown = null;
      // Handled here: if an assertion below fails, close() rejects it, and that must not hide why.
      const flush = conn.flush().then(() => flushed = true, (err) => flushFailed = err);
      await delay(300);
      assert.equal(flushed, false, "no flush while down");
      // Each round of attempts that reached no server is said, with why (for the agent's log).
      const said = () =>
        failedRounds.map((r) =>
          `${r.server}: ${r.type === "error" ? natsReason(r.error) : r.type}`
        );
      assert.ok(
        await eventually(() => said().includes(`127.0.0.1:${port}: connection refused`), 5_000),
        JSON.stringify(said()),
      );

      nats = await startNats({ port });
      await deadline(flush, 10_000, () => assert.fail("the flush made while down never resolved"));
      assert.equal(flushFailed, null);
      assert.deepEqual(statuses[1], { type: "reconnect", server: `127.0.0.1:${port}` });
      assert.equal(conn.server, `127.0.0.1:${port}`);
      // The flush came after the publishes: they were seen (and echoed back) before it resolved.
      assert.deepEqual(got, ["before", "down-1", "down-2"]);
      assert.deepEqual(late.got, ["for-the-new-sub"]);
      // Subscriptions made before the outage are back on the new server, for other clients too.
      await using nc = await peer(nats.url);
      nc.publish("rc.c", "from-peer");
      await nc.flush();
      assert.ok(await eventually(() => got.length === 4, 3_000));
      assert.equal(got[3], "from-peer");
      assert.equal(conn.dropped, 0);
    } finally {
      await nats.kill();
    }
  },
});

Deno.test({
  name: "NatsConn keeps at most MAX_PENDING_BYTES of publishes while down, dropping the rest",
  ignore,
  async fn() {
    await using nats = await startNats();
    await using conn = await open({ servers: [nats.url] });
    const statuses: NatsStatus[] = [];
    conn.onStatus = (s) => void (s.type !== "error" && statuses.push(s)); // rounds failed: below
    await nats.kill();
    assert.ok(await eventually(() => statuses.length === 1, 5_000));
    const chunk = new Uint8Array(100 * 1024);
    const n = Math.ceil(MAX_PENDING_BYTES / chunk.length) + 10;
    for (let i = 0; i < n; i++) conn.publish("big", chunk);
    assert.ok(conn.dropped >= 10 && conn.dropped < 20, `${conn.dropped} dropped`);
  },
});

Deno.test({
  name: "NatsConn moves to a cluster node it learned from the server (connect_urls)",
  ignore,
  async fn() {
    const a = await startNats({ cluster: true });
    try {
      // Connected to a alone; b joins afterwards: the server's INFO update names it.
      await using conn = await open({ servers: [a.url] });
      await using b = await startNats({ routes: [a.routeUrl!] });
      assert.ok(
        await eventually(() => /Route connection created/.test(a.log() + b.log()), 10_000),
      );
      const statuses: NatsStatus[] = [];
      conn.onStatus = (s) => void (s.type !== "error" && statuses.push(s)); // rounds failed: below
      const { got } = collect(conn, "fo");
      await conn.flush();
      await delay(200); // the INFO update follows the route by a moment
      await a.kill();
      assert.ok(await eventually(() => statuses.length === 2, 8_000), JSON.stringify(statuses));
      assert.deepEqual(statuses, [
        { type: "disconnect", server: `127.0.0.1:${a.port}` },
        { type: "reconnect", server: `127.0.0.1:${b.port}` },
      ]);
      await using nc = await peer(b.url);
      nc.publish("fo", "via-b");
      await nc.flush();
      assert.ok(await eventually(() => got.length === 1, 3_000));
      assert.deepEqual(got, ["via-b"]);
    } finally {
      await a.kill();
    }
  },
});

Deno.test({
  name: "NatsConn.close() while reconnecting ends at once and fails the waiting flushes",
  ignore,
  async fn() {
    await using nats = await startNats();
    const conn = await open({ servers: [nats.url] });
    const statuses: NatsStatus[] = [];
    conn.onStatus = (s) => void (s.type !== "error" && statuses.push(s)); // rounds failed: below
    await nats.kill();
    assert.ok(await eventually(() => statuses.length === 1, 5_000));
    const flush = failure(conn.flush());
    await delay(250); // a few reconnect rounds
    await deadline(conn.close(), 1_000, () => assert.fail("close() hung"));
    assert.ok((await flush) instanceof ConnectionClosedError);
    assert.ok(conn.isClosed());
    assert.throws(() => conn.publish("x", "y"), ConnectionClosedError);
    assert.throws(() => conn.subscribe("x", () => {}), ConnectionClosedError);
    await assert.rejects(conn.flush(), ConnectionClosedError);
    await conn.close(); // twice is harmless
    assert.equal(statuses.length, 1, "no reconnect after close");
    // The sanitizers check that no timer or socket is left.
  },
});

Deno.test("NatsConn.close() during a reconnect attempt that hangs ends that attempt too", async () => {
  let hungEnded = false;
  await using fake = startFakeNats(async (conn, n) => {
    if (n === 0) {
      await fakeNatsHandshake(conn);
      return; // hang up: the client reconnects
    }
    await drainConn(conn); // never says INFO
    hungEnded = true;
  });
  const conn = await open({ servers: [fake.url], timeoutMs: 5_000 });
  const statuses: NatsStatus[] = [];
  conn.onStatus = (s) => void (s.type !== "error" && statuses.push(s)); // rounds failed: below
  assert.ok(await eventually(() => fake.accepted() === 2, 3_000), "a reconnect attempt");
  const flush = failure(conn.flush());
  await conn.close();
  assert.ok((await flush) instanceof ConnectionClosedError);
  // The attempt's socket is closed now, not when its 5 s timeout fires.
  assert.ok(await eventually(() => hungEnded, 1_000), "the hanging attempt was abandoned");
  assert.ok(!statuses.some((s) => s.type === "reconnect"), JSON.stringify(statuses));
  assert.equal(conn.server, null);
});

Deno.test("NatsConn.close() gives up on a peer that stopped reading, after timeoutMs", async () => {
  let release = () => {};
  const frozen = new Promise<void>((resolve) => release = resolve);
  await using fake = startFakeNats(async (conn) => {
    await fakeNatsHandshake(conn, { "max_payload": 4 << 20 });
    await frozen; // reads nothing more: the client's writes fill the socket buffers and wait
  });
  try {
    const conn = await open({ servers: [fake.url], timeoutMs: 500 });
    const big = new Uint8Array(4 << 20);
    for (let i = 0; i < 16; i++) conn.publish("big", big); // 64 MiB: more than the buffers take
    await delay(100);
    const closed = await deadline(conn.close().then(() => true), 5_000, () => false);
    assert.ok(closed, "close() still waiting on the frozen peer");
    assert.ok(conn.isClosed());
  } finally {
    release();
  }
});

Deno.test("NatsConn after a reconnect: subscriptions, then kept publishes, then flush PINGs", async () => {
  let go = () => {};
  const ready = new Promise<void>((resolve) => go = resolve);
  let wire = "";
  await using fake = startFakeNats(async (conn, n) => {
    if (n === 0) {
      await fakeNatsHandshake(conn);
      return; // hang up: the client is down until the next connection says INFO
    }
    await ready;
    await fakeNatsHandshake(conn);
    await drainConn(conn, (text) => wire += text);
  });
  const conn = await open({ servers: [fake.url] });
  await using _conn = conn;
  conn.subscribe("s.one", () => {});
  const gone = conn.subscribe("s.gone", () => {});
  assert.ok(await eventually(() => conn.server === null && fake.accepted() === 2, 3_000));
  gone.unsubscribe(); // while down: not made again
  conn.publish("p.one", "1");
  conn.subscribe("s.two", () => {});
  conn.publish("p.two", "2");
  const flushed = failure(conn.flush()); // never answered by this fake: close fails it
  go();
  assert.ok(await eventually(() => /PING\r\n/.test(wire), 3_000), JSON.stringify(wire));
  const at = (text: string) => wire.indexOf(text);
  assert.ok(at("SUB s.one ") >= 0 && at("SUB s.two ") >= 0, wire);
  assert.equal(at("s.gone"), -1, wire);
  assert.equal(at("UNSUB"), -1, wire);
  // Subscriptions first: replies to the kept publishes need them.
  assert.ok(at("SUB s.two ") < at("PUB p.one "), wire);
  assert.ok(at("PUB p.one 1\r\n1\r\n") < at("PUB p.two 1\r\n2\r\n"), wire);
  // The flush was asked after both publishes: its PING must follow them, or it resolves early.
  assert.ok(at("PUB p.two ") < at("PING\r\n"), wire);
  await conn.close();
  assert.ok((await flushed) instanceof ConnectionClosedError);
});

Deno.test("NatsConn: a flush whose PONG never came on a lost link resolves on the next", async () => {
  await using fake = startFakeNats(async (conn, n) => {
    await fakeNatsHandshake(conn);
    const buf = new Uint8Array(4096);
    let got = "";
    while (!got.includes("PING\r\n")) {
      const r = await conn.read(buf);
      if (r === null) return;
      got += decoder.decode(buf.subarray(0, r));
    }
    if (n === 0) return; // hang up without answering the flush's PING
    await conn.write(encoder.encode("PONG\r\n"));
    await drainConn(conn);
  });
  await using conn = await open({ servers: [fake.url] });
  await deadline(conn.flush(), 5_000, () => assert.fail("the flush never resolved"));
  assert.equal(fake.accepted(), 2);
  assert.equal(conn.server, `127.0.0.1:${fake.port}`);
});

Deno.test("NatsConn: a peer that stops answering keep-alive PINGs is lost, and redialled", async () => {
  const pings: number[] = [];
  await using fake = startFakeNats(async (conn, n) => {
    await fakeNatsHandshake(conn);
    pings[n] = 0;
    await drainConn(conn, (text) => pings[n]! += text.split("PING\r\n").length - 1);
  });
  await using conn = await open({ servers: [fake.url], pingIntervalMs: 100 });
  const statuses: NatsStatus[] = [];
  conn.onStatus = (s) => void (s.type !== "error" && statuses.push(s)); // rounds failed: below
  assert.ok(await eventually(() => statuses.length >= 2, 5_000), JSON.stringify(statuses));
  assert.deepEqual(statuses.slice(0, 2).map((s) => s.type), ["disconnect", "reconnect"]);
  assert.ok(conn.lastError instanceof TimeoutError, String(conn.lastError));
  assert.match((conn.lastError as Error).message, /keep-alive/);
  assert.ok(pings[0]! >= 2, `${pings[0]} PINGs unanswered before the link was given up`);
  assert.ok(fake.accepted() >= 2);
});

Deno.test("NatsConn keeps a link whose peer answers keep-alive PINGs", async () => {
  await using fake = startFakeNats(async (conn) => {
    await fakeNatsHandshake(conn);
    await drainConn(conn, (text) => {
      const n = text.split("PING\r\n").length - 1;
      if (n > 0) void conn.write(encoder.encode("PONG\r\n".repeat(n)));
    });
  });
  await using conn = await open({ servers: [fake.url], pingIntervalMs: 150 });
  const statuses: NatsStatus[] = [];
  conn.onStatus = (s) => void (s.type !== "error" && statuses.push(s)); // rounds failed: below
  await delay(1_200); // eight keep-alive periods: lost after three unanswered
  assert.deepEqual(statuses, []);
  assert.equal(fake.accepted(), 1);
});
