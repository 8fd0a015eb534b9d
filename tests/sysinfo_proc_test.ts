/**
 * The /proc collectors behind `net` and `top`: their parsers on captured
 * text, the rates and CPU shares they compute, the `unavailable` answer off
 * Linux, and both commands end to end through a real server.
 * @module
 */

import assert from "node:assert/strict";
import { RemoteError } from "../lib/protocol/errors.ts";
import { ERROR_CODES } from "../lib/protocol/constants.ts";
import { netRates, parseNetDev } from "../lib/sysinfo/net_traffic.ts";
import { commandLine, parsePasswd, parseStat, parseStatus } from "../lib/sysinfo/top.ts";
import { requireLinux } from "../lib/sysinfo/_proc.ts";
import { renderMetricTable } from "../lib/client/views/metrics.ts";
import { runClient, startServer, TEST_TOKEN } from "./helpers.ts";

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000 10    0    0    0     0          0         0 1000 10    0    0    0     0       0          0
  eth0: 5000000 4000    3    1    0     0          0         7 2000000 1500    0    2    0     0       0          0
`;

Deno.test("parseNetDev() reads each interface's counters", () => {
  const counters = parseNetDev(NET_DEV);
  assert.deepEqual([...counters.keys()], ["lo", "eth0"]);
  assert.deepEqual(counters.get("eth0"), {
    rxBytes: 5_000_000,
    rxPackets: 4000,
    rxErrors: 3,
    rxDrops: 1,
    txBytes: 2_000_000,
    txPackets: 1500,
    txErrors: 0,
    txDrops: 2,
  });
  assert.equal(parseNetDev("junk\nmore junk\nbad: 1 2 3\n").size, 0, "short lines are skipped");
});

Deno.test("netRates() turns two readings into per-second rates, by name", () => {
  const before = parseNetDev(NET_DEV);
  const after = parseNetDev(NET_DEV.replace("5000000 4000", "5100000 4100"));
  const info = netRates(before, after, 500);
  assert.equal(info.sampleMs, 500);
  const eth0 = info.interfaces.find((i) => i.name === "eth0")!;
  assert.equal(eth0.rxBytesPerSec, 200_000);
  assert.equal(eth0.rxPacketsPerSec, 200);
  assert.equal(eth0.txBytesPerSec, 0);
  assert.equal(eth0.rxErrors, 3);
  assert.deepEqual(info.interfaces.map((i) => i.name), ["eth0", "lo"], "sorted by name");
  // A counter that went backwards (interface reset) is no negative rate.
  assert.equal(netRates(after, before, 500).interfaces[0]!.rxBytesPerSec, 0);
});

Deno.test("parseStat() and friends read /proc/PID files, odd names included", () => {
  const stat = "1234 (my (odd) prog) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 " +
    "100 12345 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  assert.deepEqual(parseStat(stat), { pid: 1234, comm: "my (odd) prog", ticks: 300 });
  assert.equal(parseStat("garbage"), null);
  assert.deepEqual(parseStatus("Name:\tx\nUid:\t1000\t1000\t1000\t1000\nVmRSS:\t    2168 kB\n"), {
    uid: 1000,
    rssBytes: 2168 * 1024,
  });
  assert.equal(parseStatus("Uid:\t0\t0\t0\t0\n").rssBytes, 0, "kernel threads have no VmRSS");
  assert.deepEqual(
    parsePasswd("root:x:0:0:root:/root:/bin/bash\n#comment\nalice:x:1000:1000::/home/a:/bin/sh\n"),
    new Map([[0, "root"], [1000, "alice"]]),
  );
  assert.equal(
    commandLine("/usr/bin/python3\0-m\0http.server\0", "python3"),
    "/usr/bin/python3 -m http.server",
  );
  assert.equal(commandLine("", "kworker/0:1"), "[kworker/0:1]");
});

Deno.test("requireLinux() answers unavailable elsewhere, naming the OS", () => {
  requireLinux("x", "linux");
  assert.throws(() => requireLinux("network traffic", "darwin"), (err) => {
    assert.ok(err instanceof RemoteError);
    assert.equal(err.code, ERROR_CODES.unavailable);
    assert.match(err.message, /this server runs darwin/);
    return true;
  });
});

Deno.test("net and top views tabulate per host", () => {
  const table = renderMetricTable("top", [{
    host: "web1",
    result: {
      sampleMs: 200,
      processes: [{ pid: 42, user: "alice", cpuPercent: 99.5, rssBytes: 1 << 20, command: "burn" }],
    },
  }], false);
  assert.match(table, /HOST\s+PID\s+USER\s+CPU%\s+RSS\s+COMMAND/);
  assert.match(table, /web1\s+42\s+alice\s+99\.5\s+1\.0 MiB\s+burn/);
  const net = renderMetricTable("net", [{
    host: "web1",
    result: netRates(parseNetDev(NET_DEV), parseNetDev(NET_DEV), 100),
  }], false);
  assert.match(net, /web1\s+eth0\s+0 B\s+0 B\s+0\s+0\s+3\s+3/);
  assert.doesNotMatch(net, /\blo\b/, "loopback only when alone");
});

Deno.test("net and top through a real server", async () => {
  await using server = await startServer();
  const query = async (command: string) => {
    const run = await runClient(
      ["--json", "--hosts", `127.0.0.1:${server.port}`, "--", command],
      { env: { RMON_TOKEN: TEST_TOKEN } },
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    return JSON.parse(run.stdout).data;
  };
  const net = await query("net");
  assert.ok(net.interfaces.some((i: { name: string }) => i.name === "lo"), JSON.stringify(net));
  assert.ok(net.sampleMs >= 90);
  const top = await query("top 3");
  assert.equal(top.processes.length, 3);
  for (const p of top.processes) {
    assert.ok(Number.isInteger(p.pid) && p.pid > 0);
    assert.equal(typeof p.command, "string");
    assert.ok(p.cpuPercent >= 0);
  }
  const busiest = top.processes.map((p: { cpuPercent: number }) => p.cpuPercent);
  assert.deepEqual(busiest, [...busiest].sort((a, b) => b - a), "busiest first");
  const info = await query("info");
  assert.ok(Array.isArray(info.net.interfaces), "info carries net on Linux");
});
