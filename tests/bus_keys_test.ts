/**
 * Operator keys over the bus, with real processes: a two-node NATS cluster
 * (agents on one node, clients on the other), real agents started with
 * `--authorized-keys` (with and without `--no-token`) and the real client
 * with `--identity`. Key-signed requests run under the key's name and role
 * and are audited by name; an unknown key, a bad signature or a swapped key
 * get one `unauthorized` answer, a stripped key (a broken MAC) none at all;
 * `--no-token` agents refuse token-only
 * calls; removing a key from the file refuses it from then on. Also the
 * canonical input's known-answer bytes (docs/protocol.md §12).
 * @module
 */

import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  BusKey,
  busNonce,
  keySignRequest,
  parseRequest,
  requestSigningInput,
  type SignedRequest,
  verifyRequestSignature,
} from "../lib/protocol/bus_auth.ts";
import { FleetSubjects } from "../lib/protocol/nats_subjects.ts";
import { delay } from "../lib/async.ts";
import { loadIdentity } from "../lib/client/identity.ts";
import { importPublicKey, parsePublicKey } from "../lib/protocol/key_auth.ts";
import {
  type AgentProcess,
  eventually,
  hasNatsServer,
  ndjson,
  runClient,
  startAgent,
  startNats,
  TEST_TOKEN,
} from "./helpers.ts";

const ignore = !hasNatsServer();
const subjects = new FleetSubjects();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("bus keys: the canonical input is the MAC's, with the key appended", () => {
  const req = {
    method: "ram",
    params: "{}",
    reply: "rmon.default.reply.r1",
    ts: 1700000000000,
    nonce: "AAAAAAAAAAAAAAAAAAAAAAAA",
  };
  const plain = requestSigningInput("rmon.default.all", req);
  const keyed = requestSigningInput("rmon.default.all", { ...req, key: "K" });
  // Label, direction, subject, method, params, reply, ts, nonce: each a 4-byte length then bytes.
  const expected = [
    "rmon-bus-v1",
    "request",
    "rmon.default.all",
    "ram",
    "{}",
    "rmon.default.reply.r1",
    "1700000000000",
    "AAAAAAAAAAAAAAAAAAAAAAAA",
  ].flatMap((f) => [0, 0, 0, f.length, ...encoder.encode(f)]);
  assert.deepEqual([...plain], expected);
  assert.deepEqual([...keyed], [...expected, 0, 0, 0, 1, 0x4b]);
  // The key is covered by the MAC too: stripping it changes the MAC.
  const k = new BusKey(TEST_TOKEN);
  assert.notEqual(k.requestMac("s", req), k.requestMac("s", { ...req, key: "K" }));
});

Deno.test("bus keys: a signature verifies for its subject and fields only", async () => {
  const pair = await crypto.subtle.generateKey("Ed25519", true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const key = btoa(String.fromCharCode(...raw));
  const req = {
    method: "exec",
    params: '{"shell":"sh","command":"id"}',
    reply: subjects.reply(busNonce()),
    ts: Date.now(),
    nonce: busNonce(),
    key,
  };
  const sig = await keySignRequest(pair.privateKey, subjects.all, req);
  const signed: SignedRequest = { ...req, mac: "x", sig };
  assert.ok(await verifyRequestSignature(pair.publicKey, subjects.all, signed));
  assert.ok(!(await verifyRequestSignature(pair.publicKey, subjects.host("web1"), signed)));
  assert.ok(
    !(await verifyRequestSignature(pair.publicKey, subjects.all, {
      ...signed,
      params: '{"shell":"sh","command":"rm -rf /"}',
    })),
  );
  assert.ok(
    !(await verifyRequestSignature(pair.publicKey, subjects.all, { ...signed, sig: "AA" })),
  );
  // On the wire: key and sig come together or not at all.
  const wire = new BusKey(TEST_TOKEN).signRequest(subjects.all, req, sig);
  assert.equal(parseRequest(wire)?.sig, sig);
  const lone = JSON.parse(decoder.decode(wire));
  delete lone.sig;
  assert.equal(parseRequest(encoder.encode(JSON.stringify(lone))), null);
});

/** `rmon keygen PATH --comment NAME`; the public key line. */
async function keygen(path: string, name: string): Promise<string> {
  const run = await runClient(["keygen", path, "--comment", name]);
  assert.equal(run.code, 0, run.stderr);
  return (await Deno.readTextFile(`${path}.pub`)).trim();
}

/** `rmon --nats URL --json …` one-shot as `identity` (or token only), the test token in the env. */
async function bus(url: string, args: string[], identity?: string) {
  const run = await runClient(
    [
      "--nats",
      url,
      "--json",
      "--yes",
      "--wait",
      "5",
      ...(identity ? ["--identity", identity] : []),
      ...args,
    ],
    { env: { RMON_TOKEN: TEST_TOKEN } },
  );
  return { run, records: ndjson(run.stdout) };
}

/** The audit file's lines. */
async function auditLines(path: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.trim().split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

Deno.test({
  name: "bus keys: agents check the operator's key, apply its role and audit it by name",
  ignore,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "rmon-bus-keys-" });
    await using _dir = {
      [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
    };
    const alice = `${dir}/alice`;
    const bob = `${dir}/bob`;
    const mallory = `${dir}/mallory`;
    const aliceLine = await keygen(alice, "alice");
    const bobLine = await keygen(bob, "bob");
    await keygen(mallory, "mallory");
    const keysFile = `${dir}/authorized_keys`;
    await Deno.writeTextFile(keysFile, `role=admin ${aliceLine}\nrole=read-only ${bobLine}\n`);
    const tokenFile = `${dir}/token`;
    await Deno.writeTextFile(tokenFile, TEST_TOKEN, { mode: 0o600 });
    const auditOpen = `${dir}/audit-open.jsonl`;
    const auditKeys = `${dir}/audit-keys.jsonl`;

    await using a = await startNats({ cluster: true });
    await using b = await startNats({ routes: [a.routeUrl!] });
    assert.ok(
      await eventually(() => /Route connection created/.test(a.log() + b.log()), 10_000),
    );
    // "open" takes keys or the token alone; "locked" (--no-token) takes key-signed calls only.
    const agents: AgentProcess[] = await Promise.all([
      startAgent(a.url, "open", {
        args: ["--authorized-keys", keysFile, "--audit-log", auditOpen],
      }),
      startAgent(a.url, "locked", {
        args: [
          "--authorized-keys",
          keysFile,
          "--no-token",
          "--token-file",
          tokenFile,
          "--audit-log",
          auditKeys,
        ],
      }),
    ]);
    const [open, locked] = agents as [AgentProcess, AgentProcess];
    await using _agents = {
      async [Symbol.asyncDispose]() {
        await Promise.all(agents.map((x) => x[Symbol.asyncDispose]()));
      },
    };
    assert.match(locked.stdout(), /Operator keys: 2 in .*every bus call must be signed by one/);

    await t.step("an admin key runs commands on both agents, audited under its name", async () => {
      const { run, records } = await bus(
        b.url,
        ["--", "sh: echo s3cr3t-output | tr a-z A-Z"],
        alice,
      );
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.deepEqual(records.map((r) => [r.host, r.status, r.stdout, r.role]).sort(), [
        ["locked", "ok", "S3CR3T-OUTPUT\n", "admin"],
        ["open", "ok", "S3CR3T-OUTPUT\n", "admin"],
      ]);
      for (const file of [auditOpen, auditKeys]) {
        const lines = await auditLines(file);
        const exec = lines.find((l) => l.event === "exec" && l.user === "alice");
        assert.ok(exec, `${file}: ${JSON.stringify(lines)}`);
        assert.match(String(exec.key_id), /^SHA256:/);
        assert.equal(exec.command, "echo s3cr3t-output | tr a-z A-Z");
        assert.equal(exec.exit_code, 0);
        assert.equal(exec.output_bytes, 14);
        const text = await Deno.readTextFile(file);
        assert.ok(!text.includes("S3CR3T-OUTPUT"), "no output body");
        assert.ok(!text.includes(TEST_TOKEN), "no token");
      }
    });

    await t.step(
      "the token alone runs on the open agent, is refused by the locked one",
      async () => {
        const { run, records } = await bus(b.url, ["--", "sh: echo hi"]);
        const by = Object.fromEntries(records.map((r) => [r.host, r]));
        assert.equal(by.open?.status, "ok", run.stdout);
        assert.equal(by.locked?.status, "auth_failed", run.stdout);
        assert.match(String(by.locked?.error), /operator key is required/);
        const lines = await auditLines(auditOpen);
        assert.ok(lines.some((l) => l.event === "exec" && l.user === "token" && l.key_id === null));
      },
    );

    await t.step(
      "a read-only key reads, and every action is forbidden naming its role",
      async () => {
        const { records: ram } = await bus(b.url, ["--", "ram"], bob);
        assert.deepEqual(ram.map((r) => [r.status, r.role]), [["ok", "read-only"], [
          "ok",
          "read-only",
        ]]);
        for (const command of ["sh: id", "reset", "kill"]) {
          const { run, records } = await bus(b.url, ["--", command], bob);
          assert.equal(records.length, 2, run.stdout + run.stderr);
          for (const r of records) {
            assert.equal(r.status, "error", `${command}: ${run.stdout}`);
            assert.match(
              String(r.error),
              /Cannot run (exec|reset|kill): bob has the read-only role/,
            );
          }
          assert.equal(run.code, 5);
        }
        // Still both there: the refused kill did not stop them.
        const { records: again } = await bus(b.url, ["--", "ram"], alice);
        assert.deepEqual(again.map((r) => r.status), ["ok", "ok"]);
        const lines = await auditLines(auditKeys);
        assert.ok(lines.some((l) => l.event === "kill" && l.user === "bob" && l.ok === false));
      },
    );

    await t.step("an unknown key is refused in one answer, and logged", async () => {
      const { run, records } = await bus(b.url, ["--wait", "1.5", "--", "sh: echo no"], mallory);
      assert.deepEqual(records.map((r) => [r.host, r.status]).sort(), [
        ["locked", "auth_failed"],
        ["open", "auth_failed"],
      ], run.stdout);
      assert.ok(
        records.every((r) => /the operator key is not accepted here/.test(String(r.error))),
        run.stdout,
      );
      assert.ok(await eventually(() => /refused a request on .*: unknown key/.test(open.stderr())));
      assert.match(locked.stderr(), /refused a request on .*: unknown key/);
    });

    const nc = await connect({ servers: b.url });
    await using _nc = { [Symbol.asyncDispose]: () => nc.close() };
    const identity = await loadIdentity(alice, () => Promise.resolve(null));
    const bad = await loadIdentity(mallory, () => Promise.resolve(null));

    await t.step(
      "forged signatures and swapped keys are refused, stripped ones dropped",
      async () => {
        const subject = subjects.host("locked");
        const tokenKey = new BusKey(TEST_TOKEN);
        const make = () => ({
          method: "exec",
          params: JSON.stringify({ shell: "sh", command: "echo forged" }),
          reply: subjects.reply(busNonce()),
          ts: Date.now(),
          nonce: busNonce(),
          key: identity.publicKey,
        });
        // Alice's key, signed by mallory's private key (a token holder without alice's key).
        const r1 = make();
        const forged = tokenKey.signRequest(
          subject,
          r1,
          await keySignRequest(bad.privateKey, subject, r1),
        );
        // Alice's good signature, but for another subject (moved by the bus or a token holder).
        const r2 = make();
        const moved = tokenKey.signRequest(
          subject,
          r2,
          await keySignRequest(identity.privateKey, subjects.host("open"), r2),
        );
        // Alice's good request with the key and signature stripped off: the MAC no longer matches.
        const r3 = make();
        const whole = JSON.parse(decoder.decode(
          tokenKey.signRequest(subject, r3, await keySignRequest(identity.privateKey, subject, r3)),
        ));
        delete whole.key;
        delete whole.sig;
        const stripped = encoder.encode(JSON.stringify(whole));
        for (
          const [what, body, reply] of [
            ["forged", forged, r1.reply],
            ["moved", moved, r2.reply],
            ["stripped", stripped, r3.reply],
          ] as const
        ) {
          const answers = collect(nc, reply);
          nc.publish(subject, body);
          await nc.flush();
          if (what === "stripped") {
            // The MAC no longer matches: nothing proves a token holder asked, so no answer.
            await delay(600);
            assert.equal(answers.count(), 0, `${what}: answered`);
          } else {
            assert.ok(await eventually(() => answers.count() > 0, 5_000), `${what}: no answer`);
            assert.match(answers.text(), /unauthorized|not accepted/, `${what}: ${answers.text()}`);
            assert.doesNotMatch(answers.text(), /forged\\n/, `${what}: it ran`);
          }
          answers.stop();
        }
        assert.match(locked.stderr(), /bad signature for key SHA256:\S+ \(alice\)/);
        assert.match(locked.stderr(), /bad-mac/);
        // The control: the same request rightly signed is answered.
        const r4 = make();
        const good = tokenKey.signRequest(
          subject,
          r4,
          await keySignRequest(identity.privateKey, subject, r4),
        );
        const answers = collect(nc, r4.reply);
        nc.publish(subject, good);
        assert.ok(await eventually(() => answers.count() > 0, 5_000), "a good request is answered");
        answers.stop();
      },
    );

    await t.step(
      "the console's hosts table names the key and, after a call, its role",
      async () => {
        const r = await runClient(["--nats", b.url, "--identity", bob], {
          env: { RMON_TOKEN: TEST_TOKEN },
          stdin: "hosts\nram\nhosts\n",
        });
        assert.equal(r.code, 0, r.stderr);
        // Before any call, the token's role (nothing says otherwise yet); after one, the key's.
        const [before, after] = r.stdout.split(/HOST +USE%/);
        assert.ok(after !== undefined, r.stdout);
        assert.match(before!, /ROLE bob \(admin\)/);
        assert.match(after!, /ROLE bob \(read-only\)/);
      },
    );

    await t.step(
      "an agent without authorized keys runs a signed request as the token",
      async () => {
        await using plain = await startAgent(a.url, "plain");
        const { run, records } = await bus(b.url, ["plain", "--", "sh: echo plain"], alice);
        assert.deepEqual(records.map((r) => [r.host, r.status, r.stdout, r.role]), [
          ["plain", "ok", "plain\n", "admin"],
        ], run.stdout + run.stderr);
        assert.doesNotMatch(plain.stderr(), /refused/);
      },
    );

    await t.step("removing a key from the file refuses it from the next request on", async () => {
      await Deno.writeTextFile(keysFile, `role=read-only ${bobLine}\n`);
      assert.ok(
        await eventually(() => /authorized keys re-read: 1 keys/.test(locked.stderr()), 10_000),
        locked.stderr(),
      );
      const { records } = await bus(b.url, ["--wait", "1.5", "--", "sh: echo late"], alice);
      const by = Object.fromEntries(records.map((r) => [r.host, r.status]));
      assert.equal(by.locked, "auth_failed");
    });
  },
});

/** Count messages on `subject` until stopped. */
function collect(nc: NatsConnection, subject: string) {
  let n = 0;
  let text = "";
  const sub = nc.subscribe(subject, {
    callback: (_err, msg) => {
      n++;
      text += decoder.decode(msg.data);
    },
  });
  return { count: () => n, text: () => text, stop: () => sub.unsubscribe() };
}

// The public key a test writes is the one the agent looks up (standard base64, as in the file).
Deno.test("bus keys: the identity's public key is the authorized line's body", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-bus-keys-" });
  try {
    const line = await keygen(`${dir}/k`, "k");
    const identity = await loadIdentity(`${dir}/k`, () => Promise.resolve(null));
    const parsed = parsePublicKey(line);
    assert.equal(identity.publicKey, parsed.base64);
    const req = {
      method: "ram",
      params: "{}",
      reply: subjects.reply(busNonce()),
      ts: Date.now(),
      nonce: busNonce(),
      key: identity.publicKey,
    };
    const sig = await keySignRequest(identity.privateKey, subjects.all, req);
    const pub = await importPublicKey(parsed.raw);
    assert.ok(await verifyRequestSignature(pub, subjects.all, { ...req, mac: "", sig }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bus keys: known answer (docs/protocol.md §12.5, checked with Python's cryptography)", async () => {
  // The Ed25519 key whose seed is the bytes 0, 1, …, 31 (PKCS#8: a fixed 16-byte prefix, then the seed).
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
  const prefix = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
  const pkcs8 = new Uint8Array([...prefix, 0x04, 0x22, 0x04, 0x20, ...seed]);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", false, ["sign"]);
  const subject = "rmon.v1.default.host.web1";
  const req = {
    method: "ram",
    params: "{}",
    reply: "rmon.v1.default.reply.r1",
    ts: 1767225600000,
    nonce: "AAECAwQFBgcICQoLDA0ODxAR",
    key: "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
  };
  assert.equal(
    new BusKey("test-token-0123456789abcdef").requestMac(subject, req),
    "ohHD2n_2KJS1G5rVkhvV1bBiByRXUlB8JVZob3MbxKU",
  );
  const sig = await keySignRequest(privateKey, subject, req);
  assert.equal(
    sig,
    "5CSVhenN2t5xiSpEYPRSTCOQxScWh92k3xaykc2YYhxxfovg0zYx11eY5Q65gXOFxmsqgXqoo9XlaQ8NhM4rAg",
  );
  const pub = await importPublicKey(parsePublicKey(`rmon-ed25519 ${req.key}`).raw);
  assert.ok(await verifyRequestSignature(pub, subject, { ...req, mac: "", sig }));
});
