/**
 * Fleets of thousands: host ranges and host files, the open-files budget
 * (with a real low `ulimit -n`), the one-shot pipeline (open connections
 * bounded by the fan-out), the connect deadline that tells a slow host from an
 * overloaded client, and the fleet's one heartbeat timer.
 * @module
 */

import assert from "node:assert/strict";
import {
  expandHostItem,
  expandHostList,
  MAX_HOSTS,
  parseHostFile,
} from "../lib/grammar/host_range.ts";
import { parseClientArgs } from "../lib/client/options.ts";
import { checkLinkBudget, planFanout, RESERVE } from "../lib/client/fd_limit.ts";
import {
  ClientOverloadedError,
  LoopMonitor,
  serviceDeadline,
  type StallClock,
} from "../lib/client/loop_lag.ts";
import { TimeoutError } from "../lib/protocol/errors.ts";
import {
  type Beating,
  BEATS_PER_SECOND,
  Heartbeats,
  IDLE_SHARE,
  MAX_INTERVAL_MS,
  MAX_PROBE_MS,
  PROBES_PER_SECOND,
  SLOTS,
  VISITS,
} from "../lib/client/heartbeats.ts";
import { HostLink } from "../lib/client/host_link.ts";
import { Fleet } from "../lib/client/fleet.ts";
import { dialTcp } from "../lib/protocol/tcp_transport.ts";
import { exitCodeFor, failureText } from "../lib/client/views/summary.ts";
import { EXIT_CODES, UsageError } from "../lib/usage.ts";
import { delay } from "../lib/async.ts";
import { collectAll } from "../lib/sysinfo/all.ts";
import { Gate } from "../lib/client/dial_gate.ts";
import {
  addr,
  beatRecordingServer,
  countingRelays,
  eventually,
  mutedServer,
  ndjson,
  runClient,
  startInProcessServer,
  startServer,
  TEST_TOKEN,
} from "./helpers.ts";

const env = { RMON_TOKEN: TEST_TOKEN };

Deno.test("expandHostList() expands ranges as rmon folds them", async (t) => {
  const cases: [string, string[]][] = [
    ["web1", ["web1"]],
    ["web[1-3]", ["web1", "web2", "web3"]],
    ["web[01-03].lan,db[1,3]", ["web01.lan", "web02.lan", "web03.lan", "db1", "db3"]],
    ["n[08-10]", ["n08", "n09", "n10"]],
    ["r[1-2]n[1-2]", ["r1n1", "r1n2", "r2n1", "r2n2"]],
    ["127.0.0.1:[5051-5052]", ["127.0.0.1:5051", "127.0.0.1:5052"]],
    ["[::1]:5050", ["[::1]:5050"]],
    ["[::1]:[5051-5052]", ["[::1]:5051", "[::1]:5052"]],
    [" a , b ,", ["a", "b"]],
  ];
  for (const [text, want] of cases) {
    await t.step(text, () => assert.deepEqual(expandHostList(text), want));
  }
  await t.step("refuses globs, bad and backwards brackets, and huge ranges", () => {
    assert.throws(() => expandHostItem("web*[1-2]"), /do not list hosts/);
    assert.throws(() => expandHostItem("web[3-1]"), /backwards/);
    assert.throws(() => expandHostItem("n[1-2]x["), /never closed/);
    assert.throws(() => expandHostItem(`n[1-${MAX_HOSTS + 1}]`), RangeError);
    assert.throws(() => expandHostList(`a[1-60000],b[1-60000]`), /more than/);
  });
});

Deno.test("parseHostFile() reads one list a line, with comments and blank lines", () => {
  const text = "# the web tier\nweb[1-2]  # two\n\n  db1,db2\r\n#db3\n";
  assert.deepEqual(parseHostFile(text), ["web1", "web2", "db1", "db2"]);
  assert.throws(() => parseHostFile("a\nweb[2-1]\n"), /^SyntaxError: line 2: /);
});

Deno.test("parseClientArgs() takes --hosts ranges and @FILE", () => {
  const o = parseClientArgs(["--hosts", "web[1-2]:6000,@hosts.txt", "-H", "db[1,3]", "x[1-2]"]);
  assert.deepEqual(o.addresses, ["web1:6000", "web2:6000", "db1", "db3", "x1", "x2"]);
  assert.deepEqual(o.hostFiles, ["hosts.txt"]);
  assert.throws(() => parseClientArgs(["--hosts", "web[9-1]"]), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.match(err.message, /^Invalid --hosts: .*backwards/);
    return true;
  });
  assert.throws(() => parseClientArgs(["--hosts", "@"]), /@ needs a file name/);
});

Deno.test("rmon --hosts @FILE reads the file (rmon --list-hosts connects to nothing)", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-hostfile-" });
  try {
    const file = `${dir}/hosts`;
    await Deno.writeTextFile(file, "# lab\n127.0.0.1:[7001-7003]\n\n127.0.0.2:7001 # spare\n");
    await t.step("the hosts, in order, ranges expanded", async () => {
      const run = await runClient(["--hosts", `@${file}`, "--list-hosts"], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.stdout.trim().split("\n"), [
        "127.0.0.1:7001",
        "127.0.0.1:7002",
        "127.0.0.1:7003",
        "127.0.0.2:7001",
      ]);
    });
    await t.step("a missing file or a bad line is one clear line, exit 2", async () => {
      const missing = await runClient(["--hosts", `@${dir}/nope`, "--list-hosts"], { env });
      assert.equal(missing.code, EXIT_CODES.usage);
      assert.match(missing.stderr, /Cannot read host file ".*nope"/);
      assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
      await Deno.writeTextFile(file, "ok1\nweb[5-1]\n");
      const bad = await runClient(["--hosts", `@${file}`, "--list-hosts"], { env });
      assert.equal(bad.code, EXIT_CODES.usage);
      assert.match(bad.stderr, /Invalid host file ".*": line 2: .*backwards/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planFanout() and checkLinkBudget() say what the open-files limit allows", () => {
  const free = (n: number) => (need: number) => Math.min(need, n);
  assert.deepEqual(planFanout(64, 1000, free(10_000)), { fanout: 64, note: null });
  // Only min(fanout, hosts) connections are ever open in the pipeline.
  assert.deepEqual(planFanout(1024, 10, free(10 + RESERVE)), { fanout: 1024, note: null });
  const lowered = planFanout(1024, 5000, free(200));
  assert.equal(lowered.fanout, 200 - RESERVE);
  assert.match(lowered.note!, /allows 168 connections at once; --fanout lowered from 1024 to 168/);
  assert.throws(() => planFanout(64, 100, free(RESERVE)), /leaves no descriptor free/);
  checkLinkBudget(100, free(1000));
  assert.throws(
    () => checkLinkBudget(5000, free(4000)),
    /Cannot hold 5000 connections.*room for 3968/,
  );
});

Deno.test("rmon under a low ulimit -n lowers the fan-out up front instead of blaming hosts", async () => {
  await using server = await startServer();
  // Closed ports: refused at once, so many hosts cost nothing but descriptors. An address no
  // other test listens on (they use 127.0.0.1, 127.0.0.2 and .3): a port another test happens to
  // be given must not answer one of these.
  const dead = Array.from({ length: 150 }, (_, i) => `127.0.0.211:${40_000 + i}`);
  const hosts = [addr(server), ...dead].join(",");
  const run = await runClient(["--hosts", hosts, "--fanout", "200", "--json", "--", "ram"], {
    env,
    openFiles: 96,
  });
  assert.match(
    run.stderr,
    /open-files limit \(ulimit -n\) allows \d+ connections at once; --fanout lowered from 200 to \d+/,
  );
  const records = ndjson(run.stdout);
  assert.equal(records.length, 151, run.stderr);
  assert.equal(records.find((r) => r.host === addr(server))?.status, "ok");
  const blamed = records.filter((r) => /Too many open files/.test(String(r.error)));
  assert.deepEqual(blamed, [], "no host is blamed for the client's limit");
  const otherwise = records.filter((r) => r.status === "unreachable" && r.error !== "refused");
  assert.deepEqual(otherwise, [], "every closed port is refused, and nothing else goes wrong");
});

Deno.test("rmon's console refuses more hosts than its open-files limit can hold, in one line", async () => {
  const hosts = Array.from({ length: 150 }, (_, i) => `127.0.0.1:${40_000 + i}`).join(",");
  const run = await runClient(["--hosts", hosts], { env, openFiles: 96 });
  assert.equal(run.code, EXIT_CODES.usage, run.stderr);
  assert.match(run.stderr, /Cannot hold 150 connections: the open-files limit \(ulimit -n\)/);
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
});

Deno.test("one-shot is a pipeline: open connections are bounded by the fan-out, not the hosts", async () => {
  await using server = await startInProcessServer();
  await using relays = countingRelays(12, server.port);
  const hosts = relays.ports.map((p) => `127.0.0.1:${p}`).join(",");
  const run = await runClient(["--hosts", hosts, "--fanout", "2", "--json", "--", "ram"], { env });
  assert.equal(run.code, 0, run.stderr);
  const records = ndjson(run.stdout);
  assert.equal(records.length, 12);
  assert.ok(records.every((r) => r.status === "ok"), run.stdout);
  assert.equal(relays.total(), 12, "one connection per host");
  // A client's close reaches the relays' event loop after its next connect at times, so the
  // count may lag by a connection per slot; connecting everything first held all 12.
  assert.ok(relays.mostAtOnce() <= 4, `at most 2 (+2) at once, saw ${relays.mostAtOnce()}`);
});

/** A stall meter whose readings the test sets. */
function fakeClock(): StallClock & { stalled: number } {
  return {
    stalled: 0,
    start() {},
    stop() {},
    stalledMs() {
      return this.stalled;
    },
  };
}

Deno.test("serviceDeadline() blames a slow host, credits the client's stalls, and names an overload", async (t) => {
  await t.step("no stall: a plain timeout", async () => {
    let expired = false;
    const never = new Promise<never>(() => {});
    await assert.rejects(
      serviceDeadline(never, 30, "Cannot connect to h", () => expired = true, fakeClock()),
      (err: unknown) => err instanceof TimeoutError && !(err instanceof ClientOverloadedError),
    );
    assert.ok(expired, "onExpire closed the attempt");
  });
  await t.step("stalled: the stall is credited, and the host answers in time", async () => {
    const clock = fakeClock();
    clock.stalled = 1_000; // reading at start
    const work = delay(120).then(() => "up");
    // By the first expiry (60 ms) the client had been stalled 100 ms: 100 ms more for the host.
    setTimeout(() => clock.stalled = 1_100, 10);
    assert.equal(await serviceDeadline(work, 60, "h", () => {}, clock), "up");
  });
  await t.step("stalled past the stretch: client overloaded, not a timeout", async () => {
    const clock = fakeClock();
    const timer = setInterval(() => clock.stalled += 20, 10); // stalled twice as long as it ran
    try {
      await assert.rejects(
        serviceDeadline(new Promise<never>(() => {}), 30, "h", () => {}, clock),
        (err: unknown) =>
          err instanceof ClientOverloadedError && /lower --fanout/.test(err.message),
      );
    } finally {
      clearInterval(timer);
    }
  });
  await t.step("LoopMonitor sees a busy event loop", () => {
    const monitor = new LoopMonitor();
    monitor.start();
    try {
      const before = monitor.stalledMs();
      const end = performance.now() + 300;
      while (performance.now() < end) { /* the client busy with other hosts */ }
      assert.ok(monitor.stalledMs() - before >= 200, `stalled ${monitor.stalledMs() - before}`);
    } finally {
      monitor.stop();
    }
  });
});

Deno.test("the overloaded status reads as the client's fault and exits 3", () => {
  const text = failureText({
    status: "overloaded",
    error: new ClientOverloadedError(900, 1000).message,
  });
  assert.match(
    text,
    /^Client overloaded: its event loop was stalled 900 ms of 1000 ms; lower --fanout$/,
  );
  assert.equal(exitCodeFor(["ok", "overloaded"]), EXIT_CODES.unreachable);
});

Deno.test("Heartbeats visits every link VISITS times per interval with one timer", async () => {
  const visits = new Map<string, number>();
  const link = (name: string): Beating => ({
    beat: () => visits.set(name, (visits.get(name) ?? 0) + 1),
  });
  const a = link("a");
  const b = link("b");
  const beats = new Heartbeats(SLOTS * VISITS * 10); // a tick every 10 ms
  beats.add(a);
  beats.add(b);
  beats.add(a); // idempotent
  assert.equal(beats.size, 2);
  await delay(SLOTS * VISITS * 10 * 3 + 5);
  beats.delete(a);
  beats.delete(b); // the last one stops the timer (the test's sanitizer checks)
  for (const name of ["a", "b"]) {
    const n = visits.get(name) ?? 0;
    assert.ok(
      n >= 3 * VISITS - 3 && n <= 3 * VISITS + 1,
      `${name} visited ${n} times in 3 intervals`,
    );
  }
});

Deno.test("Heartbeats: the interval keeps the beat rate as the fleet grows, under every idle timeout", () => {
  const links = (n: number): Beating[] => Array.from({ length: n }, () => ({ beat() {} }));
  const beats = new Heartbeats(15_000);
  const many = links(10_000);
  try {
    // A few links: the base interval.
    for (const l of many.slice(0, 100)) beats.add(l, 60_000);
    assert.equal(beats.targetMs, 15_000);
    // 5,000 links: 20 s keeps BEATS_PER_SECOND.
    for (const l of many.slice(100, 5_000)) beats.add(l, 60_000);
    assert.equal(beats.targetMs, (5_000 / BEATS_PER_SECOND) * 1000);
    assert.equal(5_000 / (beats.targetMs / 1000), BEATS_PER_SECOND);
    // 10,000 links would want 40 s: capped at IDLE_SHARE of the servers' 60 s.
    for (const l of many.slice(5_000)) beats.add(l, 60_000);
    assert.equal(beats.targetMs, 60_000 * IDLE_SHARE);
    // The timer runs no slower than the cap allows.
    assert.ok(beats.intervalMs <= 60_000 * IDLE_SHARE, `${beats.intervalMs}`);
    // One server with a 20 s idle timeout caps the whole fleet under it.
    const short = links(1)[0]!;
    beats.add(short, 20_000);
    assert.equal(beats.targetMs, 20_000 * IDLE_SHARE);
    assert.ok(beats.intervalMs <= 20_000 * IDLE_SHARE, `${beats.intervalMs}`);
    beats.delete(short);
    // A server that does not state its idle timeout keeps the base interval.
    const older = links(1)[0]!;
    beats.add(older, null);
    assert.equal(beats.targetMs, 15_000);
    beats.delete(older);
    // Servers that never close idle connections: only the rate, up to the maximum.
    for (const l of many) beats.delete(l);
    for (const l of many) beats.add(l, 0);
    assert.equal(beats.targetMs, 40_000);
  } finally {
    for (const l of many) beats.delete(l); // the last one stops the timer
  }
  assert.equal(beats.size, 0);
});

Deno.test("a link's heartbeat keeps a live server and drops a silent one", async () => {
  await using live = await startInProcessServer();
  await using muted = mutedServer(TEST_TOKEN);
  const fleet = new Fleet({ heartbeatMs: 160, reconnect: false, connectTimeoutMs: 2_000 });
  for (const [name, port] of [["live", live.port], ["muted", muted.port]] as const) {
    fleet.add({
      name,
      endpoint: { hostname: "127.0.0.1", port },
      groups: [],
      token: TEST_TOKEN,
      dial: dialTcp,
    });
  }
  try {
    await fleet.connect();
    assert.equal(fleet.get("live")!.state, "up");
    assert.equal(fleet.get("muted")!.state, "up");
    // Two intervals without an answer to its heartbeat: the muted server is dropped.
    await delay(700);
    assert.equal(fleet.get("live")!.state, "up");
    assert.notEqual(fleet.get("live")!.status().rttMs, null);
    assert.equal(fleet.get("muted")!.state, "lost");
    assert.match(fleet.get("muted")!.status().reason ?? "", /heartbeat/);
  } finally {
    await fleet.close();
  }
});

Deno.test("Heartbeats: most heartbeats of a large fleet are unanswered, within the probe limits", () => {
  const links = (n: number): Beating[] => Array.from({ length: n }, () => ({ beat() {} }));
  const beats = new Heartbeats(15_000);
  const many = links(100_000);
  try {
    for (const l of many.slice(0, 100)) beats.add(l, 60_000);
    assert.equal(beats.probeEvery, 1, "a small fleet: every heartbeat answered");
    for (const l of many.slice(100, 10_000)) beats.add(l, 60_000);
    // 10,000 links at 36 s: one answered in 5 keeps ~56 a second, under PROBES_PER_SECOND.
    assert.equal(beats.probeEvery, 5);
    const probesPerSecond = 10_000 / (beats.probeEvery * beats.intervalMs / 1000);
    assert.ok(probesPerSecond <= PROBES_PER_SECOND, `${probesPerSecond}`);
    // A huge fleet that never idles out: a link is still asked every MAX_PROBE_MS at most.
    for (const l of many) beats.delete(l);
    for (const l of many) beats.add(l, 0);
    assert.equal(beats.targetMs, MAX_INTERVAL_MS);
    assert.equal(beats.probeEvery, 2);
    assert.ok(beats.probeEvery * beats.intervalMs <= MAX_PROBE_MS, `${beats.intervalMs}`);
  } finally {
    for (const l of many) beats.delete(l);
  }
  assert.throws(() => new Heartbeats(1_000, { probesPerSecond: 0 }), RangeError);
});

/** One link to `server` whose heartbeats (every 100 ms) ask for an answer every 5th time. */
function beatingLink(port: number): HostLink {
  const beats = new Heartbeats(100, { probesPerSecond: 2 }); // one link: 500 ms a probe
  return new HostLink(
    "beating",
    { hostname: "127.0.0.1", port },
    [],
    { token: TEST_TOKEN, identity: null },
    dialTcp,
    { heartbeatMs: 100, reconnect: false },
    () => {},
    beats,
  );
}

Deno.test("a link sends heartbeat notifications, asking for an answer only every probeEvery-th", async (t) => {
  await t.step(
    "to a server that states its idle timeout: 4 notifications, then a request",
    async () => {
      await using server = beatRecordingServer(TEST_TOKEN, { idleMs: 60_000 });
      const link = beatingLink(server.port);
      try {
        await link.connect();
        const beats = () => server.frames.filter((f) => f.endsWith(" heartbeat"));
        assert.ok(await eventually(() => beats().length >= 6, 10_000), `${server.frames}`);
        const n = "notification heartbeat";
        const r = "request heartbeat";
        assert.deepEqual(beats().slice(0, 6), [n, n, n, n, r, n]);
      } finally {
        await link.close();
      }
    },
  );
  await t.step("to a server that does not: every heartbeat is a request, as before", async () => {
    await using server = beatRecordingServer(TEST_TOKEN);
    const link = beatingLink(server.port);
    try {
      await link.connect();
      const beats = () => server.frames.filter((f) => f.endsWith(" heartbeat"));
      assert.ok(await eventually(() => beats().length >= 3, 10_000), `${server.frames}`);
      assert.deepEqual(beats().slice(0, 3), Array(3).fill("request heartbeat"));
    } finally {
      await link.close();
    }
  });
  await t.step("a server that stops answering is still found out by the probe", async () => {
    await using server = beatRecordingServer(TEST_TOKEN, { idleMs: 60_000, mute: true });
    const link = beatingLink(server.port);
    try {
      await link.connect();
      assert.ok(await eventually(() => link.state === "lost", 10_000), link.state);
      assert.match(link.status().reason ?? "", /heartbeat/);
      assert.ok(server.frames.includes("notification heartbeat"), `${server.frames}`);
    } finally {
      await link.close();
    }
  });
});

Deno.test("a real server counts heartbeat notifications as traffic: no idle close", async () => {
  await using server = await startInProcessServer({ idleTimeoutMs: 600 });
  // Never asks for an answer in this test's time: only notifications keep the link open.
  const link = new HostLink(
    "kept",
    { hostname: "127.0.0.1", port: server.port },
    [],
    { token: TEST_TOKEN, identity: null },
    dialTcp,
    { heartbeatMs: 150, reconnect: false },
    () => {},
    new Heartbeats(150, { probesPerSecond: 0.01 }),
  );
  try {
    await link.connect();
    await delay(2_500); // four idle timeouts
    assert.equal(link.state, "up", link.status().reason ?? "");
    assert.ok(!server.log.some((l) => /idle for/.test(l)), server.log.join("\n"));
  } finally {
    await link.close();
  }
});

Deno.test("collectAll() gives callers at the same moment one collection", async () => {
  const [a, b] = await Promise.all([collectAll(), collectAll()]);
  assert.equal(a, b, "the same answer object: collected once");
  const ac = new AbortController();
  ac.abort(new Error("gone"));
  await assert.rejects(collectAll(ac.signal), /gone/);
  assert.ok((await collectAll()).ram.totalBytes > 0, "a caller's abort ends only its own wait");
});

Deno.test("Gate admits `size` at once and hands a released place to the longest waiter", async () => {
  const gate = new Gate(2);
  await gate.acquire();
  await gate.acquire();
  const order: number[] = [];
  const third = gate.acquire().then(() => order.push(3));
  const fourth = gate.acquire().then(() => order.push(4));
  await delay(0);
  assert.deepEqual(order, [], "both wait for a place");
  gate.release();
  await third;
  assert.deepEqual(order, [3]);
  gate.release();
  await fourth;
  assert.equal(gate.busy, 2);
  gate.release();
  gate.release();
  assert.equal(gate.busy, 0);
});
