/**
 * Tests of the interactive console: its pure parts (history location and
 * filter, Tab completion, the watch, hosts and diff views) as unit tests, and
 * the real `client.ts` entry against real servers, driven through piped
 * stdin and through a pseudo-terminal (util-linux `script`).
 * @module
 */

import assert from "node:assert/strict";
import { paint } from "../lib/client/views/color.ts";
import { completeLine } from "../lib/client/console_complete.ts";
import { comparedValue, renderCommandDiff, stableProjection } from "../lib/client/console_diff.ts";
import { roundWaitMs, rowsThatFit, screenRows } from "../lib/client/console_watch.ts";
import { INFO } from "../lib/grammar/commands/metrics.ts";
import { vitalsOf } from "../lib/grammar/commands/vitals.ts";
import type { HostResult } from "../lib/client/fleet.ts";
import {
  appendHistory,
  historyLines,
  historyPath,
  loadHistory,
  worthKeeping,
} from "../lib/client/history.ts";
import type { LinkStatus } from "../lib/client/host_link.ts";
import { stripAnsi } from "../lib/client/views/color.ts";
import { canonicalJson } from "../lib/client/views/diff.ts";
import { formatRtt, type HostRow, renderHosts } from "../lib/client/views/hosts.ts";
import { renderWatch, watchColumns, type WatchRow } from "../lib/client/views/watch.ts";
import { runArgs } from "../tools/entry_flags.ts";
import { childEnv } from "../tools/local_server.ts";
import { EXIT_CODES } from "../lib/usage.ts";
import {
  addr,
  descendants,
  eventually,
  mutedServer,
  PtyConsole,
  runClient,
  type ServerProcess,
  spawnClient,
  startServers,
  TEST_TOKEN,
  TmuxTerminal,
} from "./helpers.ts";

const GiB = 1024 ** 3;
const env = (vars: Record<string, string>) => (name: string) => vars[name];

/** Compare with a saved snapshot in tests/testdata/console; UPDATE_SNAPSHOTS=1 rewrites it. */
async function assertSnapshot(name: string, actual: string): Promise<void> {
  const url = new URL(`./testdata/console/${name}`, import.meta.url);
  if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") {
    await Deno.writeTextFile(url, actual + "\n");
    return;
  }
  assert.equal(actual + "\n", await Deno.readTextFile(url), `snapshot ${name} differs`);
}

// ---- history ------------------------------------------------------------------

Deno.test("historyPath() follows each OS's convention", async (t) => {
  await t.step("linux uses XDG_STATE_HOME when absolute", () => {
    assert.equal(
      historyPath(env({ HOME: "/home/a", XDG_STATE_HOME: "/xdg" }), "linux"),
      "/xdg/rmon/history",
    );
  });
  await t.step("linux ignores a relative XDG_STATE_HOME and falls back to HOME", () => {
    assert.equal(
      historyPath(env({ HOME: "/home/a", XDG_STATE_HOME: "rel" }), "linux"),
      "/home/a/.local/state/rmon/history",
    );
  });
  await t.step("macOS uses Application Support", () => {
    assert.equal(
      historyPath(env({ HOME: "/Users/a", XDG_STATE_HOME: "/xdg" }), "darwin"),
      "/Users/a/Library/Application Support/rmon/history",
    );
  });
  await t.step("windows uses APPDATA, else USERPROFILE's roaming folder", () => {
    assert.equal(
      historyPath(env({ APPDATA: "C:\\Users\\a\\AppData\\Roaming" }), "windows"),
      "C:\\Users\\a\\AppData\\Roaming\\rmon\\history",
    );
    assert.equal(
      historyPath(env({ USERPROFILE: "C:\\Users\\b" }), "windows"),
      "C:\\Users\\b\\AppData\\Roaming\\rmon\\history",
    );
  });
  await t.step("throws when the home directory is unknown", () => {
    assert.throws(() => historyPath(env({}), "linux"), /HOME is not set/);
    assert.throws(() => historyPath(env({}), "windows"), /APPDATA is not set/);
  });
});

Deno.test("worthKeeping() skips blanks, repeats and lines starting with a space", () => {
  assert.equal(worthKeeping("ram", undefined), true);
  assert.equal(worthKeeping("ram", "cpu"), true);
  assert.equal(worthKeeping("ram", "ram"), false);
  assert.equal(worthKeeping("   ", undefined), false);
  assert.equal(worthKeeping(" sh: echo secret", undefined), false);
});

Deno.test("loadHistory() and appendHistory() keep a bounded private file", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-test-history-" });
  const path = `${dir}/state/rmon/history`;
  try {
    await t.step("a missing file is an empty history", async () => {
      assert.deepEqual(await loadHistory(path), []);
    });
    await t.step("append creates the directory and an owner-only file", async () => {
      await appendHistory(path, "ram");
      await appendHistory(path, "@web1 cpu");
      assert.deepEqual(await loadHistory(path), ["ram", "@web1 cpu"]);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(`${dir}/state/rmon`)).mode! & 0o777, 0o700);
    });
    await t.step(
      "load returns the newest lines and trims a file grown past twice that",
      async () => {
        const many = Array.from({ length: 25 }, (_, i) => `line ${i}`);
        await Deno.writeTextFile(path, many.join("\n") + "\n");
        assert.deepEqual(await loadHistory(path, 10), many.slice(15));
        assert.deepEqual(historyLines(await Deno.readTextFile(path)), many.slice(15));
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- completion ---------------------------------------------------------------

Deno.test("completeLine() offers what fits where the cursor is", async (t) => {
  const hosts = [
    { name: "web1", groups: ["web"] },
    { name: "web2", groups: ["web"] },
    { name: "db1", groups: ["db"] },
  ];
  const cases: [string, string[]][] = [
    ["ra", ["ram"]],
    ["qu", ["quit"]],
    ["@w", ["@web1", "@web2"]],
    ["@web1,d", ["@web1,db1"]],
    ["@g", ["@group:db", "@group:web"]],
    ["@all,-w", ["@all,-web1", "@all,-web2"]],
    ["@web1 up", ["uptime"]],
    ["use group:w", ["group:web"]],
    ["disconnect W", ["web1", "web2"]],
    ["forget d", ["db1"]],
    ["+d", ["+db1"]],
    ["-web", ["-web1", "-web2"]],
    ["help sh", ["sh:", "shutdown"]],
    ["diff o", ["os"]],
    ["diff k", []],
    ["watch 2 cpu,r", ["cpu,ram"]],
    ["connect w", []],
    ["sh: ls w", []],
  ];
  for (const [line, expected] of cases) {
    await t.step(JSON.stringify(line), () => {
      const [completions, replaced] = completeLine(line, hosts);
      assert.deepEqual(completions, expected);
      assert.equal(replaced, line.slice(line.search(/\S*$/)));
    });
  }
});

// ---- views --------------------------------------------------------------------

/** An `info` answer with the given changes; the rest is a plain Linux host. */
function info(changes: { release?: string; cpu?: number; ram?: number; disk?: number } = {}) {
  return {
    ram: {
      usedPercent: changes.ram ?? 40,
      totalBytes: 16 * GiB,
      availableBytes: 16 * GiB * (1 - (changes.ram ?? 40) / 100),
      swapTotalBytes: 0,
      swapFreeBytes: 0,
    },
    cpu: { usagePercent: changes.cpu ?? 12.5, cores: 8, model: "EPYC", loadAvg: [0.5, 0.4, 0.3] },
    os: { platform: "linux", release: changes.release ?? "6.1.0", arch: "x64", name: "Debian 12" },
    name: { hostname: "h" },
    ip: { addresses: [] },
    disk: {
      mounts: [
        {
          mount: "/",
          device: "/dev/sda1",
          fsType: "ext4",
          sizeBytes: 100 * GiB,
          usedBytes: (changes.disk ?? 50) * GiB,
          freeBytes: 100 * GiB - (changes.disk ?? 50) * GiB,
          usedPercent: changes.disk ?? 50,
        },
      ],
    },
    uptime: { uptimeSeconds: 90_061, bootTime: 1_700_000_000_000 },
  };
}

/** A `net` answer: loopback busy (left out) and eth0 at `rx`/`tx` bytes per second. */
function traffic(rx: number, tx: number) {
  const iface = (name: string, r: number, t: number) => ({
    name,
    rxBytesPerSec: r,
    txBytesPerSec: t,
    rxPacketsPerSec: 0,
    txPacketsPerSec: 0,
    rxErrors: 0,
    txErrors: 0,
    rxDrops: 0,
    txDrops: 0,
  });
  return { sampleMs: 100, interfaces: [iface("lo", 1e9, 1e9), iface("eth0", rx, tx)] };
}

/** The `watch` figures of an `info` answer, as the fleet takes them from an older server. */
function vitals(answer: unknown) {
  return vitalsOf(INFO.result(answer, "info"));
}

Deno.test("renderWatch() draws one frame of the live table", async (t) => {
  const rows: WatchRow[] = [
    {
      host: "web1",
      state: "up",
      reason: null,
      vitals: vitals({ ...info(), net: traffic(2048, 1024) }),
    },
    // web2 sends no `net` (not Linux, or an older server): its NET cell says so with "-".
    {
      host: "web2",
      state: "up",
      reason: null,
      vitals: vitals(info({ cpu: 97, ram: 80, disk: 91 })),
    },
    { host: "db1", state: "lost", reason: "refused" },
    { host: "db2", state: "up", reason: null, error: "timeout: No answer in 2 s" },
  ];
  const frame = {
    intervalSeconds: 2,
    now: Date.UTC(2024, 4, 1, 10, 22, 5),
    color: false,
    hint: "Press any key to stop",
  };
  await t.step("all columns, with down and failed hosts saying why", async () => {
    await assertSnapshot("watch_all.txt", renderWatch(rows, frame));
  });
  await t.step("only the chosen columns, in the order given", () => {
    const text = renderWatch(rows.slice(0, 1), { ...frame, columns: ["ram", "cpu"], hint: "" });
    assert.equal(
      text,
      [
        "Every 2 s · 1 host, 1 up · 10:22:05 UTC",
        "HOST   RAM%   CPU%",
        "web1  40.0%  12.5%",
      ].join("\n"),
    );
  });
  await t.step("with maxRows: the first rows, and the others counted by state", () => {
    const text = renderWatch(rows, { ...frame, columns: ["cpu"], maxRows: 2 });
    assert.equal(
      text,
      [
        "Every 2 s · 4 hosts, 3 up · 10:22:05 UTC",
        "HOST   CPU%",
        "web1  12.5%",
        "web2  97.0%",
        "… 2 more hosts: 1 lost, 1 without an answer",
        "Press any key to stop",
      ].join("\n"),
    );
    assert.equal(renderWatch(rows, { ...frame, maxRows: 4 }), renderWatch(rows, frame));
    assert.equal(rowsThatFit(50), 45);
    assert.equal(rowsThatFit(3), 1, "a tiny terminal still shows one host");
  });
  await t.step("colour marks busy hosts only when asked", () => {
    const colored = renderWatch(rows, { ...frame, color: true });
    assert.notEqual(colored, renderWatch(rows, frame));
    assert.equal(stripAnsi(colored), renderWatch(rows, frame));
  });
});

Deno.test("watchColumns() checks names and defaults to all", () => {
  assert.deepEqual(watchColumns(undefined), [
    "cpu",
    "ram",
    "load",
    "disk",
    "net",
    "uptime",
    "state",
  ]);
  assert.deepEqual(watchColumns(["RAM", "state"]), ["ram", "state"]);
  assert.throws(() => watchColumns(["swap"]), RangeError);
});

Deno.test("screenRows() counts wrapped lines and roundWaitMs() stays within bounds", () => {
  assert.equal(screenRows("abc\ndef", 80), 2);
  assert.equal(screenRows("x".repeat(80), 80), 1);
  assert.equal(screenRows("x".repeat(81) + "\n\ny", 80), 4);
  assert.equal(roundWaitMs(0.5, 70_000), 2_000);
  assert.equal(roundWaitMs(5, 70_000), 5_000);
  assert.equal(roundWaitMs(600, 70_000), 70_000);
});

Deno.test("renderHosts() lists every host with its state and the selection", async () => {
  const now = Date.UTC(2024, 4, 1, 10, 0, 0);
  const base: LinkStatus = {
    name: "web1",
    address: "10.0.0.1:5050",
    state: "up",
    since: now - 185_000,
    rttMs: 0.4,
    serverVersion: "0.1.0",
    os: "Debian GNU/Linux 12",
    readOnly: false,
    role: "admin",
    user: "alice",
    security: "tls",
    fingerprint: null,
    reason: null,
  };
  const rows: HostRow[] = [
    { ...base, groups: ["web", "prod"], selected: true },
    {
      ...base,
      name: "web2",
      address: "10.0.0.2:5050",
      rttMs: 12.3,
      readOnly: true,
      role: "read-only",
      user: "token",
      security: "plaintext",
      groups: ["web"],
      selected: false,
    },
    {
      ...base,
      name: "db1",
      address: "10.0.0.9:5050",
      state: "auth_failed",
      reason: "bad token",
      since: now - 4_000,
      rttMs: null,
      serverVersion: null,
      os: null,
      role: null,
      user: null,
      security: null,
      groups: [],
      selected: true,
    },
  ];
  await assertSnapshot("hosts.txt", renderHosts(rows, now, false));
  assert.ok(
    renderHosts(rows, now, true).includes(paint(true, "red", "PLAINTEXT")),
    "plaintext in red",
  );
  assert.equal(renderHosts([], now, false), "No hosts: add some with connect ADDR");
  assert.equal(formatRtt(0.4), "<1 ms");
  assert.equal(formatRtt(null), "-");
});

Deno.test("stableProjection() keeps what describes the machine, not the moment", async (t) => {
  await t.step("info ignores usage, free space and uptime", () => {
    const busy = stableProjection("info", info({ cpu: 99, ram: 90, disk: 70 }));
    assert.equal(canonicalJson(stableProjection("info", info())), canonicalJson(busy));
  });
  await t.step("info still sees a different kernel", () => {
    const a = canonicalJson(stableProjection("info", info()));
    const b = canonicalJson(stableProjection("info", info({ release: "5.10.0" })));
    assert.notEqual(a, b);
  });
  await t.step("each metric's projection", () => {
    const data = info();
    assert.deepEqual(stableProjection("os", data.os), {
      platform: "linux",
      release: "6.1.0",
      arch: "x64",
      name: "Debian 12",
    });
    assert.deepEqual(stableProjection("ram", data.ram), { total: "16.0 GiB", swapTotal: "0 B" });
    assert.deepEqual(stableProjection("cpu", data.cpu), { cores: 8, model: "EPYC" });
    assert.deepEqual(stableProjection("name", { hostname: "web1" }), { hostname: "web1" });
    assert.deepEqual(stableProjection("disk", data.disk), { "/": "ext4 100 GiB" });
    assert.deepEqual(stableProjection("uptime", data.uptime), { boot: "2023-11-14 22:13 UTC" });
    assert.deepEqual(
      stableProjection("ip", {
        addresses: [
          { name: "eth0", family: "IPv6", address: "fe80::1", cidr: "fe80::1/64" },
          { name: "eth0", family: "IPv4", address: "10.0.0.1", cidr: "10.0.0.1/24" },
          { name: "lo", family: "IPv4", address: "127.0.0.1", cidr: "127.0.0.1/8" },
        ],
      }),
      { eth0: "IPv4/24 IPv6/64", lo: "IPv4/8" },
    );
  });
  await t.step("malformed answers project without throwing", () => {
    assert.deepEqual(stableProjection("disk", "junk"), {});
    assert.deepEqual(stableProjection("ram", null), { total: undefined, swapTotal: undefined });
  });
});

Deno.test("renderCommandDiff() shows only how hosts differ from the majority", async (t) => {
  const ok = (host: string, data: unknown): HostResult => ({
    host,
    status: "ok",
    data: data as HostResult["data"],
    durationMs: 5,
  });
  await t.step("info: the differing field, and the hosts that did not answer", () => {
    const results: HostResult[] = [
      ok("web1", info()),
      ok("web2", info({ cpu: 90 })),
      ok("db1", info({ release: "5.10.0" })),
      { host: "db2", status: "unreachable", error: "refused", durationMs: 0 },
    ];
    assert.equal(
      renderCommandDiff({ kind: "info" }, results, false),
      "os.release: 6.1.0 (web[1-2]) vs 5.10.0 (db1)\ndb2: unreachable: refused",
    );
  });
  await t.step("a metric's fields are named after it", () => {
    const results = [ok("a1", info().os), ok("a2", { ...info().os, arch: "arm64" })];
    assert.equal(
      renderCommandDiff({ kind: "os" }, results, false),
      "os.arch: x64 (a1) vs arm64 (a2)",
    );
  });
  await t.step("exec compares stdout and the exit code", () => {
    const exec = { kind: "exec", shell: "sh", command: "uname -r" } as const;
    const ran = (host: string, stdout: string, exitCode: number): HostResult => ({
      host,
      status: exitCode === 0 ? "ok" : "nonzero",
      exitCode,
      signal: null,
      stdout,
      stderr: "",
      durationMs: 3,
    });
    const results = [ran("web1", "6.1\n", 0), ran("web2", "6.1\n", 0), ran("web3", "", 127)];
    assert.deepEqual(comparedValue(exec, results[0]!), { exitCode: 0, stdout: "6.1" });
    // Output line by line against the most common (tests/diff_view_test.ts has more).
    assert.equal(
      renderCommandDiff(exec, results, false),
      "exit code: 0 (web[1-2]) vs 127 (web3)\n--- web[1-2] (most common)\n+++ web3\n" +
        "@@ -1 +0,0 @@\n-6.1",
    );
    assert.equal(
      renderCommandDiff(exec, results.slice(0, 2), false),
      "All 2 hosts agree: web[1-2]\n6.1",
    );
  });
});

// ---- the real client, piped -----------------------------------------------------

/** Run the console with `stdin` against `servers` (plus `extra` addresses). */
function consoleRun(servers: ServerProcess[], stdin: string, extra: string[] = []) {
  return runClient([...servers.map(addr), ...extra], {
    env: { RMON_TOKEN: TEST_TOKEN },
    stdin,
    timeoutMs: 30_000,
  });
}

/** Lines of `text` that are table rows of `server`. */
function rowsOf(text: string, server: ServerProcess): string[] {
  return text.split("\n").filter((l) => l.startsWith(addr(server) + " "));
}

Deno.test("rmon console runs piped commands one after another", async (t) => {
  const servers = await startServers(3);
  try {
    await t.step("a command without a target goes to every connected host", async () => {
      const run = await consoleRun(servers, "ram\n");
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /Connected to 3 of 3 hosts/);
      assert.match(run.stdout, /^HOST +USE%/m);
      for (const s of servers) assert.equal(rowsOf(run.stdout, s).length, 1, run.stdout);
      assert.match(run.stdout, /3 hosts: 3 ok/);
    });
    await t.step("@host sends it to that host only", async () => {
      const run = await consoleRun(servers, `@${addr(servers[1]!)} cpu\n`);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(rowsOf(run.stdout, servers[0]!).length, 0, run.stdout);
      assert.equal(rowsOf(run.stdout, servers[1]!).length, 1, run.stdout);
      assert.match(run.stdout, /1 host: 1 ok/);
    });
    await t.step("hosts lists each host as up", async () => {
      const run = await consoleRun(servers, "hosts\n");
      assert.equal(run.code, 0, run.stderr);
      for (const s of servers) {
        const [row] = rowsOf(run.stdout.replace(/^\* {2}/gm, ""), s);
        assert.match(row ?? "", / up +\S+ ms /, run.stdout);
      }
      // Within 80 columns: names are addresses, so no ADDRESS; what all share goes below.
      assert.doesNotMatch(run.stdout, /ADDRESS/);
      assert.match(run.stdout, /^All hosts: SECURITY loopback · VERSION 0\.1\.0/m);
      for (const line of run.stdout.split("\n")) assert.ok(line.length <= 80, line);
    });
    await t.step("hosts HOST shows that one host in full", async () => {
      const a = addr(servers[0]!);
      const run = await consoleRun(servers, `hosts ${a}\n`);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^${a}\n {2}ADDRESS +${a}\n {2}STATE +up$`, "m"));
      assert.match(run.stdout, /^ {2}SELECTED +yes$/m);
      assert.doesNotMatch(run.stdout, new RegExp(addr(servers[1]!)));
    });
    await t.step("use, + and - change where later commands go; exit stops reading", async () => {
      const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
      const run = await consoleRun(
        servers,
        `use ${addr(a)}\n+${addr(c)}\n-${addr(a)}\nname\nexit\nram\n`,
      );
      assert.equal(run.code, 0, run.stderr);
      const selected = run.stdout.split("\n").filter((l) => l.startsWith("Selected:"));
      assert.equal(selected.length, 3, run.stdout);
      assert.equal(selected[0], `Selected: ${addr(a)} (1)`);
      assert.match(selected[1]!, /^Selected: 127\.0\.0\.1:.* \(2\)$/);
      assert.equal(selected[2], `Selected: ${addr(c)} (1)`);
      assert.equal(rowsOf(run.stdout, c).length, 1, run.stdout);
      assert.equal(rowsOf(run.stdout, a).length, 0, run.stdout);
      assert.equal(rowsOf(run.stdout, b).length, 0, run.stdout);
      // Nothing after exit ran: one summary line only.
      assert.equal(run.stdout.match(/^1 host: /gm)?.length, 1, run.stdout);
    });
    await t.step("a host that refuses is reported and the others work", async () => {
      const spare = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const dead = `127.0.0.1:${spare.addr.port}`;
      spare.close();
      const run = await consoleRun(servers, `name\n@${dead} name\n`, [dead]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, new RegExp(`Cannot connect to ${dead}: refused`));
      assert.match(run.stdout, /Connected to 3 of 4 hosts/);
      // The selection follows the connected hosts; the dead one answers only when named.
      assert.match(run.stdout, /^3 hosts: 3 ok/m);
      assert.match(run.stdout, /^1 host: 0 ok, 1 unreachable/m);
    });
    await t.step("risky commands are refused without a terminal or --yes", async () => {
      const run = await consoleRun(servers, "sh: echo hi\nkill\n");
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stderr,
        /line 1: Cannot run "sh: echo hi" on 3 hosts without confirmation: stdin is not a terminal/,
      );
      assert.match(run.stderr, /line 2: Cannot run "kill" on 3 hosts without confirmation/);
      assert.doesNotMatch(run.stdout, /\| hi/);
    });
    await t.step("with --yes, exec output is streamed per host, then gathered", async () => {
      const run = await runClient(["--yes", ...servers.map(addr)], {
        env: { RMON_TOKEN: TEST_TOKEN },
        stdin: "sh: echo hi\n",
        timeoutMs: 30_000,
      });
      assert.equal(run.code, 0, run.stderr);
      for (const s of servers) assert.match(run.stdout, new RegExp(`^${addr(s)} \\| hi$`, "m"));
      assert.match(run.stdout, /\(3\) -+\nhi\n/);
      assert.match(run.stdout, /3 hosts: 3 ok/);
    });
    await t.step("syntax errors name the line and column; the script goes on", async () => {
      const run = await consoleRun(servers, "bogus\n@nohost ram\nuptime\n");
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /^line 1: column 1: Unknown command "bogus"/m);
      assert.match(run.stderr, /^line 2: No host matches "nohost"/m);
      assert.match(run.stdout, /3 hosts: 3 ok/);
    });
    await t.step("watch draws one table when more input is waiting", async () => {
      const run = await consoleRun(servers, "watch 1 cpu,state\nexit\n");
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.match(/^Every 1 s · 3 hosts, 3 up/gm)?.length, 1, run.stdout);
      for (const s of servers) assert.match(rowsOf(run.stdout, s)[0] ?? "", /%\s+up$/);
    });
    await t.step("help lists the commands and explains one", async () => {
      const run = await consoleRun(servers, "help\nhelp ping\n");
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^ {2}watch \[SECONDS\] \[COLUMNS\] +Show a live table/m);
      assert.match(run.stdout, /^ping HOST \[COUNT\]\n {2}Ping HOST from each server/m);
    });
    await t.step("disconnect closes a link and connect opens it again", async () => {
      const a = addr(servers[0]!);
      const run = await consoleRun(servers, `disconnect ${a}\nhosts\nconnect ${a}\nhosts\n`);
      assert.equal(run.code, 0, run.stderr);
      const [closed, reopened] = run.stdout.split(`Connected to ${a}: rmon-server 0.1.0\n`);
      assert.ok(reopened !== undefined, run.stdout);
      assert.match(rowsOf(closed!.replace(/^[* ] {2}/gm, ""), servers[0]!)[0] ?? "", / closed /);
      assert.match(rowsOf(reopened.replace(/^[* ] {2}/gm, ""), servers[0]!)[0] ?? "", / up /);
      assert.doesNotMatch(run.stderr, /Cannot connect|lost/);
    });
    await t.step("diff shows that identical hosts agree", async () => {
      const run = await consoleRun(servers, "diff os\n");
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /All 3 hosts agree: 127\.0\.0\.1:\[/);
    });
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  }
});

Deno.test("rmon keeps one entry per server, whatever address names it", async (t) => {
  const [server] = await startServers(1);
  const dir = await Deno.makeTempDir({ prefix: "rmon-test-inv-" });
  const port = server!.port;
  const inventory = `${dir}/hosts.toml`;
  await Deno.writeTextFile(inventory, `[[host]]\nname = "web1"\naddress = "127.0.0.1:${port}"\n`);
  const env = { RMON_TOKEN: TEST_TOKEN };
  try {
    await t.step("connect of a server in the fleet names its entry and adds nothing", async () => {
      const run = await runClient(["--yes", "--inventory", inventory], {
        env,
        stdin: `connect 127.0.0.1:${port}\nconnect localhost:${port}\nsh: echo ran\nhosts\n`,
        timeoutMs: 30_000,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        new RegExp(`^127\\.0\\.0\\.1:${port} is already in the fleet as web1$`, "m"),
      );
      assert.match(
        run.stdout,
        new RegExp(`^localhost:${port} is already in the fleet as web1$`, "m"),
      );
      assert.equal(run.stdout.match(/\| ran$/gm)?.length, 1, run.stdout);
      assert.match(run.stdout, /^1 host: 1 ok/m);
      assert.doesNotMatch(run.stdout, /localhost:\d+ +localhost/, "no second row in hosts");
    });
    await t.step("an address typed for an inventory host is refused with both names", async () => {
      const run = await runClient(["--inventory", inventory, `localhost:${port}`, "--", "ram"], {
        env,
      });
      assert.equal(run.code, EXIT_CODES.usage, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(
          `"localhost:${port}" is the same server as "web1" \\(both are 127\\.0\\.0\\.1:${port}\\)`,
        ),
      );
    });
    await t.step("two inventory entries of one server are refused", async () => {
      await Deno.writeTextFile(
        inventory,
        `[[host]]\nname = "web1"\naddress = "127.0.0.1:${port}"\n` +
          `[[host]]\nname = "web1b"\naddress = "localhost:${port}"\n`,
      );
      const run = await runClient(["--inventory", inventory, "--", "ram"], { env });
      assert.equal(run.code, EXIT_CODES.usage, run.stderr);
      assert.match(run.stderr, /host 2 \("web1b"\): same server as host 1 \("web1"\)/);
    });
  } finally {
    await server![Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rmon console: hosts added by connect follow the inventory's [defaults]", async () => {
  const [a, b] = await startServers(2);
  const dir = await Deno.makeTempDir({ prefix: "rmon-test-inv-" });
  try {
    await Deno.writeTextFile(`${dir}/token`, TEST_TOKEN + "\n", { mode: 0o600 });
    // The token and the port come from [defaults] only; RMON_TOKEN is not set.
    await Deno.writeTextFile(
      `${dir}/hosts.toml`,
      `[defaults]\ntoken_file = "token"\nport = ${b!.port}\n\n` +
        `[[host]]\nname = "web1"\naddress = "127.0.0.1:${a!.port}"\n`,
    );
    const run = await runClient(["--inventory", `${dir}/hosts.toml`], {
      stdin: "connect 127.0.0.1\nname\n",
      timeoutMs: 30_000,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /RMON_TOKEN/);
    assert.match(
      run.stdout,
      new RegExp(
        `^Connected to 127\\.0\\.0\\.1 \\(127\\.0\\.0\\.1:${b!.port}\\): rmon-server`,
        "m",
      ),
    );
    assert.match(run.stdout, /^2 hosts: 2 ok/m);
  } finally {
    await Promise.all([a!, b!].map((s) => s[Symbol.asyncDispose]()));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rmon console forgets hosts: forget, and disconnect of one not connected", async (t) => {
  const servers = await startServers(2);
  const [a, b] = servers as [ServerProcess, ServerProcess];
  const spare = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = `127.0.0.1:${spare.addr.port}`;
  spare.close();
  try {
    await t.step(
      "disconnect of a dead host removes it, and use all no longer selects it",
      async () => {
        const run = await consoleRun([a], `disconnect ${dead}\nhosts\nuse all\nname\n`, [dead]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(
          run.stdout,
          new RegExp(
            `^Removed ${dead} from the fleet: it was not connected: lost \\(refused\\)$`,
            "m",
          ),
        );
        assert.doesNotMatch(run.stdout, new RegExp(`^[* ] +${dead} `, "m"), "not in hosts");
        assert.match(run.stdout, new RegExp(`^Selected: ${addr(a)} \\(1\\)$`, "m"));
        assert.match(run.stdout, /^1 host: 1 ok/m);
      },
    );
    await t.step("forget removes any host, connected or not", async () => {
      const run = await consoleRun(servers, `forget ${dead},${addr(b)}\nname\nhosts\n`, [dead]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Removed 2 hosts \(127\.0\.0\.1:\S+\) from the fleet$/m);
      assert.match(run.stdout, /^1 host: 1 ok/m);
      assert.equal(rowsOf(run.stdout.replace(/^[* ] {2}/gm, ""), b).length, 0, run.stdout);
    });
    await t.step("a host disconnected on purpose is skipped, not unreachable", async () => {
      const run = await consoleRun(servers, `disconnect ${addr(a)}\nuse all\nname\n`);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        new RegExp(`^Skipped ${addr(a)}: disconnected \\(connect it again`, "m"),
      );
      assert.match(run.stdout, /^1 host: 1 ok/m);
      assert.doesNotMatch(run.stdout, /unreachable/);
    });
    await t.step("help explains the prompt", async () => {
      const run = await consoleRun([a], "help\n");
      assert.match(run.stdout, /^ {2}forget TARGET +Remove servers from the fleet/m);
      assert.match(run.stdout, /The prompt rmon \[S\/C\]> counts the servers: S selected/);
    });
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  }
});

Deno.test("rmon console ends quietly with 141 when its stdout is closed", async () => {
  const [server] = await startServers(1);
  try {
    // A closed pipe shows at the next write only: the command keeps writing after the reader went.
    await using client = await spawnClient(["--yes", addr(server!)], {
      env: { RMON_TOKEN: TEST_TOKEN },
      stdin: "sh: seq 1 200000; while :; do sleep 0.2; echo tick; done\nram\n",
    });
    assert.ok(await eventually(() => client.stdout().includes(" | 2\n"), 15_000), client.stdout());
    await client.closeStdout();
    const run = await client.done;
    assert.equal(run.code, EXIT_CODES.brokenPipe, run.stderr);
    assert.doesNotMatch(run.stderr, /Uncaught|BrokenPipe|lost/, run.stderr);
    assert.ok(
      await eventually(() => descendants(server!.pid).length === 0, 10_000),
      "the command was cancelled",
    );
  } finally {
    await server![Symbol.asyncDispose]();
  }
});

// ---- the real client, in a pseudo-terminal ----------------------------------------

Deno.test("rmon console in a terminal: prompt, completion, Ctrl-C, notices, exit", async (t) => {
  const servers = await startServers(2);
  const home = await Deno.makeTempDir({ prefix: "rmon-test-pty-" });
  const pty = new PtyConsole(servers.map(addr), home);
  try {
    await t.step("the prompt shows selected/connected", async () => {
      await pty.waitFor("rmon [2/2]> ");
    });
    await t.step("a command goes to all hosts", async () => {
      const from = pty.mark();
      await pty.type("ram\r");
      await pty.waitFor("2 hosts: 2 ok", from);
      for (const s of servers) assert.equal(rowsOf(pty.screen.slice(from), s).length, 1);
    });
    await t.step("Tab completes a command word", async () => {
      const from = pty.mark();
      // Keys in one write count as a paste, which readline does not complete.
      await pty.type("hos");
      await pty.waitFor("hos", from);
      await pty.type("\t");
      await pty.waitFor("hosts", from);
      await pty.type("\r");
      await pty.waitFor(/Selected: all connected/, from);
    });
    await t.step("Ctrl-C cancels a running command and its processes", async () => {
      const from = pty.mark();
      await pty.type("sh: sleep 30\r");
      await pty.waitFor("[y/N]", from);
      await pty.type("y\r");
      assert.ok(
        await eventually(() => servers.every((s) => descendants(s.pid).length > 0), 10_000),
        "the command should be running on every server",
      );
      await pty.type("\x03");
      await pty.waitFor("2 hosts: 0 ok, 2 cancelled", from);
      assert.ok(
        await eventually(() => servers.every((s) => descendants(s.pid).length === 0), 5_000),
        `children left: ${servers.map((s) => descendants(s.pid).join(","))}`,
      );
      await pty.waitFor(/cancelled[^]*rmon \[2\/2\]> $/, from);
    });
    await t.step("Up recalls the command, not the answer to its question", async () => {
      const from = pty.mark();
      await pty.type("\x1b[A");
      await pty.waitFor("rmon [2/2]> sh: sleep 30", from);
      await pty.type("\x03");
      await pty.waitFor("^C\n", from);
    });
    await t.step("watch redraws until a key is pressed, and the key is not kept", async () => {
      const from = pty.mark();
      await pty.type("watch 0.2 cpu,state\r");
      await pty.waitFor(/(Every 0\.2 s · 2 hosts, 2 up[^]*){2}/, from);
      await pty.type("q");
      // The key's echo is wiped by cursor moves, which the escape-free screen text does not show.
      await pty.waitFor(/Press any key to stop\n[^\n]*rmon \[2\/2\]> $/, from);
      const mark = pty.mark();
      await pty.type("uptime\r");
      await pty.waitFor("2 hosts: 2 ok", mark);
      assert.doesNotMatch(pty.screen.slice(mark), /quptime|Unknown command/);
    });
    await t.step("Ctrl-C at the prompt clears the line", async () => {
      const from = pty.mark();
      await pty.type("abc");
      await pty.waitFor("abc", from);
      await pty.type("\x03");
      await pty.waitFor("abc^C\n", from);
      await pty.type("uptime\r");
      await pty.waitFor("2 hosts: 2 ok", from);
      assert.doesNotMatch(pty.screen.slice(from), /abcuptime|Unknown command/);
    });
    await t.step("a lost host is announced and leaves the count", async () => {
      const from = pty.mark();
      servers[1]!.kill("SIGTERM");
      await pty.waitFor(`${addr(servers[1]!)} lost:`, from);
      await pty.waitFor("rmon [1/1]> ", from);
    });
    await t.step("exit leaves with 0 and the history keeps what was typed", async () => {
      await pty.type("exit\r");
      assert.equal(await pty.exitCode(), 0);
      const history = historyLines(await Deno.readTextFile(`${home}/state/rmon/history`));
      assert.deepEqual(history, [
        "ram",
        "hosts",
        "sh: sleep 30",
        "watch 0.2 cpu,state",
        "uptime",
        "exit",
      ]);
    });
  } finally {
    await pty[Symbol.asyncDispose]();
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
    await Deno.remove(home, { recursive: true });
  }
});

// ---- the real client, on a tmux screen --------------------------------------------

/** The console in a tmux pane, with the test token and a private HOME. */
async function tmuxConsole(args: string[], home: string): Promise<TmuxTerminal> {
  return await TmuxTerminal.start([Deno.execPath(), ...runArgs("client"), ...args], {
    env: childEnv({
      HOME: home,
      XDG_STATE_HOME: `${home}/state`,
      NO_COLOR: "1",
      RMON_TOKEN: TEST_TOKEN,
    }),
  });
}

Deno.test("rmon console wipes its progress line before any other output", async (t) => {
  const servers = await startServers(2);
  const home = await Deno.makeTempDir({ prefix: "rmon-test-tmux-home-" });
  const spare = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = `127.0.0.1:${spare.addr.port}`;
  spare.close();
  try {
    await t.step("a failure while connecting starts its own line", async () => {
      // One at a time, the dead host last: its notice comes while "connecting 2/3" is shown.
      await using term = await tmuxConsole(["--fanout", "1", ...servers.map(addr), dead], home);
      const screen = await term.waitFor(/rmon \[2\/2\]>$/);
      assert.match(screen, new RegExp(`^Cannot connect to ${dead}: refused$`, "m"), screen);
      assert.doesNotMatch(screen, /connecting \d/, screen);
      assert.match(screen, /^Connected to 2 of 3 hosts$/m, screen);
    });
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("rmon console drops answers that come after a second Ctrl-C", async () => {
  const servers = await startServers(2);
  await using muted = mutedServer(TEST_TOKEN);
  const home = await Deno.makeTempDir({ prefix: "rmon-test-tmux-home-" });
  try {
    await using term = await tmuxConsole(["--wait", "3", ...servers.map(addr), addr(muted)], home);
    await term.waitFor(/rmon \[3\/3\]>$/);
    await term.type("ram");
    await term.press("Enter");
    const started = Date.now();
    // Two hosts answer; the muted one never does, not even to the cancel.
    await term.waitFor(/2\/3 hosts answered/);
    await term.press("C-c");
    await term.waitFor(/\^C/);
    await term.press("C-c");
    await term.waitFor(/3 hosts: 2 ok, 1 cancelled[^\n]*\nrmon \[3\/3\]>$/);
    // Past the 3 s wait, the muted host's call times out: nothing may be drawn over the prompt.
    await new Promise((r) => setTimeout(r, Math.max(0, started + 4_000 - Date.now())));
    const screen = await term.screen();
    assert.match(screen, /3 hosts: 2 ok, 1 cancelled[^\n]*\nrmon \[3\/3\]>$/, screen);
    assert.doesNotMatch(screen, /3\/3 hosts answered/, screen);
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("rmon console keeps a sample of long outputs, gathered by their whole text", async () => {
  const servers = await startServers(2);
  try {
    // 300 KB each: shown as it streams, then gathered once from a 64 KiB sample and a hash;
    // `diff` then tells a last-line difference past that sample apart.
    const long = "head -c 300000 /dev/zero | tr '\\0' a; echo";
    const last = `${long}; echo $$`;
    const run = await consoleRun(
      servers,
      [`sh: ${long}`, `diff sh: ${last}`, ""].join("\n"),
      ["--yes"],
    );
    assert.equal(run.code, 0, run.stderr);
    const hosts = `127.0.0.1:[${servers.map((s) => s.port).sort((a, b) => a - b).join(",")}] (2)`;
    const shortened = /\[shortened: the first 64\.0 KiB of 293 KiB shown\]/g;
    assert.equal(run.stdout.match(shortened)?.length, 1, "one gathered block for both hosts");
    assert.ok(run.stdout.includes(hosts), `both hosts under it:\n${run.stdout.slice(-300)}`);
    assert.match(run.stdout, /^\+\+\+ /m, "the outputs differ only in their last line");
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  }
});
