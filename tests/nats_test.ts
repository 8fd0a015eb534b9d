/**
 * Process-level tests of bus mode: a real two-node NATS cluster (agents on
 * one node, the client on the other, so every request crosses a route), real
 * agents (`rmon-server --nats`), the real client CLI. The same records as
 * over direct connections; targets by name, group and all; absent and hung
 * hosts; forged, stale and replayed requests refused by the agents; forged
 * replies refused by the client; NATS restarted under the agents; NATS
 * credentials refused.
 * @module
 */

import assert from "node:assert/strict";
import {
  connect,
  type NatsConnection,
  nkeyAuthenticator,
  nkeys,
  type Subscription,
} from "@nats-io/transport-node";
import { BusKey, busNonce, parseRequest } from "../lib/protocol/bus_auth.ts";
import {
  FleetSubjects,
  FLOW_WINDOW_CHARS,
  PRESENCE_METHOD,
} from "../lib/protocol/nats_subjects.ts";
import { delay } from "../lib/async.ts";
import { RMON_VERSION } from "../lib/protocol/constants.ts";
import { EXIT_CODES } from "../lib/usage.ts";
import {
  addr,
  type AgentProcess,
  descendants,
  eventually,
  hasNatsServer,
  isAlive,
  makeCaSignedServer,
  ndjson,
  PtyConsole,
  runClient,
  spawnClient,
  startAgent,
  startNats,
  startServer,
  startWeb,
  TEST_TOKEN,
} from "./helpers.ts";

const ignore = !hasNatsServer();
const subjects = new FleetSubjects();
const key = new BusKey(TEST_TOKEN);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `rmon --nats URL --json …` one-shot, with the test token. */
function bus(url: string, args: string[], opts: { token?: string } = {}) {
  return runClient(["--nats", url, "--json", "--wait", "5", ...args], {
    env: { RMON_TOKEN: opts.token ?? TEST_TOKEN },
  });
}

/** Hosts of an NDJSON run, sorted, with their statuses. */
function statuses(stdout: string): Record<string, unknown> {
  return Object.fromEntries(ndjson(stdout).map((r) => [r.host, r.status]));
}

/** Subscribe in the test process; resolves with the first message's subject and data. */
function capture(
  nc: NatsConnection,
  subject: string,
): Promise<{ subject: string; data: Uint8Array }> {
  return new Promise((resolve) => {
    const sub = nc.subscribe(subject, {
      max: 1,
      callback: (_err, msg) => {
        resolve({ subject: msg.subject, data: msg.data.slice() });
        sub.unsubscribe();
      },
    });
  });
}

/** A request signed with `k` (or the test key) as a client would make it, not yet sent. */
function signedRequest(
  subject: string,
  method: string,
  params: Record<string, unknown>,
  opts: { ts?: number; key?: BusKey } = {},
): { reply: string; body: Uint8Array } {
  const reply = subjects.reply(busNonce());
  const body = (opts.key ?? key).signRequest(subject, {
    method,
    params: JSON.stringify(params),
    reply,
    ts: opts.ts ?? Date.now(),
    nonce: busNonce(),
  });
  return { reply, body };
}

Deno.test({
  name: "bus mode: agents on a NATS cluster answer the real client as over direct connections",
  ignore,
  async fn(t) {
    await using a = await startNats({ cluster: true });
    await using b = await startNats({ routes: [a.routeUrl!] });
    // The route is up once b reports it (requests from b must reach agents on a).
    assert.ok(
      await eventually(() =>
        /Route connection created|route.*registered/i.test(b.log()) ||
        /Route connection created/.test(a.log()), 10_000),
    );
    // Both nodes run JetStream, as a fleet's cluster may: rmon must work beside it.
    assert.match(a.log(), /Starting JetStream cluster/);
    assert.match(b.log(), /Starting JetStream cluster/);
    const agents: AgentProcess[] = await Promise.all([
      startAgent(a.url, "web1", { args: ["--groups", "web", "--max-output", "65536"] }),
      startAgent(a.url, "web2", { args: ["--groups", "web,prod"] }),
      startAgent(a.url, "db1", { args: ["--groups", "db"] }),
    ]);
    const [web1, web2, db1] = agents as [AgentProcess, AgentProcess, AgentProcess];
    await using _agents = {
      async [Symbol.asyncDispose]() {
        await Promise.all(agents.map((x) => x[Symbol.asyncDispose]()));
      },
    };
    const nc = await connect({ servers: b.url });
    await using _nc = { [Symbol.asyncDispose]: () => nc.close() };

    await t.step("ram gives the same records as a direct connection", async () => {
      await using direct = await startServer();
      const viaDirect = await runClient(["--json", addr(direct), "--", "ram"], {
        env: { RMON_TOKEN: TEST_TOKEN },
      });
      const viaBus = await bus(b.url, ["--", "@web1", "ram"]);
      assert.equal(viaBus.code, EXIT_CODES.ok, viaBus.stderr);
      assert.equal(viaDirect.code, EXIT_CODES.ok, viaDirect.stderr);
      const [d] = ndjson(viaDirect.stdout);
      const [n] = ndjson(viaBus.stdout);
      assert.deepEqual(Object.keys(n!), Object.keys(d!));
      assert.deepEqual(Object.keys(n!.data as object), Object.keys(d!.data as object));
      for (
        const field of [
          "status",
          "exit_code",
          "signal",
          "stdout",
          "stderr",
          "truncated",
          "role",
          "error",
        ]
      ) {
        assert.deepEqual(n![field], d![field], field);
      }
      assert.equal(n!.host, "web1");
      assert.match(String(n!.address), /^nats:/);
    });

    await t.step("--list-hosts names the agents present that the target picks", async () => {
      const r = await runClient(["--nats", b.url, "--list-hosts", "--", "@group:web"], {
        env: { RMON_TOKEN: TEST_TOKEN },
      });
      assert.equal(r.code, EXIT_CODES.ok, r.stderr);
      assert.deepEqual(r.stdout.trim().split("\n").sort(), ["web1", "web2"]);
    });

    await t.step("targets by name, group and all", async () => {
      const all = await bus(b.url, ["--", "uptime"]);
      assert.deepEqual(statuses(all.stdout), { web1: "ok", web2: "ok", db1: "ok" });
      const group = await bus(b.url, ["--", "@group:web", "os"]);
      assert.deepEqual(statuses(group.stdout), { web1: "ok", web2: "ok" });
      const names = await bus(b.url, ["--", "@db1,web2", "name"]);
      assert.deepEqual(statuses(names.stdout), { db1: "ok", web2: "ok" });
      const both = await bus(b.url, ["--", "@group:web&group:prod", "cpu"]);
      assert.deepEqual(statuses(both.stdout), { web2: "ok" });
    });

    await t.step("exec streams stdout and stderr and gives the exit code", async () => {
      const r = await bus(b.url, ["-y", "--", "@group:web", "sh: echo out; echo err >&2; exit 3"]);
      assert.equal(r.code, EXIT_CODES.nonzero, r.stderr);
      for (const rec of ndjson(r.stdout)) {
        assert.equal(rec.status, "nonzero");
        assert.equal(rec.exit_code, 3);
        assert.equal(rec.stdout, "out\n");
        assert.equal(rec.stderr, "err\n");
        assert.equal(rec.role, "admin");
      }
      const text = await runClient(["--nats", b.url, "-y", "--", "@web1", "sh: seq 1 3"], {
        env: { RMON_TOKEN: TEST_TOKEN },
      });
      assert.equal(text.code, EXIT_CODES.ok, text.stderr);
      assert.match(text.stdout, /web1 \| 1\nweb1 \| 2\nweb1 \| 3\n/);
    });

    await t.step("Ctrl-C cancels the command on the agents over the bus (exit 130)", async () => {
      const client = await spawnClient(
        ["--nats", b.url, "-y", "--", "@group:web", "sh: echo started; sleep 30"],
        { env: { RMON_TOKEN: TEST_TOKEN } },
      );
      await using _client = client;
      assert.ok(
        await eventually(() => (client.stdout().match(/started/g) ?? []).length === 2, 10_000),
      );
      const sleeping = () =>
        [web1, web2].flatMap((x) => descendants(x.pid)).filter((pid) => isAlive(pid));
      assert.ok(sleeping().length >= 2, "each agent runs the command");
      client.kill("SIGINT");
      const done = await client.done;
      assert.equal(done.code, 130, done.stderr);
      assert.match(done.stdout, /2 hosts: 0 ok, 2 cancelled/);
      assert.ok(
        await eventually(() => sleeping().length === 0),
        "the agents killed their children",
      );
    });

    await t.step(
      "streamed output is whole and in order; unacknowledged, it stops at the window",
      async () => {
        const r = await bus(b.url, ["-y", "--", "@web2", "sh: seq 1 400000"]);
        assert.equal(r.code, EXIT_CODES.ok, r.stderr);
        const [rec] = ndjson(r.stdout);
        const expected = Array.from({ length: 400000 }, (_, i) => `${i + 1}\n`).join("");
        assert.equal(rec!.stdout, expected); // 2.7 MB: ten windows, each acknowledged
        // A requester that never acknowledges gets one window and a chunk, no more.
        const exec = { shell: "sh", command: "head -c 4000000 /dev/zero | tr '\\0' y" };
        const { reply, body } = signedRequest(subjects.host("web2"), "exec", exec);
        let chars = 0;
        const sub = nc.subscribe(reply, {
          callback: (_err, msg) => {
            const m = JSON.parse(decoder.decode(msg.data)) as { kind: string; body: string };
            if (m.kind === "out") chars += (JSON.parse(m.body) as { data: string }).data.length;
          },
        });
        await nc.flush();
        nc.publish(subjects.host("web2"), body);
        assert.ok(await eventually(() => chars >= FLOW_WINDOW_CHARS));
        await delay(1_000);
        assert.ok(chars <= FLOW_WINDOW_CHARS + 64 * 1024, `${chars} characters sent`);
        const req = parseRequest(body)!;
        const cancelled = () =>
          (web2.stderr().match(/web2 bus exec: Command cancelled/g) ?? []).length;
        const before = cancelled();
        // A cancel on the host's ctl subject is not one: cancels go on the call's own subject.
        const misplaced = signedRequest(subjects.ctl("web2"), "cancel", { call: req.nonce });
        nc.publish(subjects.ctl("web2"), misplaced.body);
        await nc.flush();
        await delay(300);
        assert.equal(cancelled(), before);
        const cancel = signedRequest(subjects.call(req.nonce), "cancel", { call: req.nonce });
        nc.publish(subjects.call(req.nonce), cancel.body);
        await nc.flush();
        assert.ok(await eventually(() => cancelled() === before + 1));
        sub.unsubscribe();
      },
    );

    await t.step("ping through the bus ends with its exit code", async () => {
      const r = await bus(b.url, ["--", "@db1", "ping 127.0.0.1 1"]);
      assert.equal(r.code, EXIT_CODES.ok, r.stderr);
      const [rec] = ndjson(r.stdout);
      assert.equal(rec!.status, "ok");
      assert.match(String(rec!.stdout), /1 packets transmitted/);
    });

    await t.step(
      "a command too large for its cap is truncated as over a direct connection",
      async () => {
        const r = await bus(b.url, [
          "-y",
          "--",
          "@web1",
          "sh: head -c 3000000 /dev/zero | tr '\\0' x",
        ]);
        const [rec] = ndjson(r.stdout);
        assert.equal(rec!.truncated, true);
        assert.ok(String(rec!.stdout).length < 3_000_000);
      },
    );

    await t.step("a host that is not present is unreachable (exit 3)", async () => {
      const r = await bus(b.url, ["web1", "ghost", "--", "ram"]);
      assert.equal(r.code, EXIT_CODES.unreachable);
      const recs = statuses(r.stdout);
      assert.deepEqual(recs, { web1: "ok", ghost: "unreachable" });
    });

    await t.step(
      "an inventory's [nats] table and hosts: the hosts expected, the bus used",
      async () => {
        const dir = await Deno.makeTempDir();
        const inventory = `${dir}/hosts.toml`;
        await Deno.writeTextFile(
          inventory,
          `[nats]\nservers = ["${b.url}"]\n\n` +
            `[[host]]\nname = "web1"\ngroups = ["web"]\n\n[[host]]\nname = "gone1"\ngroups = ["web"]\n`,
        );
        const r = await runClient(["-i", inventory, "--json", "--", "@group:web", "uptime"], {
          env: { RMON_TOKEN: TEST_TOKEN },
        });
        assert.equal(r.code, EXIT_CODES.unreachable, r.stderr);
        assert.deepEqual(statuses(r.stdout), { web1: "ok", gone1: "unreachable" });
        // The console over the same inventory: the absent host is named once, as for direct links.
        const console = await runClient(["-i", inventory], {
          env: { RMON_TOKEN: TEST_TOKEN },
          stdin: "uptime\n",
        });
        assert.equal(console.code, EXIT_CODES.ok, console.stderr);
        assert.match(console.stderr, /Cannot connect to gone1: not present on the bus/);
        assert.match(console.stdout, /Connected to 1 of 2 hosts/);
        assert.match(console.stdout, /^web1 /m);
        await Deno.remove(dir, { recursive: true });
      },
    );

    await t.step(
      "an agent that answers the presence query 300 ms after the rest is heard",
      async () => {
        const late = presenceOnly(nc, key, "late1", 300);
        await nc.flush();
        const r = await runClient(["--nats", b.url, "--list-hosts"], {
          env: { RMON_TOKEN: TEST_TOKEN },
        });
        late.unsubscribe();
        assert.equal(r.code, EXIT_CODES.ok, r.stderr);
        assert.deepEqual(r.stdout.trim().split("\n").sort(), ["db1", "late1", "web1", "web2"]);
        assert.doesNotMatch(r.stderr, /presence query/); // all had answered: nothing to say
      },
    );

    await t.step(
      "a presence query that runs out of time with agents still answering says so",
      async () => {
        // 80 agents answering one every 50 ms: still coming when the 2 s the query waits are up.
        const stream = presenceOnly(nc, key, Array.from({ length: 80 }, (_, i) => `s${i}`), 50);
        await nc.flush();
        const r = await runClient(["--nats", b.url, "--list-hosts"], {
          env: { RMON_TOKEN: TEST_TOKEN },
        });
        stream.unsubscribe();
        assert.equal(r.code, EXIT_CODES.ok, r.stderr);
        const heard =
          /the presence query ended after 2 s with agents still answering \((\d+) heard\)/
            .exec(r.stderr);
        assert.ok(heard, r.stderr);
        const listed = r.stdout.trim().split("\n");
        assert.equal(Number(heard[1]), listed.length);
        assert.ok(listed.length < 84, `all ${listed.length} heard: the query was not cut`);
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      },
    );

    await t.step("a present host that does not answer is timeout (exit 4)", async () => {
      // A hung agent: it answers the presence query (with the right key), then nothing.
      const hung = presenceOnly(nc, key, "hung1");
      const r = await runClient(["--nats", b.url, "--json", "--wait", "1", "--", "uptime"], {
        env: { RMON_TOKEN: TEST_TOKEN },
      });
      hung.unsubscribe();
      assert.equal(r.code, EXIT_CODES.timeout, r.stderr);
      assert.deepEqual(statuses(r.stdout), { web1: "ok", web2: "ok", db1: "ok", hung1: "timeout" });
    });

    await t.step("push, pull and --stdin over the bus: one usage line, nothing run", async () => {
      for (
        const args of [
          ["--", "push", "/etc/hostname", "/tmp/x"],
          ["--", "pull", "/etc/hostname", "/tmp"],
          ["--stdin", "-y", "--", "sh: cat"],
        ]
      ) {
        const r = await bus(b.url, args);
        assert.equal(r.code, EXIT_CODES.usage, r.stdout + r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /needs direct connections; the bus \(--nats\) does not carry it/);
      }
    });

    await t.step("a replayed request is refused and its command not run again", async () => {
      const file = await Deno.makeTempFile();
      const seen = capture(nc, subjects.host("db1"));
      await nc.flush();
      const r = await bus(b.url, ["-y", "--", "@db1,web1", `sh: echo ran >> ${file}`]);
      assert.equal(r.code, EXIT_CODES.ok, r.stderr);
      const captured = await seen;
      const req = parseRequest(captured.data)!;
      const refusal = capture(nc, req.reply);
      await nc.flush();
      nc.publish(captured.subject, captured.data);
      const answer = key.openReply(req.nonce, req.reply, (await refusal).data);
      assert.ok(answer, "the refusal is MACed");
      assert.match(answer!.body, /Request refused: replayed/);
      assert.equal(await Deno.readTextFile(file), "ran\n".repeat(2));
      assert.ok(await eventually(() => /refused a request .*: replayed/.test(db1.stderr())));
      await Deno.remove(file);
    });

    await t.step("a stale request is refused, even with a good MAC", async () => {
      const file = await Deno.makeTempFile();
      const exec = { shell: "sh", command: `echo ran >> ${file}` };
      for (const skew of [-60_000, 60_000]) {
        const { reply, body } = signedRequest(subjects.host("web2"), "exec", exec, {
          ts: Date.now() + skew,
        });
        const refusal = capture(nc, reply);
        await nc.flush();
        nc.publish(subjects.host("web2"), body);
        const m = JSON.parse(decoder.decode((await refusal).data)) as { body: string };
        assert.match(m.body, /Request refused: stale/);
      }
      assert.equal(await Deno.readTextFile(file), "");
      assert.match(web2.stderr(), /refused a request .*: stale/);
      await Deno.remove(file);
    });

    await t.step("a request under another token is refused and never answered", async () => {
      const file = await Deno.makeTempFile();
      const wrong = new BusKey("another-token-0123456789abcdef");
      const exec = { shell: "sh", command: `echo ran >> ${file}` };
      const { reply, body } = signedRequest(subjects.all, "exec", exec, { key: wrong });
      let answers = 0;
      const sub = nc.subscribe(reply, {
        callback: () => {
          answers++;
        },
      });
      await nc.flush();
      nc.publish(subjects.all, body);
      assert.ok(
        await eventually(() => [web1, web2, db1].every((x) => /: bad-mac/.test(x.stderr()))),
      );
      await nc.flush();
      sub.unsubscribe();
      assert.equal(answers, 0);
      assert.equal(await Deno.readTextFile(file), "");
      await Deno.remove(file);
    });

    await t.step("a forged reply is refused by the client: the real answer wins", async () => {
      // A rogue subscriber on web1's subject answers first, with a MAC under another key.
      const rogueKey = new BusKey("rogue-token-0123456789abcdef");
      const rogue = nc.subscribe(subjects.host("web1"), {
        callback: (_err, msg) => {
          const req = parseRequest(msg.data);
          if (!req) return;
          const send = (seq: number, kind: "out" | "end", body: unknown) =>
            nc.publish(
              req.reply,
              rogueKey.signReply(req.nonce, req.reply, {
                host: "web1",
                seq,
                kind,
                body: JSON.stringify(body),
              }),
            );
          send(0, "out", { stream: "stdout", data: "forged\n" });
          send(1, "end", {
            result: { exitCode: 0, signal: null, durationMs: 1, truncated: false, droppedBytes: 0 },
          });
          // And one with no MAC at all.
          nc.publish(
            req.reply,
            encoder.encode(JSON.stringify({ host: "web1", seq: 0, kind: "end", body: "{}" })),
          );
        },
      });
      await nc.flush();
      const r = await bus(b.url, ["-y", "--", "@web1,db1", "sh: sleep 0.3; echo real"]);
      rogue.unsubscribe();
      assert.equal(r.code, EXIT_CODES.ok, r.stderr);
      const [rec] = ndjson(r.stdout).filter((x) => x.host === "web1");
      assert.equal(rec!.stdout, "real\n");
    });

    await t.step("an agent stopped by SIGTERM mid-command kills it and exits cleanly", async () => {
      const agent = await startAgent(a.url, "doomed");
      await using _agent = agent;
      const client = await spawnClient(
        ["--nats", b.url, "--json", "--wait", "10", "-y", "--", "@doomed", "sh: echo go; sleep 30"],
        { env: { RMON_TOKEN: TEST_TOKEN } },
      );
      await using _client = client;
      const children = () => descendants(agent.pid).filter((pid) => isAlive(pid));
      assert.ok(await eventually(() => children().length > 0, 10_000));
      const orphans = children();
      agent.kill("SIGTERM");
      assert.equal((await agent.status).code, 0);
      assert.ok(orphans.every((pid) => !isAlive(pid)), "no child outlives the agent");
      const [rec] = ndjson((await client.done).stdout);
      assert.equal(rec!.status, "unreachable");
      assert.equal(rec!.error, "the agent stopped during the command");
    });

    await t.step("NATS restarted under the agents: they reconnect and answer again", async () => {
      await using solo = await startNats();
      const port = solo.port;
      const agent = await startAgent(solo.url, "phoenix");
      await using _agent = agent;
      await solo.kill();
      assert.ok(
        await eventually(() => /lost NATS server/.test(agent.stderr()), 10_000),
        agent.stderr(),
      );
      // NATS down: each named host still gets its record, as a dead direct host does.
      const down = await bus(solo.url, [
        "--wait",
        "2",
        "phoenix",
        "other",
        "--",
        "@phoenix uptime",
      ]);
      assert.equal(down.code, EXIT_CODES.unreachable, down.stderr);
      assert.deepEqual(statuses(down.stdout), { phoenix: "unreachable" });
      assert.equal(down.stderr.trim().split("\n").length, 1, down.stderr);
      await using again = await startNats({ port });
      assert.ok(
        await eventually(() => /reconnected to NATS server/.test(agent.stderr()), 20_000),
        agent.stderr(),
      );
      const r = await bus(again.url, ["--", "ram"]);
      assert.equal(r.code, EXIT_CODES.ok, r.stderr);
      assert.deepEqual(statuses(r.stdout), { phoenix: "ok" });
    });

    await t.step("TLS to NATS verified against --nats-ca; a wrong CA is one line", async () => {
      // The certificate names 127.0.0.1 only (an IP address SAN), as the URL does.
      const pki = await makeCaSignedServer();
      const other = await makeCaSignedServer();
      const dir = await Deno.makeTempDir();
      await Deno.writeTextFile(`${dir}/cert.pem`, pki.certPem);
      await Deno.writeTextFile(`${dir}/key.pem`, pki.keyPem, { mode: 0o600 });
      await Deno.writeTextFile(`${dir}/ca.pem`, pki.caPem);
      await Deno.writeTextFile(`${dir}/other.pem`, other.caPem);
      await using secure = await startNats({
        args: ["--tls", "--tlscert", `${dir}/cert.pem`, "--tlskey", `${dir}/key.pem`],
      });
      const url = `tls://127.0.0.1:${secure.port}`;
      const agent = await startAgent(url, "sealed", { args: ["--nats-ca", `${dir}/ca.pem`] });
      await using _agent = agent;
      const r = await bus(url, ["--nats-ca", `${dir}/ca.pem`, "--", "ram"]);
      assert.equal(r.code, EXIT_CODES.ok, r.stderr);
      assert.deepEqual(statuses(r.stdout), { sealed: "ok" });
      const wrong = await bus(url, ["--nats-ca", `${dir}/other.pem`, "--", "ram"]);
      assert.equal(wrong.code, EXIT_CODES.unreachable);
      assert.equal(wrong.stderr.trim().split("\n").length, 1, wrong.stderr);
      assert.match(wrong.stderr, /Cannot connect to NATS at tls:/);
      // The right CA, but reached by a name the certificate does not carry: refused too.
      const byName = await bus(`tls://localhost:${secure.port}`, [
        "--nats-ca",
        `${dir}/ca.pem`,
        "--",
        "ram",
      ]);
      assert.equal(byName.code, EXIT_CODES.unreachable, byName.stderr);
      assert.equal(byName.stderr.trim().split("\n").length, 1, byName.stderr);
      assert.match(
        byName.stderr,
        /Cannot connect to NATS at tls:\/\/localhost:.*not valid for name/i,
      );
      await Deno.remove(dir, { recursive: true });
    });

    await t.step("NATS refusing the credentials is one line, for client and agent", async () => {
      await using guarded = await startNats({ args: ["--auth", "nats-secret-0123456789"] });
      const dir = await Deno.makeTempDir();
      const wrong = `${dir}/nats_token`;
      await Deno.writeTextFile(wrong, "not-the-secret-0123456789\n", { mode: 0o600 });
      const r = await bus(guarded.url, ["--nats-token-file", wrong, "--", "ram"]);
      assert.equal(r.code, EXIT_CODES.unreachable);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /Cannot connect to NATS at .*: credentials refused/);
      const agent = await startAgent(guarded.url, "locked", {
        args: ["--nats-token-file", wrong],
        wait: false,
      });
      await using _locked = agent;
      assert.ok(
        await eventually(
          () =>
            /locked: cannot reach NATS at .*: credentials refused; retrying in/.test(
              agent.stderr(),
            ),
          15_000,
        ),
        agent.stderr(),
      );
      assert.doesNotMatch(agent.stderr(), /\n\s+at /); // no stack trace
      const good = `${dir}/good`;
      await Deno.writeTextFile(good, "nats-secret-0123456789\n", { mode: 0o600 });
      const ok = await startAgent(guarded.url, "unlocked", { args: ["--nats-token-file", good] });
      await using _ok = ok;
      const r2 = await bus(guarded.url, ["--nats-token-file", good, "--", "ram"]);
      assert.deepEqual(statuses(r2.stdout), { unlocked: "ok" });
      await Deno.remove(dir, { recursive: true });
    });
  },
});

Deno.test({
  name:
    "bus mode: the NATS permissions of docs/scale.md let operators request and agents only answer",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const conf = `${dir}/nats.conf`;
    const p = "rmon.v1.default";
    // nkey users, each with its seed in a private file for --nats-creds.
    const user = async (name: string) => {
      const kp = nkeys.createUser();
      const file = `${dir}/${name}.nk`;
      await Deno.writeTextFile(file, decoder.decode(kp.getSeed()) + "\n", { mode: 0o600 });
      return { nkey: kp.getPublicKey(), file, seed: kp.getSeed() };
    };
    const ops = await user("ops");
    const web1 = await user("web1");
    await Deno.writeTextFile(
      conf,
      `authorization {
  users = [
    { nkey: ${ops.nkey}, permissions: {
        publish: ["${p}.host.>", "${p}.group.>", "${p}.all", "${p}.ctl.>", "${p}.call.>"]
        subscribe: ["${p}.reply.>", "${p}.presence.*"] } }
    { nkey: ${web1.nkey}, permissions: {
        publish: ["${p}.reply.>", "${p}.presence.web1"]
        subscribe: ["${p}.host.web1", "${p}.ctl.web1", "${p}.group.web", "${p}.all",
                    "${p}.call.*"] } }
  ]
}
`,
    );
    await using nats = await startNats({ args: ["-c", conf] });
    await using agent = await startAgent(nats.url, "web1", {
      args: ["--groups", "web", "--nats-creds", web1.file, "--nats-heartbeat", "1"],
    });
    // The operator's requests go through, and the agent's answers come back.
    const file = `${dir}/ran`;
    const ok = await bus(nats.url, [
      "--nats-creds",
      ops.file,
      "-y",
      "--",
      `sh: echo ran >> ${file}`,
    ]);
    assert.equal(ok.code, EXIT_CODES.ok, ok.stderr);
    assert.deepEqual(statuses(ok.stdout), { web1: "ok" });
    // The console hears the agent's heartbeats (it stays up over several), and Ctrl-C's cancel
    // on the call's subject reaches it: every subject the two need is allowed.
    const console = await spawnClient(["--nats", nats.url, "--nats-creds", ops.file, "--yes"], {
      env: { RMON_TOKEN: TEST_TOKEN },
      stdin: "sh: echo go; sleep 30\n",
    });
    await using _console = console;
    assert.ok(await eventually(() => /web1 \| go/.test(console.stdout()), 10_000));
    await delay(3_000); // three heartbeats
    console.kill("SIGINT");
    const out = await console.done;
    assert.match(out.stdout, /1 host: 0 ok, 1 cancelled/);
    assert.doesNotMatch(out.stderr, /lost/);
    assert.ok(await eventually(() => /web1 bus exec: Command cancelled/.test(agent.stderr())));
    assert.doesNotMatch(nats.log(), /Permissions Violation/);
    // The client with an agent's credentials: NATS refuses its subjects, and it says so.
    const denied = await bus(nats.url, ["--nats-creds", web1.file, "web1", "--", "ram"]);
    assert.equal(denied.code, EXIT_CODES.unreachable, denied.stderr);
    assert.deepEqual(statuses(denied.stdout), { web1: "unreachable" });
    assert.match(
      denied.stderr,
      /^rmon: NATS refused: Permissions Violation for (Publish|Subscription) to "?rmon\.v1\./m,
    );
    assert.doesNotMatch(denied.stderr, /\n\s+at /); // no stack trace
    // An agent's credentials cannot publish a request, not even one with the right token.
    const nc = await connect({
      servers: nats.url,
      authenticator: nkeyAuthenticator(web1.seed),
    });
    const { body } = signedRequest(subjects.host("web1"), "exec", {
      shell: "sh",
      command: `echo forged >> ${file}`,
    });
    nc.publish(subjects.host("web1"), body);
    assert.ok(await eventually(() => /Publish Violation/.test(nats.log())), nats.log());
    await nc.close();
    await delay(300);
    assert.equal(await Deno.readTextFile(file), "ran\n");
    await agent[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "bus mode: the console over the bus, with presence, lifecycle and cancel",
  ignore,
  async fn(t) {
    await using a = await startNats({ cluster: true });
    await using b = await startNats({ routes: [a.routeUrl!] });
    assert.ok(await eventually(() => /Route connection created/.test(a.log() + b.log()), 10_000));
    // Heartbeats every second: a silent agent is lost after about four.
    const beat = ["--nats-heartbeat", "1"];
    const agents: AgentProcess[] = await Promise.all([
      startAgent(a.url, "web1", { args: ["--groups", "web", ...beat] }),
      startAgent(a.url, "web2", { args: ["--groups", "web", ...beat] }),
      startAgent(a.url, "db1", { args: ["--groups", "db", ...beat] }),
    ]);
    const [web1, web2, db1] = agents as [AgentProcess, AgentProcess, AgentProcess];
    const late: AgentProcess[] = [];
    await using _agents = {
      async [Symbol.asyncDispose]() {
        await Promise.all([...agents, ...late].map((x) => x[Symbol.asyncDispose]()));
      },
    };

    await t.step("piped: the same commands, targets and confirmations as direct", async () => {
      const r = await runClient(["--nats", b.url], {
        env: { RMON_TOKEN: TEST_TOKEN },
        stdin: [
          "hosts",
          "@group:web sh: echo hi", // two hosts, nobody to confirm: refused, as direct
          "@web1 sh: echo one",
          "@db1 disconnect",
          "uptime",
          "watch 1 cpu,uptime", // piped: one table; the bus asks info and shows its vitals
          "connect db1",
          "connect 10.0.0.1:7000",
          "forget db1",
          "@web1 pull /etc/hostname /tmp",
          "hosts",
          "",
        ].join("\n"),
      });
      assert.equal(r.code, EXIT_CODES.ok, r.stderr);
      assert.match(r.stdout, /Connected to 3 of 3 hosts/);
      const [first, rest] = r.stdout.split(/Selected: all connected: \S+ \(3\)/);
      assert.ok(rest !== undefined, r.stdout);
      assert.match(first!, /db1 +nats:\S+ +up .* db\n/);
      assert.match(first!, /web1 +nats:\S+ +up .* web\n/);
      assert.match(
        r.stderr,
        /line 2: Cannot run "sh: echo hi" on 2 hosts without confirmation: stdin is not a terminal/,
      );
      assert.match(rest!, /web1 \| one\n/);
      // Disconnected on the console's side only: uptime goes to the two others.
      assert.match(rest!, /2 hosts: 2 ok/);
      assert.match(rest!, /Every 1 s · [23] hosts, 2 up/);
      assert.match(rest!, /^web1 +\d+\.\d% +\d/m);
      assert.match(rest!, /^web2 +\d+\.\d% +\d/m);
      assert.match(rest!, /Connected to db1 \(nats:\S+\): rmon-server /);
      assert.match(
        r.stderr,
        /line 8: Cannot connect to "10\.0\.0\.1:7000" over the bus: no agent of that name is present/,
      );
      assert.match(rest!, /Removed db1 from the fleet/);
      assert.match(
        r.stderr,
        /line 10: Cannot pull over the bus \(--nats\): it needs direct connections/,
      );
      assert.match(rest!, /Selected: all connected: \S+ \(2\)\n$/);
      assert.ok(isAlive(db1.pid), "disconnect and forget leave the agent alone");
    });

    await t.step("rmon web over the bus: every agent's row, with numbers", async () => {
      await using web = await startWeb([], ["--nats", b.url, "--refresh", "0.5"]);
      const res = await fetch(web.url, { redirect: "manual" });
      await res.body?.cancel();
      const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
      let rows: { host: string; state: string; cpu: number | null }[] = [];
      const ready = () =>
        rows.length === 3 && rows.every((x) => x.state === "up" && typeof x.cpu === "number");
      for (let i = 0; i < 80 && !ready(); i++) {
        if (i > 0) await delay(250);
        const r = await fetch(`${web.origin}/api/rows`, { headers: { cookie } });
        rows = (await r.json()).rows;
      }
      assert.ok(ready(), JSON.stringify(rows));
      assert.deepEqual(rows.map((x) => x.host).sort(), ["db1", "web1", "web2"]);
      assert.match(web.client.stdout(), /rmon web: 3 hosts at /);
    });

    const home = await Deno.makeTempDir({ prefix: "rmon-test-pty-" });
    const pty = new PtyConsole(["--nats", b.url, "--yes"], home);
    await using _pty = pty;

    await t.step("in a terminal: the prompt counts the hosts present", async () => {
      await pty.waitFor("rmon [3/3]> ");
    });

    await t.step("an agent that stops beating is lost, and back when it beats again", async () => {
      const from = pty.mark();
      db1.kill("SIGSTOP");
      await pty.waitFor(/db1 lost: no heartbeat for \d+ s/, from, 15_000);
      const lost = pty.mark();
      await pty.type("@db1 uptime\r");
      await pty.waitFor(/1 host: 0 ok, 1 unreachable/, lost);
      db1.kill("SIGCONT");
      await pty.waitFor(/db1 is back after \d/, lost, 15_000);
    });

    await t.step("an agent that joins the bus joins the console", async () => {
      const from = pty.mark();
      late.push(await startAgent(a.url, "late1", { args: beat }));
      await pty.waitFor(/Connected to late1 \(nats:\S+\)/, from, 10_000);
      await pty.waitFor("rmon [4/4]> ", from);
    });

    await t.step(
      "Ctrl-C cancels on the call's subject; the agents kill their children",
      async () => {
        const from = pty.mark();
        await pty.type("@group:web sh: echo started; sleep 30\r");
        await pty.waitFor(
          /web1 \| started[\s\S]*web2 \| started|web2 \| started[\s\S]*web1 \| started/,
          from,
        );
        const sleeping = () =>
          [web1, web2].flatMap((x) => descendants(x.pid)).filter((pid) => isAlive(pid));
        assert.ok(sleeping().length >= 2);
        await pty.type("\x03");
        await pty.waitFor(/2 hosts: 0 ok, 2 cancelled/, from);
        assert.ok(await eventually(() => sleeping().length === 0), "children killed");
        assert.match(web1.stderr(), /web1 bus exec: Command cancelled/);
      },
    );

    await t.step("reset: the agent reconnects to the bus, and is back", async () => {
      const from = pty.mark();
      await pty.type("@web1 reset\r");
      await pty.waitFor(/web1 lost: the agent is reconnecting to NATS \(rmon reset\)/, from);
      await pty.waitFor(/web1 is back after/, from);
      const after = pty.mark();
      await pty.type("@web1 name\r");
      await pty.waitFor(/1 host: 1 ok/, after);
      assert.ok(isAlive(web1.pid));
    });

    await t.step("kill stops the agent; the host is closed, as a killed direct link", async () => {
      const from = pty.mark();
      await pty.type("@web2 kill\r");
      await pty.waitFor(/1 host: 1 ok/, from);
      assert.equal((await web2.status).code, 0, web2.stderr());
      assert.match(web2.stderr(), /stopping: asked by rmon kill over the bus/);
      await pty.type("hosts web2\r");
      await pty.waitFor(/closed \(stopped by rmon kill\)/, from);
      const after = pty.mark();
      await pty.type("@web2 uptime\r");
      await pty.waitFor(/Skipped web2: disconnected/, after);
    });

    await t.step("a read-only agent refuses kill and reset over the bus", async () => {
      const ro = await startAgent(a.url, "ro1", { args: ["--read-only", ...beat] });
      late.push(ro);
      for (const cmd of ["kill", "reset"]) {
        const r = await bus(b.url, ["-y", "--", "@ro1", cmd]);
        assert.equal(r.code, EXIT_CODES.error, r.stderr);
        const [rec] = ndjson(r.stdout);
        assert.equal(rec!.status, "error");
        assert.match(String(rec!.error), /read-only/);
      }
      await delay(300);
      assert.ok(isAlive(ro.pid));
      assert.doesNotMatch(ro.stderr(), /stopping|reconnecting to NATS/);
    });

    await t.step("an agent stopped by a signal is lost at once, saying so", async () => {
      const from = pty.mark();
      late[0]!.kill("SIGTERM");
      await pty.waitFor(/late1 lost: the agent stopped/, from, 5_000);
    });

    await t.step(
      "the console's NATS node stops: it says so, moves to the other, goes on",
      async () => {
        const from = pty.mark();
        await b.kill();
        await pty.waitFor(/Lost the connection to NATS \(\S+\); reconnecting/, from);
        await pty.waitFor(/Reconnected to NATS \(\S+\)/, from, 20_000);
        const after = pty.mark();
        await pty.type("@web1 name\r");
        await pty.waitFor(/1 host: 1 ok/, after);
      },
    );

    await t.step("exit leaves with 0", async () => {
      await pty.type("exit\r");
      assert.equal(await pty.exitCode(), 0);
    });
    await Deno.remove(home, { recursive: true });
  },
});

/**
 * A fake agent on `nc`: it answers the presence query as `name` (MACed with
 * `key`), after `delayMs`, and then nothing. Given several names, it answers
 * as each in turn, `delayMs` apart (agents still answering). Unsubscribe it
 * when done.
 */
function presenceOnly(
  nc: NatsConnection,
  key: BusKey,
  name: string | string[],
  delayMs = 0,
): Subscription {
  const names = typeof name === "string" ? [name] : name;
  return nc.subscribe(subjects.all, {
    callback: (_err, msg) => {
      const req = parseRequest(msg.data);
      if (req?.method !== PRESENCE_METHOD) return;
      names.forEach((name, i) => {
        const presence = { name, groups: [], version: RMON_VERSION, address: "x", readOnly: false };
        const body = JSON.stringify({ result: presence });
        const answer = key.signReply(req.nonce, req.reply, {
          host: name,
          seq: 0,
          kind: "end",
          body,
        });
        setTimeout(() => nc.publish(req.reply, answer), delayMs * (i + 1));
      });
    },
  });
}
