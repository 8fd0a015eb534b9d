/**
 * Operator keys, unit and in-memory: the public key line, authorized keys
 * parsing and `from=` blocks, key files (sealed or not, private or refused),
 * the key handshake (known key, unknown key, bad signature, refused source,
 * `--no-token`, channel binding) and the audit log's rotation.
 * @module
 */

import assert from "node:assert/strict";
import { AuthError } from "../lib/protocol/errors.ts";
import { TokenKey } from "../lib/protocol/auth.ts";
import { FRAME_LIMITS } from "../lib/protocol/constants.ts";
import {
  clientHandshake,
  type KnownKey,
  serverHandshake,
  type ServerHandshakeOptions,
} from "../lib/protocol/handshake.ts";
import { formatPublicKey, parsePublicKey, toBase64 } from "../lib/protocol/key_auth.ts";
import type { Protection, Transport } from "../lib/protocol/transport.ts";
import {
  generateIdentity,
  type Identity,
  loadIdentity,
  writeIdentity,
} from "../lib/client/identity.ts";
import { AuditLog } from "../lib/server/audit.ts";
import {
  allowsSource,
  AuthorizedKeys,
  parseAuthorizedKeys,
} from "../lib/server/authorized_keys.ts";
import { cidrContains, parseCidr, parseIp } from "../lib/server/cidr.ts";
import { FakePeer, memoryPair, memoryTransport } from "./protocol_helpers.ts";
import { dialTcp } from "../lib/protocol/tcp_transport.ts";
import { formatFingerprint } from "../lib/protocol/fingerprint.ts";
import {
  bannerFingerprint,
  relayingProxy,
  runClient,
  type ServerProcess,
  startServer,
  TEST_TOKEN,
} from "./helpers.ts";

const RAW = new Uint8Array(32).map((_, i) => i);
const B64 = toBase64(RAW);

/** A temporary folder, removed on dispose. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "rmon-keys-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

Deno.test("parsePublicKey() reads the key line and says what is wrong with a bad one", async (t) => {
  await t.step("round trip with a comment of several words", () => {
    const line = formatPublicKey(RAW, "alice at the laptop");
    assert.equal(line, `rmon-ed25519 ${B64} alice at the laptop`);
    const parsed = parsePublicKey(line);
    assert.deepEqual(parsed.raw, RAW);
    assert.equal(parsed.comment, "alice at the laptop");
  });
  const bad: [string, RegExp][] = [
    [`ssh-ed25519 ${B64} x`, /expected a key starting with "rmon-ed25519"/],
    ["rmon-ed25519", /no base64 body/],
    ["rmon-ed25519 !!!! x", /not base64/],
    [`rmon-ed25519 ${toBase64(RAW.subarray(0, 31))} x`, /31 bytes, not 32/],
  ];
  for (const [line, why] of bad) {
    await t.step(line.slice(0, 30), () => assert.throws(() => parsePublicKey(line), why));
  }
});

Deno.test("parseAuthorizedKeys() reads roles and sources and names the line of each error", async (t) => {
  await t.step("options, quoted source lists, comments and blank lines", () => {
    const text = [
      "# operators",
      `role=admin rmon-ed25519 ${B64} alice`,
      "",
      `role=read-only,from="10.0.0.0/8, fd00::/8" rmon-ed25519 ${
        toBase64(RAW.map((b) => b + 1))
      } mon itor`,
    ].join("\n");
    const keys = parseAuthorizedKeys(text, "/etc/keys");
    assert.deepEqual(keys.map((k) => [k.name, k.role, k.line]), [
      ["alice", "admin", 2],
      ["mon itor", "read-only", 4],
    ]);
    assert.equal(keys[0]!.from, null);
    assert.deepEqual(keys[1]!.from!.map((c) => c.text), ["10.0.0.0/8", "fd00::/8"]);
    assert.equal(allowsSource(keys[1]!, "10.200.0.1"), true);
    assert.equal(allowsSource(keys[1]!, "::ffff:10.0.0.1"), true, "IPv4-mapped IPv6");
    assert.equal(allowsSource(keys[1]!, "fd00::1"), true);
    assert.equal(allowsSource(keys[1]!, "192.168.1.1"), false);
    assert.equal(allowsSource(keys[1]!, ""), false, "no address, no match");
  });
  const bad: [string, RegExp][] = [
    [`rmon-ed25519 ${B64} alice`, /line 1: no role: start the line with role=admin/],
    [`role=root rmon-ed25519 ${B64} alice`, /line 1: role must be admin or read-only, not "root"/],
    [`role=admin rmon-ed25519 ${B64}`, /line 1: no name/],
    [`role=admin,color=red rmon-ed25519 ${B64} a`, /unknown option "color"/],
    [`role=admin,from="10.0.0.0/33" rmon-ed25519 ${B64} a`, /bad prefix length/],
    [`role=admin,from="10.0.0.0/8 rmon-ed25519 ${B64} a`, /unterminated quote/],
    [
      `role=admin rmon-ed25519 ${B64} a\nrole=admin rmon-ed25519 ${B64} b`,
      /line 2: the same key as line 1/,
    ],
    ["role=admin", /no "rmon-ed25519" key/],
  ];
  for (const [text, why] of bad) {
    await t.step(text.slice(0, 40), () => {
      assert.throws(() => parseAuthorizedKeys(text, "/etc/keys"), (err) => {
        assert.ok(err instanceof SyntaxError);
        assert.match(err.message, /^Cannot read authorized keys "\/etc\/keys" line \d+: /);
        assert.match(err.message, why);
        return true;
      });
    });
  }
});

Deno.test("cidr: addresses and blocks, v4, v6 and mapped", () => {
  assert.deepEqual(parseIp("127.0.0.1"), new Uint8Array([127, 0, 0, 1]));
  assert.deepEqual(parseIp("::ffff:127.0.0.1"), new Uint8Array([127, 0, 0, 1]));
  assert.equal(parseIp("::1")?.length, 16);
  for (const junk of ["", "1.2.3", "256.0.0.1", "01.2.3.4", "1::2::3", "fe80:::1", "x"]) {
    assert.equal(parseIp(junk), null, junk);
  }
  const v4 = parseCidr("192.168.4.0/22");
  assert.equal(cidrContains(v4, parseIp("192.168.7.255")!), true);
  assert.equal(cidrContains(v4, parseIp("192.168.8.0")!), false);
  assert.equal(cidrContains(parseCidr("0.0.0.0/0"), parseIp("8.8.8.8")!), true);
  assert.equal(cidrContains(parseCidr("2001:db8::/32"), parseIp("2001:db8:ffff::1")!), true);
  assert.equal(cidrContains(parseCidr("2001:db8::/32"), parseIp("2001:db9::1")!), false);
  assert.equal(cidrContains(parseCidr("10.0.0.1"), parseIp("10.0.0.1")!), true, "a bare address");
  assert.equal(
    cidrContains(parseCidr("::/0"), parseIp("10.0.0.1")!),
    false,
    "never across families",
  );
  assert.throws(() => parseCidr("10.0.0.0/8/1"), SyntaxError);
});

Deno.test("identity files: plain or sealed, private, never overwritten", async (t) => {
  await using dir = await tempDir();
  const path = `${dir.path}/sub/id_ed25519`;
  const never = () => Promise.resolve(null);

  await t.step("a plain key is written 0600 with its .pub line and loads", async () => {
    const files = await generateIdentity("alice@laptop");
    await writeIdentity(path, files);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const pub = parsePublicKey(await Deno.readTextFile(`${path}.pub`));
    assert.equal(pub.comment, "alice@laptop");
    const id = await loadIdentity(path, never);
    assert.equal(id.publicKey, pub.base64);
    assert.equal(id.comment, "alice@laptop");
  });

  await t.step("an existing key is never overwritten", async () => {
    await assert.rejects(
      writeIdentity(path, await generateIdentity("x")),
      Deno.errors.AlreadyExists,
    );
  });

  await t.step("a key others can read is refused", async () => {
    await Deno.chmod(path, 0o644);
    await assert.rejects(loadIdentity(path, never), /mode 0644 lets group or others access it/);
    await Deno.chmod(path, 0o600);
  });

  await t.step("a sealed key needs its passphrase, and only that one", async () => {
    const sealed = `${dir.path}/sealed`;
    const files = await generateIdentity("bob", "correct horse");
    assert.doesNotMatch(files.privateText, /"pkcs8"/, "no plain key in a sealed file");
    await writeIdentity(sealed, files);
    let asked = 0;
    const id = await loadIdentity(sealed, () => (asked++, Promise.resolve("correct horse")));
    assert.equal(asked, 1);
    assert.equal(id.publicKey, parsePublicKey(files.publicLine).base64);
    await assert.rejects(loadIdentity(sealed, () => Promise.resolve("wrong")), /wrong passphrase/);
    await assert.rejects(
      loadIdentity(sealed, never),
      /sealed with a passphrase and none was given/,
    );
  });

  await t.step("a file that is no key says so", async () => {
    const junk = `${dir.path}/junk`;
    await Deno.writeTextFile(junk, "hello", { mode: 0o600 });
    await assert.rejects(loadIdentity(junk, never), /not an rmon private key file/);
  });
});

// ---- the key handshake, in memory ----------------------------------------------

const TOKEN_KEY = new TokenKey("token-for-key-tests-0123456789");

/** A fresh identity and the server's view of it. */
async function operator(
  name: string,
  role: "admin" | "read-only",
  allows: (peer: string) => boolean = () => true,
): Promise<{ identity: Identity; known: KnownKey }> {
  await using dir = await tempDir();
  const path = `${dir.path}/id`;
  await writeIdentity(path, await generateIdentity(name));
  const identity = await loadIdentity(path, () => Promise.resolve(null));
  const keys = await writeAndLoad(`role=${role} ${await Deno.readTextFile(`${path}.pub`)}`);
  const entry = keys.get(identity.publicKey)!;
  return { identity, known: { ...entry, allows } };
}

async function writeAndLoad(text: string): Promise<AuthorizedKeys> {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/keys`, text);
  return await AuthorizedKeys.load(`${dir.path}/keys`);
}

function serverOptions(
  known: KnownKey[],
  overrides: Partial<ServerHandshakeOptions> = {},
): ServerHandshakeOptions {
  return {
    key: TOKEN_KEY,
    findKey: (pk) => known.find((k) => keyBase64.get(k) === pk),
    readOnly: false,
    deadlineMs: 5_000,
    maxFrameBytes: FRAME_LIMITS.postAuth,
    ...overrides,
  };
}

/** Which public key each KnownKey stands for (KnownKey itself does not carry it). */
const keyBase64 = new Map<KnownKey, string>();

/** Run both sides of one handshake over an in-memory pair. */
function handshake(
  client: Parameters<typeof clientHandshake>[1],
  server: ServerHandshakeOptions,
  sides: { client?: Protection; server?: Protection; peerAddress?: string } = {},
) {
  const [clientEnd, serverEnd] = memoryPair();
  const serverTransport: Transport = {
    ...memoryTransport(serverEnd, sides.server),
    peerAddress: sides.peerAddress ?? "10.1.2.3",
  };
  return Promise.allSettled([
    clientHandshake(memoryTransport(clientEnd, sides.client), client),
    serverHandshake(serverTransport, server),
  ]).then(([c, s]) => {
    if (c.status === "fulfilled") c.value.peer.close();
    if (!serverEnd.closed) serverEnd.close();
    return [c, s] as const;
  });
}

Deno.test("serverHandshake() signs operators in by key, and refuses alike what fails", async (t) => {
  const alice = await operator("alice", "admin");
  const bob = await operator("bob", "read-only", (peer) => peer.startsWith("10."));
  keyBase64.set(alice.known, alice.identity.publicKey);
  keyBase64.set(bob.known, bob.identity.publicKey);
  const both = [alice.known, bob.known];

  await t.step("a known key signs in with its name and role, no token needed", async () => {
    const [c, s] = await handshake({ key: null, identity: alice.identity, timeoutMs: 5_000 }, {
      ...serverOptions(both),
    }, { client: TLS_A, server: TLS_A });
    assert.equal(c.status, "fulfilled");
    assert.equal(s.status, "fulfilled");
    if (c.status !== "fulfilled" || s.status !== "fulfilled") return;
    assert.equal(c.value.auth.user, "alice");
    assert.equal(c.value.auth.role, "admin");
    assert.equal(c.value.auth.mac, undefined, "no token proof for a key-only client");
    assert.equal(s.value.identity.kind, "key");
    assert.equal(s.value.identity.user, "alice");
    assert.match(s.value.identity.keyId ?? "", /^SHA256:/);
  });

  await t.step("the read-only role comes through", async () => {
    const [c] = await handshake(
      { key: null, identity: bob.identity, timeoutMs: 5_000 },
      serverOptions(both),
      {
        client: TLS_A,
        server: TLS_A,
      },
    );
    assert.ok(c.status === "fulfilled");
    assert.equal(c.value.auth.role, "read-only");
    assert.equal(c.value.auth.readOnly, true);
  });

  await t.step("unknown key, bad signature and refused source get the same answer", async () => {
    const stranger = await operator("mallory", "admin");
    const answers: string[] = [];
    const reasons: string[] = [];
    const cases: [Identity, ServerHandshakeOptions, string][] = [
      [stranger.identity, serverOptions(both), "10.1.2.3"],
      // Alice's public key with Mallory's private key: a signature that does not verify.
      [
        { ...stranger.identity, publicKey: alice.identity.publicKey },
        serverOptions(both),
        "10.1.2.3",
      ],
      [bob.identity, serverOptions(both), "192.168.1.9"],
    ];
    for (const [identity, server, peerAddress] of cases) {
      const [clientEnd, serverEnd] = memoryPair();
      const serverSide = serverHandshake(
        { ...memoryTransport(serverEnd), peerAddress },
        server,
      );
      serverSide.catch(() => {});
      const fake = new FakePeer(clientEnd);
      const hello = await fake.recvJson() as { params: { nonce: string } };
      // Let the real client code build the request, then read it off the wire.
      const [realClientEnd, fakeServerEnd] = memoryPair();
      const relay = new FakePeer(fakeServerEnd);
      const client = clientHandshake(memoryTransport(realClientEnd), {
        key: null,
        identity,
        timeoutMs: 5_000,
      });
      client.catch(() => {});
      await relay.send({ jsonrpc: "2.0", method: "hello", params: hello.params });
      const auth = await relay.recvJson();
      await fake.send({ ...auth, id: 7 });
      answers.push(...await fake.drain());
      const err = await serverSide.then(() => null, (e) => e);
      assert.ok(err instanceof AuthError);
      reasons.push(err.message);
      relay.close();
      fake.close();
    }
    assert.equal(answers.length, 3);
    assert.ok(answers.every((a) => a === answers[0]), answers.join("\n"));
    assert.equal(
      answers[0],
      '{"jsonrpc":"2.0","id":7,"error":{"code":-32001,"message":"Unauthorized"}}',
    );
    // The server's own log says which, for the operator.
    assert.match(reasons[0]!, /unknown key/);
    assert.match(reasons[1]!, /bad signature for key "alice"/);
    assert.match(reasons[2]!, /key "bob" not allowed from 192\.168\.1\.9/);
  });

  await t.step("--no-token refuses the right token", async () => {
    const [c, s] = await handshake(
      { key: TOKEN_KEY, timeoutMs: 5_000 },
      serverOptions(both, { key: null }),
    );
    assert.equal(c.status, "rejected");
    assert.ok(s.status === "rejected" && /tokens refused/.test(String(s.reason)));
  });

  await t.step(
    "the token still works beside keys, and a key-and-token client gets the server's proof",
    async () => {
      const [c] = await handshake(
        { key: TOKEN_KEY, identity: alice.identity, timeoutMs: 5_000 },
        serverOptions(both),
      );
      assert.ok(c.status === "fulfilled");
      assert.equal(c.value.auth.user, "alice");
      assert.match(c.value.auth.mac ?? "", /^[A-Za-z0-9_-]{43}$/);
      const [t2] = await handshake({ key: TOKEN_KEY, timeoutMs: 5_000 }, serverOptions(both));
      assert.ok(t2.status === "fulfilled");
      assert.equal(t2.value.auth.user, "token");
    },
  );

  await t.step(
    "over plain TCP a key-only server cannot satisfy a client that holds a token",
    async () => {
      const [c] = await handshake(
        { key: TOKEN_KEY, identity: alice.identity, timeoutMs: 5_000 },
        serverOptions(both, { key: null }),
      );
      assert.ok(
        c.status === "rejected" && /could not prove it holds the token/.test(String(c.reason)),
      );
    },
  );

  await t.step("a signature made over another certificate fails: channel binding", async () => {
    const [c, s] = await handshake(
      { key: null, identity: alice.identity, timeoutMs: 5_000 },
      serverOptions(both),
      {
        client: TLS_A,
        server: { kind: "tls", fingerprint: "bb".repeat(32) },
      },
    );
    assert.equal(c.status, "rejected");
    assert.ok(s.status === "rejected" && /bad signature/.test(String(s.reason)));
  });
});

const TLS_A: Protection = { kind: "tls", fingerprint: "aa".repeat(32) };

Deno.test("AuditLog appends private JSON lines and rotates by size", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/audit.jsonl`;
  const log = AuditLog.open(path, { maxBytes: 400, keep: 2 });
  for (let i = 0; i < 12; i++) {
    log.write({
      event: "exec",
      ok: true,
      source: "127.0.0.1:1",
      user: "alice",
      command: `echo ${i}`,
    });
  }
  log.close();
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  const files = [path, `${path}.1`, `${path}.2`];
  for (const f of files) assert.ok((await Deno.stat(f)).size <= 400, f);
  await assert.rejects(Deno.stat(`${path}.3`), Deno.errors.NotFound, "only two old files kept");
  const last = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(last.at(-1).command, "echo 11");
  assert.match(last.at(-1).time, /^\d{4}-\d\d-\d\dT/);
});

// ---- real processes --------------------------------------------------------------

/** `rmon keygen PATH --comment NAME` through the real client; the public key line. */
async function keygen(path: string, name: string, env: Record<string, string> = {}) {
  const sealed = env.RMON_KEY_PASSPHRASE !== undefined ? ["--passphrase"] : [];
  const run = await runClient(["keygen", path, "--comment", name, ...sealed], { env });
  assert.equal(run.code, 0, run.stderr);
  return (await Deno.readTextFile(`${path}.pub`)).trim();
}

/** One-shot `--json` as the given identity (no token in the environment). */
async function asOperator(
  server: ServerProcess,
  identity: string,
  command: string,
  env: Record<string, string> = {},
) {
  const run = await runClient(
    [
      "--json",
      "--yes",
      "--identity",
      identity,
      "--hosts",
      `127.0.0.1:${server.port}`,
      "--",
      command,
    ],
    { env },
  );
  const lines = run.stdout.trim().split("\n").filter((l) => l);
  return { run, record: lines.length === 1 ? JSON.parse(lines[0]!) : null };
}

Deno.test("operator keys end to end: keygen, roles, --no-token, audit, revocation", async (t) => {
  await using dir = await tempDir();
  const alice = `${dir.path}/alice`;
  const bob = `${dir.path}/bob`;
  const keysFile = `${dir.path}/authorized_keys`;
  const auditFile = `${dir.path}/audit.jsonl`;

  await t.step("rmon keygen writes the pair and never overwrites it", async () => {
    const line = await keygen(alice, "alice");
    assert.match(line, /^rmon-ed25519 [A-Za-z0-9+/]{43}= alice$/);
    assert.equal((await Deno.stat(alice)).mode! & 0o777, 0o600);
    const again = await runClient(["keygen", alice]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists already/);
  });
  const bobLine = await keygen(bob, "bob");
  await Deno.writeTextFile(
    keysFile,
    `role=admin ${await Deno.readTextFile(`${alice}.pub`)}role=read-only ${bobLine}\n`,
  );
  await using server = await startServer({
    token: null,
    // Refused sign-ins are part of the test: no penalty may lock out the next step.
    args: ["--authorized-keys", keysFile, "--no-token", "--audit-log", auditFile, "--penalty", "0"],
  });
  assert.match(server.banner.join("\n"), /Operator keys: 2 in .*\(the token is refused\)/);

  await t.step("an admin key signs in and runs commands", async () => {
    const { record } = await asOperator(server, alice, "sh: echo s3cr3t-output | tr a-z A-Z");
    assert.equal(record.status, "ok");
    assert.equal(record.stdout, "S3CR3T-OUTPUT\n");
    assert.equal(record.role, "admin");
  });

  await t.step("the token is refused with --no-token", async () => {
    const run = await runClient(
      ["--json", "--hosts", `127.0.0.1:${server.port}`, "--", "ram"],
      { env: { RMON_TOKEN: TEST_TOKEN } },
    );
    assert.equal(JSON.parse(run.stdout).status, "auth_failed");
    assert.equal(run.code, 3);
  });

  await t.step("a read-only key reads, and every action is forbidden naming its role", async () => {
    const { record: ram } = await asOperator(server, bob, "ram");
    assert.equal(ram.status, "ok");
    assert.equal(ram.role, "read-only");
    for (const command of ["sh: id", "reset", "kill"]) {
      const { run, record } = await asOperator(server, bob, command);
      assert.equal(record?.status, "error", `${command}: ${run.stdout}${run.stderr}`);
      assert.match(record.error, /Cannot run (exec|reset|kill): bob has the read-only role/);
      assert.equal(run.code, 5);
    }
    const { record: ping } = await asOperator(server, bob, "ping 127.0.0.1 1");
    assert.notEqual(ping.status, "error", "ping is allowed to read-only keys");
  });

  await t.step("the audit trail names who did what, never the output or a token", async () => {
    const lines = (await Deno.readTextFile(auditFile)).trim().split("\n").map((l) => JSON.parse(l));
    const logins = lines.filter((l) => l.event === "auth");
    assert.ok(
      logins.some((l) =>
        l.ok && l.user === "alice" && l.role === "admin" && /^SHA256:/.test(l.key_id)
      ),
    );
    assert.ok(logins.some((l) => !l.ok && l.user === null && /tokens refused/.test(l.error)));
    const exec = lines.find((l) => l.event === "exec" && l.user === "alice");
    assert.equal(exec.command, "echo s3cr3t-output | tr a-z A-Z");
    assert.equal(exec.shell, "sh");
    assert.equal(exec.exit_code, 0);
    assert.equal(exec.output_bytes, 14);
    assert.ok(Number.isInteger(exec.duration_ms));
    assert.ok(lines.some((l) => l.event === "reset" && l.user === "bob" && !l.ok));
    assert.ok(lines.some((l) => l.event === "ping" && l.user === "bob" && l.host === "127.0.0.1"));
    const text = await Deno.readTextFile(auditFile);
    assert.ok(!text.includes("S3CR3T-OUTPUT"), "no output body");
    assert.ok(!text.includes(TEST_TOKEN), "no token");
    assert.equal((await Deno.stat(auditFile)).mode! & 0o777, 0o600);
  });

  await t.step("removing a key cuts its open connection and refuses it from then on", async () => {
    const id = await loadIdentity(bob, () => Promise.resolve(null));
    const transport = await dialTcp({ hostname: "127.0.0.1", port: server.port }, 5_000);
    const session = await clientHandshake(transport, { key: null, identity: id, timeoutMs: 5_000 });
    let bye: unknown = null;
    session.peer.handlers = { onNotification: (n) => bye = n.params };
    const running = session.peer.run();
    assert.deepEqual(await session.peer.call("name"), { hostname: Deno.hostname() });
    await Deno.writeTextFile(keysFile, `role=admin ${await Deno.readTextFile(`${alice}.pub`)}`);
    await running; // ends when the server closes the connection
    assert.deepEqual(bye, { reason: "revoked" });
    assert.match(server.stderr(), /bob: key revoked, closing/);
    const { record } = await asOperator(server, bob, "ram");
    assert.equal(record.status, "auth_failed");
    assert.equal((await asOperator(server, alice, "ram")).record.status, "ok", "alice stays");
  });
});

Deno.test("the client's key: default path, passphrase, and a key others can read", async (t) => {
  await using dir = await tempDir();
  const home = `${dir.path}/home`;
  const defaultKey = `${home}/.config/rmon/id_ed25519`;
  const sealed = `${dir.path}/sealed`;
  await keygen(defaultKey, "carol");
  await keygen(sealed, "dave", { RMON_KEY_PASSPHRASE: "open sesame" });
  assert.doesNotMatch(await Deno.readTextFile(sealed), /pkcs8/);
  const keysFile = `${dir.path}/keys`;
  await Deno.writeTextFile(
    keysFile,
    `role=admin ${await Deno.readTextFile(`${defaultKey}.pub`)}` +
      `role=admin ${await Deno.readTextFile(`${sealed}.pub`)}`,
  );
  await using server = await startServer({
    token: null,
    args: ["--authorized-keys", keysFile, "--no-token", "--penalty", "0"],
  });
  const query = (args: string[], env: Record<string, string>) =>
    runClient(["--json", ...args, "--hosts", `127.0.0.1:${server.port}`, "--", "name"], { env });

  await t.step("~/.config/rmon/id_ed25519 is used when it exists", async () => {
    const run = await query([], { HOME: home, XDG_CONFIG_HOME: "" });
    assert.equal(JSON.parse(run.stdout).status, "ok", run.stderr);
  });
  await t.step("a sealed key opens with its passphrase", async () => {
    const run = await query(["--identity", sealed], { RMON_KEY_PASSPHRASE: "open sesame" });
    assert.equal(JSON.parse(run.stdout).status, "ok", run.stderr);
  });
  await t.step("a wrong passphrase is a one-line usage error", async () => {
    const run = await query(["--identity", sealed], { RMON_KEY_PASSPHRASE: "nope" });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /wrong passphrase/);
  });
  await t.step("a key that group or others can read is refused", async () => {
    await Deno.chmod(defaultKey, 0o640);
    const run = await query(["--identity", defaultKey], {});
    assert.equal(run.code, 2);
    assert.match(run.stderr, /mode 0640 lets group or others access it/);
  });
});

Deno.test("channel binding: a relaying proxy cannot reuse an operator's signature", async () => {
  await using dir = await tempDir();
  const key = `${dir.path}/id`;
  const line = await keygen(key, "erin");
  await Deno.writeTextFile(`${dir.path}/keys`, `role=admin ${line}\n`);
  await using server = await startServer({
    token: null,
    args: ["--tls", "--authorized-keys", `${dir.path}/keys`, "--no-token"],
  });
  const fingerprint = bannerFingerprint(server);
  const direct = await runClient([
    "--json",
    "--identity",
    key,
    "--fingerprint",
    fingerprint,
    "--hosts",
    `127.0.0.1:${server.port}`,
    "--",
    "name",
  ]);
  assert.equal(JSON.parse(direct.stdout).status, "ok", "control: directly, the key works");
  await using proxy = await relayingProxy({ port: server.port, fingerprint });
  const run = await runClient([
    "--json",
    "--identity",
    key,
    "--fingerprint",
    formatFingerprint(proxy.fingerprint),
    "--hosts",
    `127.0.0.1:${proxy.port}`,
    "--",
    "name",
  ]);
  assert.equal(JSON.parse(run.stdout).status, "auth_failed");
  assert.match(server.stderr(), /bad signature for key "erin"/);
});
