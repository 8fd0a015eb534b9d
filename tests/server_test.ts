/**
 * Integration tests of `rmon-server`: real server processes started with the
 * build's permission flags, on loopback with free ports, driven over real
 * sockets exactly as the client drives them.
 * @module
 */

import assert from "node:assert/strict";
import { AuthError, ConnectionClosedError, RemoteError } from "../lib/protocol/errors.ts";
import { ERROR_CODES, LIMITS, NOTIFICATIONS } from "../lib/protocol/constants.ts";
import type { CallEnd, Notification, OutputParams } from "../lib/protocol/messages.ts";
import {
  connect,
  descendants,
  eventually,
  isAlive,
  outputStalls,
  rawAuthenticated,
  rawConnect,
  readAll,
  rssBytes,
  startServer,
  TEST_TOKEN,
} from "./helpers.ts";

const encoder = new TextEncoder();

/** Attach a handler at once, so a call that fails later is never an unhandled rejection. */
function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then((v) => v, (e) => e);
}

async function remoteError(p: Promise<unknown>): Promise<RemoteError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RemoteError) return err;
    throw err;
  }
  throw new Error("Expected the call to fail with a RemoteError");
}

Deno.test("rmon-server answers every metric command with the documented shape", async (t) => {
  await using server = await startServer();
  await using s = await connect(server);
  assert.equal(s.auth.readOnly, false);
  await t.step("ram", async () => {
    const r = await s.peer.call("ram") as Record<string, number>;
    for (
      const k of ["usedPercent", "totalBytes", "availableBytes", "swapTotalBytes", "swapFreeBytes"]
    ) {
      assert.equal(typeof r[k], "number", k);
    }
    assert.ok(r.totalBytes! > r.availableBytes!);
    assert.ok(r.usedPercent! >= 0 && r.usedPercent! <= 100);
  });
  await t.step("cpu", async () => {
    const r = await s.peer.call("cpu") as {
      usagePercent: number;
      cores: number;
      model: string;
      loadAvg: number[];
    };
    assert.ok(r.cores >= 1);
    assert.ok(r.usagePercent >= 0 && r.usagePercent <= 100);
    assert.equal(r.loadAvg.length, 3);
    assert.equal(typeof r.model, "string");
  });
  await t.step("os, name, uptime", async () => {
    const os = await s.peer.call("os") as Record<string, string>;
    assert.equal(os.platform, "linux");
    assert.ok(os.release!.length > 0);
    const name = await s.peer.call("name") as { hostname: string };
    assert.equal(name.hostname, Deno.hostname());
    const up = await s.peer.call("uptime") as { uptimeSeconds: number; bootTime: number };
    assert.ok(up.uptimeSeconds > 0);
    assert.ok(up.bootTime < Date.now());
  });
  await t.step("ip and disk", async () => {
    const ip = await s.peer.call("ip") as { addresses: { address: string; family: string }[] };
    assert.ok(ip.addresses.some((a) => a.address === "127.0.0.1"));
    const disk = await s.peer.call("disk") as { mounts: { mount: string; sizeBytes: number }[] };
    const root = disk.mounts.find((m) => m.mount === "/");
    assert.ok(root && root.sizeBytes > 0);
  });
  await t.step("info bundles them all", async () => {
    const info = await s.peer.call("info") as Record<string, unknown>;
    assert.deepEqual(Object.keys(info).sort(), [
      "cpu",
      "disk",
      "ip",
      "name",
      "net",
      "os",
      "ram",
      "uptime",
    ]);
  });
  await t.step("heartbeat", async () => {
    const hb = await s.peer.call("heartbeat") as { time: number };
    assert.ok(Math.abs(hb.time - Date.now()) < 60_000);
  });
});

Deno.test("rmon-server rejects unknown methods and bad params with standard codes", async (t) => {
  await using server = await startServer();
  await using s = await connect(server);
  for (const method of ["rma", "__proto__", "constructor", "toString", "hasOwnProperty"]) {
    await t.step(`method ${method}`, async () => {
      const err = await remoteError(s.peer.call(method));
      assert.equal(err.code, ERROR_CODES.methodNotFound);
    });
  }
  await t.step("ping with an option as host", async () => {
    const err = await remoteError(s.peer.call("ping", { host: "-f" }));
    assert.equal(err.code, ERROR_CODES.invalidParams);
  });
  await t.step("exec with an unknown shell", async () => {
    const err = await remoteError(s.peer.call("exec", { shell: "bash", command: "true" }));
    assert.equal(err.code, ERROR_CODES.invalidParams);
  });
  await t.step("the connection survives all of it", async () => {
    assert.ok((await s.peer.call("name") as { hostname: string }).hostname.length > 0);
  });
});

Deno.test("rmon-server streams exec output before the command ends", async () => {
  await using server = await startServer();
  await using s = await connect(server);
  const seen: { at: number; out: OutputParams }[] = [];
  const started = performance.now();
  const end = await s.peer.call("exec", {
    shell: "sh",
    command: "echo first; sleep 1.5; echo second; echo oops >&2",
  }, {
    onOutput: (out) => seen.push({ at: performance.now() - started, out }),
  }) as unknown as CallEnd;
  const total = performance.now() - started;
  assert.equal(end.exitCode, 0);
  assert.equal(end.truncated, false);
  const stdout = seen.filter((s) => s.out.stream === "stdout").map((s) => s.out.data).join("");
  const stderr = seen.filter((s) => s.out.stream === "stderr").map((s) => s.out.data).join("");
  assert.equal(stdout, "first\nsecond\n");
  assert.equal(stderr, "oops\n");
  // "first" arrived well before the call ended: it was streamed, not buffered.
  assert.ok(seen[0]!.out.data.startsWith("first"));
  assert.ok(total - seen[0]!.at > 1000, `first output at ${seen[0]!.at} ms, end at ${total} ms`);
});

Deno.test("rmon-server streams ping output line by line (loopback only)", async () => {
  await using server = await startServer();
  await using s = await connect(server);
  const chunks: { at: number; data: string }[] = [];
  const started = performance.now();
  const end = await s.peer.call("ping", { host: "127.0.0.1", count: 2 }, {
    onOutput: (o) => chunks.push({ at: performance.now() - started, data: o.data }),
  }) as unknown as CallEnd;
  const total = performance.now() - started;
  assert.equal(end.exitCode, 0);
  const text = chunks.map((c) => c.data).join("");
  assert.match(text, /127\.0\.0\.1/);
  assert.match(text, /2 packets transmitted/);
  assert.ok(total - chunks[0]!.at > 500, "the first line came before the ping ended");
});

Deno.test("rmon-server kills the whole process tree on timeout", async () => {
  await using server = await startServer();
  await using s = await connect(server);
  const call = s.peer.call("exec", {
    shell: "sh",
    command: "sleep 30 & sleep 30 & wait",
    timeoutMs: 1500,
  });
  call.catch(() => {/* awaited below; this keeps an early assertion failure readable */});
  assert.ok(await eventually(() => descendants(server.pid).length >= 3), "the children started");
  const err = await remoteError(call);
  assert.equal(err.code, ERROR_CODES.timeout);
  const end = err.data as unknown as CallEnd;
  assert.equal(end.signal, "SIGTERM");
  assert.ok(await eventually(() => descendants(server.pid).length === 0), "no child survives");
});

Deno.test("rmon-server cancel stops one call and kills its children", async () => {
  await using server = await startServer();
  await using s = await connect(server);
  const ac = new AbortController();
  const call = s.peer.call("exec", { shell: "sh", command: "sleep 30 & sleep 31; wait" }, {
    signal: ac.signal,
  });
  const other = s.peer.call("exec", { shell: "sh", command: "sleep 0.5; echo done" });
  assert.ok(await eventually(() => descendants(server.pid).length >= 3));
  ac.abort();
  const err = await remoteError(call);
  assert.equal(err.code, ERROR_CODES.cancelled);
  const end = await other as unknown as CallEnd;
  assert.equal(end.exitCode, 0, "the other call on the same connection was not touched");
  assert.ok(await eventually(() => descendants(server.pid).length === 0));
});

Deno.test("rmon-server kills a connection's children when it closes", async () => {
  await using server = await startServer();
  const s = await connect(server);
  const call = outcome(s.peer.call("exec", { shell: "sh", command: "sleep 30" }));
  assert.ok(await eventually(() => descendants(server.pid).length >= 1));
  await s[Symbol.asyncDispose]();
  assert.ok(await call instanceof ConnectionClosedError);
  assert.ok(await eventually(() => descendants(server.pid).length === 0));
});

Deno.test("rmon-server caps exec output and reports the dropped bytes", async () => {
  await using server = await startServer({ args: ["--max-output", "1000"] });
  await using s = await connect(server);
  let received = 0;
  const end = await s.peer.call("exec", {
    shell: "sh",
    command: "head -c 100000 /dev/zero | tr '\\0' a",
  }, {
    onOutput: (o) => received += o.data.length,
  }) as unknown as CallEnd;
  assert.equal(received, 1000);
  assert.equal(end.truncated, true);
  assert.ok(end.droppedBytes > 0 && end.droppedBytes <= 99_000, `${end.droppedBytes}`);
});

Deno.test("rmon-server stops a command whose output passes the cap", async () => {
  await using server = await startServer({ args: ["--max-output", "1000"] });
  await using s = await connect(server);
  let received = 0;
  // Without the stop, yes runs until its 60 s timeout and the call ends with a timeout error.
  const end = await s.peer.call("exec", { shell: "sh", command: "yes", timeoutMs: 60_000 }, {
    onOutput: (o) => received += o.data.length,
  }) as unknown as CallEnd;
  assert.equal(received, 1000);
  assert.equal(end.truncated, true);
  assert.equal(end.exitCode, null);
  assert.equal(end.signal, "SIGTERM");
  assert.ok(await eventually(() => descendants(server.pid).length === 0));
});

Deno.test("rmon-server authentication", async (t) => {
  // Each step fails a handshake from 127.0.0.1 on purpose: no penalties here
  // (hostile_test.ts covers them).
  await using server = await startServer({ args: ["--auth-timeout", "800ms", "--penalty", "0"] });
  await t.step("a wrong token is refused", async () => {
    await assert.rejects(connect(server, "wrong-token-0123456789"), AuthError);
  });
  await t.step(
    "requests before auth get the same answer whether the method exists or not",
    async () => {
      const answers: string[] = [];
      for (const method of ["ram", "no-such-method"]) {
        await using raw = await rawConnect(server);
        await raw.write(encoder.encode(JSON.stringify({ jsonrpc: "2.0", id: 7, method }) + "\n"));
        const text = await readAll(raw);
        const lines = text.trim().split("\n");
        assert.equal(lines.length, 2, "hello, then one error, then the connection closes");
        assert.equal(JSON.parse(lines[0]!).method, NOTIFICATIONS.hello);
        answers.push(lines[1]!);
      }
      assert.equal(answers[0], answers[1]);
      assert.equal(JSON.parse(answers[0]!).error.code, ERROR_CODES.unauthorized);
    },
  );
  await t.step("an auth with a bad MAC closes the connection", async () => {
    await using raw = await rawConnect(server);
    const auth = {
      jsonrpc: "2.0",
      id: 1,
      method: "auth",
      params: { nonce: "A".repeat(43), mac: "B".repeat(43) },
    };
    await raw.write(encoder.encode(JSON.stringify(auth) + "\n"));
    const lines = (await readAll(raw)).trim().split("\n");
    assert.equal(JSON.parse(lines.at(-1)!).error.code, ERROR_CODES.unauthorized);
  });
  await t.step(
    "no auth within the absolute deadline closes the connection, despite traffic",
    async () => {
      await using raw = await rawConnect(server);
      const started = performance.now();
      const trickle = setInterval(() => raw.write(encoder.encode(" ")).catch(() => {}), 100);
      const text = await readAll(raw, 5_000);
      clearInterval(trickle);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 3_000, `closed after ${elapsed} ms`);
      assert.match(text, /"hello"/);
    },
  );
  await t.step("a first frame over 4 KiB closes the connection", async () => {
    await using raw = await rawConnect(server);
    await raw.write(encoder.encode("x".repeat(10_000))).catch(() => 0);
    const text = await readAll(raw, 3_000);
    assert.equal(text.trim().split("\n").length, 1, "only the hello was sent");
  });
  await t.step("the right token still works after all that", async () => {
    await using s = await connect(server, TEST_TOKEN);
    assert.ok(await s.peer.call("uptime"));
  });
});

Deno.test("rmon-server keeps serving one client while another misbehaves", async () => {
  await using server = await startServer({ args: ["--max-frame", "4096"] });
  await using good = await connect(server);
  await using bad = await connect(server);
  const errors: string[] = [];
  bad.peer.handlers.onNotification = (n: Notification) => errors.push(n.method);
  const slow = good.peer.call("exec", { shell: "sh", command: "sleep 0.3; echo ok" });
  await assert.rejects(
    bad.peer.call("exec", { shell: "sh", command: "x".repeat(10_000) }),
    ConnectionClosedError,
  );
  assert.equal(((await slow) as unknown as CallEnd).exitCode, 0);
  assert.ok(await good.peer.call("ram"));
});

Deno.test("rmon-server answers invalid JSON after auth and keeps the connection", async () => {
  await using server = await startServer();
  await using raw = await rawAuthenticated(server);
  await raw.conn.write(encoder.encode("{not json\n"));
  const parseError = await raw.next() as { id: unknown; error: { code: number } };
  assert.equal(parseError.id, null);
  assert.equal(parseError.error.code, ERROR_CODES.parseError);
  await raw.send({ jsonrpc: "2.0", id: 2, method: "ram", params: [] });
  const invalid = await raw.next() as { id: unknown; error: { code: number } };
  assert.equal(invalid.id, 2);
  assert.equal(invalid.error.code, ERROR_CODES.invalidRequest);
  await raw.send({ jsonrpc: "2.0", id: 3, method: "name" });
  const answer = await raw.next() as { id: unknown; result: { hostname: string } };
  assert.equal(answer.id, 3);
  assert.equal(answer.result.hostname, Deno.hostname());
});

Deno.test("rmon-server stays small and serves others while a client floods output and never reads", async () => {
  await using server = await startServer();
  await using flooder = await rawAuthenticated(server);
  // 200 MB of output requested by a client that then stops reading.
  await flooder.send({
    jsonrpc: "2.0",
    id: 1,
    method: "exec",
    params: {
      shell: "sh",
      command: "head -c 200000000 /dev/zero | tr '\\0' a",
      maxOutputBytes: 300_000_000,
    },
  });
  // Measure once the backpressure has reached the command: the server stopped reading its
  // output, so head and tr both stand blocked on full pipes (without it, they would not).
  assert.ok(await outputStalls(server.pid), "the pipeline stalls");
  await using good = await connect(server);
  const answer = await good.peer.call("ram", undefined, { timeoutMs: 5_000 });
  assert.ok(answer, "another client is still answered");
  const rss = rssBytes(server.pid);
  // Without backpressure the server would hold hundreds of MB of queued output by now.
  assert.ok(rss < 150 * 1024 * 1024, `server RSS ${Math.round(rss / 1048576)} MiB`);
});

Deno.test("rmon-server answers ping with a clear error where there is no ping binary", async () => {
  const empty = await Deno.makeTempDir();
  try {
    await using server = await startServer({ env: { PATH: empty } });
    await using s = await connect(server);
    const err = await remoteError(s.peer.call("ping", { host: "127.0.0.1", count: 1 }));
    assert.equal(err.code, ERROR_CODES.unavailable);
    assert.match(err.message, /ping/);
    assert.ok(await s.peer.call("name"), "the server goes on");
  } finally {
    await Deno.remove(empty);
  }
});

Deno.test("rmon-server runs several calls in flight on one connection", async () => {
  await using server = await startServer();
  await using s = await connect(server);
  const slow = s.peer.call("exec", { shell: "sh", command: "sleep 0.5; echo slow" });
  const fast = await Promise.all([s.peer.call("ram"), s.peer.call("name"), s.peer.call("os")]);
  assert.equal(fast.length, 3);
  assert.equal(
    s.peer.pendingCount,
    1,
    "the slow call is still running while the fast ones answered",
  );
  assert.equal(((await slow) as unknown as CallEnd).exitCode, 0);
});

Deno.test("rmon-server disconnect closes only this session", async () => {
  await using server = await startServer();
  await using a = await connect(server);
  await using b = await connect(server);
  const byes: string[] = [];
  a.peer.handlers.onNotification = (n) => byes.push((n.params as { reason: string }).reason);
  assert.deepEqual(await a.peer.call("disconnect"), { ok: true });
  await a.peer.closed;
  assert.deepEqual(byes, ["disconnect"]);
  assert.ok(await b.peer.call("name"));
});

Deno.test("rmon-server reset closes every session and listens again on the same port", async () => {
  await using server = await startServer();
  await using a = await connect(server);
  await using b = await connect(server);
  const running = outcome(b.peer.call("exec", { shell: "sh", command: "sleep 30" }));
  assert.ok(await eventually(() => descendants(server.pid).length >= 1));
  assert.deepEqual(await a.peer.call("reset"), { ok: true });
  await Promise.all([a.peer.closed, b.peer.closed]);
  assert.ok(await running instanceof ConnectionClosedError);
  assert.ok(await eventually(() => descendants(server.pid).length === 0));
  let again = null;
  for (let i = 0; i < 50 && !again; i++) {
    again = await connect(server).catch(() => null);
    if (!again) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(again, "the server accepts connections again");
  assert.ok(await again.peer.call("name"));
  await again[Symbol.asyncDispose]();
  assert.ok(isAlive(server.pid));
});

Deno.test("rmon-server kill stops the server cleanly and kills running children", async () => {
  await using server = await startServer();
  await using a = await connect(server);
  await using b = await connect(server);
  const running = outcome(
    b.peer.call("exec", { shell: "sh", command: "sleep 30 & sleep 30; wait" }),
  );
  assert.ok(await eventually(() => descendants(server.pid).length >= 2));
  const kids = descendants(server.pid);
  assert.deepEqual(await a.peer.call("kill"), { ok: true });
  const status = await server.status;
  assert.equal(status.code, 0);
  assert.ok(await running instanceof Error);
  assert.ok(kids.every((pid) => !isAlive(pid)), "every child was killed");
});

Deno.test("rmon-server on SIGTERM kills running children and exits", async () => {
  await using server = await startServer();
  await using s = await connect(server);
  const running = outcome(
    s.peer.call("exec", { shell: "sh", command: "sleep 30 & sleep 30; wait" }),
  );
  assert.ok(await eventually(() => descendants(server.pid).length >= 2));
  const kids = descendants(server.pid);
  server.kill("SIGTERM");
  assert.equal((await server.status).code, 0);
  assert.ok(await running instanceof Error);
  assert.ok(await eventually(() => kids.every((pid) => !isAlive(pid))));
});

Deno.test("rmon-server --read-only refuses exec, reset and kill", async () => {
  await using server = await startServer({ args: ["--read-only"] });
  await using s = await connect(server);
  assert.equal(s.auth.readOnly, true);
  for (
    const [method, params] of [["exec", { shell: "sh", command: "true" }], ["reset", {}], [
      "kill",
      {},
    ]] as const
  ) {
    const err = await remoteError(s.peer.call(method, params));
    assert.equal(err.code, ERROR_CODES.forbidden, method);
    assert.match(err.message, /read-only/);
  }
  assert.ok(await s.peer.call("ram"));
  assert.ok(isAlive(server.pid));
});

Deno.test("rmon-server generates a token once, saves it 0600 and never prints it again", async () => {
  const home = await Deno.makeTempDir();
  try {
    const env = { HOME: home, XDG_STATE_HOME: `${home}/state` };
    let token = "";
    {
      await using first = await startServer({ token: null, env });
      const banner = first.banner.join("\n");
      const path = `${home}/state/rmon/token`;
      token = (await Deno.readTextFile(path)).trim();
      assert.ok(token.length >= 43);
      assert.ok(banner.includes(token), "the new token is shown once");
      // Run from a checkout, the client is `deno task client --`; a loopback server is
      // reachable from this machine only, so nothing suggests connecting from elsewhere.
      assert.match(
        banner,
        /^Connect from this machine: +deno task client -- --token-file '.*state\/rmon\/token' 127\.0\.0\.1:\d+$/m,
      );
      assert.doesNotMatch(banner, /elsewhere/);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      await using s = await connect({ ...first, token });
      assert.ok(await s.peer.call("name"));
    }
    await using second = await startServer({ token: null, env });
    assert.ok(!second.banner.join("\n").includes(token), "later starts do not print the secret");
    assert.match(second.banner.join("\n"), /Using the token in .*state\/rmon\/token/);
    assert.ok(!second.stderr().includes(token));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("rmon-server refuses a token file that others can read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/token`;
    await Deno.writeTextFile(path, TEST_TOKEN + "\n", { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    await assert.rejects(startServer({ token: null, args: ["--token-file", path] }), /chmod 600/);
    await Deno.chmod(path, 0o600);
    await using server = await startServer({ token: null, args: ["--token-file", path] });
    await using s = await connect({ ...server, token: TEST_TOKEN });
    assert.ok(await s.peer.call("name"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rmon-server: --token-file beats RMON_TOKEN (option > environment > state file)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fileToken = "file-token-0123456789abcdefgh";
    const path = `${dir}/token`;
    await Deno.writeTextFile(path, fileToken + "\n", { mode: 0o600 });
    // RMON_TOKEN is TEST_TOKEN here: set, but the option must win.
    await using server = await startServer({ args: ["--token-file", path] });
    assert.match(
      server.banner.join("\n"),
      /Using the token in .*token \(RMON_TOKEN is set too; --token-file wins\)/,
    );
    await using s = await connect({ ...server, token: fileToken });
    assert.ok(await s.peer.call("name"));
    await assert.rejects(connect({ ...server, token: TEST_TOKEN }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rmon-server logs connections, auth and commands, never secrets or output", async (t) => {
  await t.step("default: the command, not its text or output", async () => {
    await using server = await startServer();
    {
      await using s = await connect(server);
      await s.peer.call("exec", { shell: "sh", command: "echo secret-output-123" });
      await s.peer.call("ram");
    }
    await assert.rejects(connect(server, "wrong-token-0123456789"), AuthError);
    assert.ok(await eventually(() => /auth failed/.test(server.stderr())));
    const log = server.stderr();
    const stamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warn|debug) /;
    for (const line of log.trim().split("\n")) assert.match(line, stamp);
    assert.match(log, /connected/);
    assert.match(log, /authenticated/);
    assert.match(log, /#1 exec: ok/);
    assert.match(log, /#2 ram: ok/);
    assert.match(log, /auth failed: Authentication failed: wrong token/);
    assert.ok(!log.includes("secret-output-123"), "no command output or text in the log");
    assert.ok(!log.includes(TEST_TOKEN), "no token in the log");
  });
  await t.step("--verbose adds the exec text; --quiet drops routine lines", async () => {
    {
      await using verbose = await startServer({ args: ["--verbose"] });
      await using s = await connect(verbose);
      await s.peer.call("exec", { shell: "sh", command: "echo shown-in-verbose" });
      assert.match(verbose.stderr(), /exec sh: echo shown-in-verbose/);
    }
    await using quiet = await startServer({ args: ["--quiet"] });
    await using s = await connect(quiet);
    await s.peer.call("ram");
    assert.equal(quiet.stderr(), "");
  });
});

Deno.test("rmon-server refuses connections beyond --max-connections, then accepts again", async () => {
  await using server = await startServer({ args: ["--max-connections", "2"] });
  await using a = await connect(server);
  const b = await connect(server);
  await assert.rejects(connect(server), ConnectionClosedError, "the third is closed at once");
  assert.ok(await a.peer.call("name"), "the first two are untouched");
  await b[Symbol.asyncDispose]();
  let again = null;
  for (let i = 0; i < 50 && !again; i++) {
    again = await connect(server).catch(() => null);
    if (!again) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(again, "a freed slot is usable");
  await again[Symbol.asyncDispose]();
  assert.match(server.stderr(), /refused: 2 connections already/);
});

Deno.test("rmon-server answers busy past the per-connection call limit", async () => {
  await using server = await startServer();
  const s = await connect(server);
  const running = Array.from(
    { length: LIMITS.callsPerConnection },
    () => outcome(s.peer.call("exec", { shell: "sh", command: "sleep 30" })),
  );
  assert.ok(
    await eventually(() => descendants(server.pid).length >= LIMITS.callsPerConnection, 15_000),
  );
  const err = await remoteError(s.peer.call("exec", { shell: "sh", command: "true" }));
  assert.equal(err.code, ERROR_CODES.busy);
  assert.ok(await s.peer.call("heartbeat"), "cancel and heartbeat stay exempt");
  await s[Symbol.asyncDispose]();
  assert.ok((await Promise.all(running)).every((r) => r instanceof ConnectionClosedError));
  assert.ok(await eventually(() => descendants(server.pid).length === 0, 10_000));
});
