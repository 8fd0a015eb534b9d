/**
 * Tables fit the screen: renderTable() narrows shrinking columns (wrap or
 * cut) and falls back to a vertical list; the hosts table leaves out ADDRESS
 * when names are addresses and cuts long errors (whole in renderHostDetail());
 * `os` and `info` stay within 80 columns. Unit tests, no permissions.
 * @module
 */

import assert from "node:assert/strict";
import type { LinkStatus } from "../lib/client/host_link.ts";
import { type HostRow, renderHostDetail, renderHosts } from "../lib/client/views/hosts.ts";
import { renderMetricTable } from "../lib/client/views/metrics.ts";
import { cutText, renderTable, visibleWidth, wrapText } from "../lib/client/views/table.ts";

const widest = (text: string) => Math.max(...text.split("\n").map(visibleWidth));

Deno.test("wrapText() and cutText() keep within the width", () => {
  assert.deepEqual(wrapText("Debian GNU/Linux 12 (bookworm)", 12), [
    "Debian",
    "GNU/Linux 12",
    "(bookworm)",
  ]);
  assert.deepEqual(wrapText("abcdefghij", 4), ["abcd", "efgh", "ij"]);
  assert.deepEqual(wrapText("short", 10), ["short"]);
  assert.equal(cutText("connection refused by peer", 10), "connectio…");
  assert.equal(cutText("short", 10), "short");
});

Deno.test("renderTable() fits a width: wraps, cuts, or lists vertically", async (t) => {
  const rows = [["web1", "Debian GNU/Linux 12 (bookworm)", "a very long comment here"]];
  await t.step("without a width, nothing changes", () => {
    const text = renderTable([{ title: "HOST" }, { title: "OS" }, { title: "NOTE" }], rows);
    assert.equal(
      text.split("\n")[1],
      "web1  Debian GNU/Linux 12 (bookworm)  a very long comment here",
    );
  });
  await t.step("wrapping and cut columns narrow to fit", () => {
    const text = renderTable(
      [{ title: "HOST" }, { title: "OS", shrink: "wrap" }, { title: "NOTE", shrink: "cut" }],
      rows,
      { width: 40 },
    );
    assert.ok(widest(text) <= 40, text);
    assert.equal(
      text,
      [
        "HOST  OS                NOTE",
        "web1  Debian GNU/Linux  a very long com…",
        "      12 (bookworm)",
      ].join("\n"),
    );
  });
  await t.step("too wide even then: one block per row", () => {
    const text = renderTable(
      [{ title: "HOST" }, { title: "OS" }, { title: "NOTE" }],
      [...rows, ["db1", "error: refused"]],
      { width: 40 },
    );
    assert.equal(
      text,
      [
        "web1",
        "  OS    Debian GNU/Linux 12 (bookworm)",
        "  NOTE  a very long comment here",
        "db1",
        "  error: refused",
      ].join("\n"),
    );
  });
  await t.step("a spanning error wraps within what is left of the line", () => {
    const text = renderTable(
      [{ title: "HOST" }, { title: "A" }, { title: "B" }],
      [["web1", "1", "2"], ["db1", `error: ${"word ".repeat(20).trim()}`]],
      { width: 30 },
    );
    assert.ok(widest(text) <= 30, text);
    assert.match(text, /^db1 {3}error: word/m);
    assert.match(text, /^ {6}word/m);
  });
});

const now = Date.UTC(2024, 4, 1, 10, 0, 0);
function host(name: string, changes: Partial<HostRow> = {}): HostRow {
  const base: LinkStatus = {
    name,
    address: name,
    state: "up",
    since: now - 185_000,
    rttMs: 0.4,
    serverVersion: "0.1.0",
    os: "Debian GNU/Linux 12 (bookworm)",
    readOnly: false,
    role: "admin",
    user: "token",
    security: "loopback",
    fingerprint: null,
    reason: null,
  };
  return { ...base, groups: [], selected: true, ...changes };
}

Deno.test("renderHosts() fits 80 columns", async (t) => {
  const refused = "connect ECONNREFUSED 127.0.0.1:7103: the server refused the connection";
  const rows = [
    host("127.0.0.1:7101"),
    host("127.0.0.1:7102", { groups: ["web", "prod"] }),
    host("127.0.0.1:7103", { state: "lost", reason: refused, rttMs: null }),
  ];
  await t.step("ADDRESS is left out when every host is named by its address", () => {
    const text = renderHosts(rows, now, false, 80);
    assert.doesNotMatch(text, /ADDRESS/);
    assert.ok(widest(text) <= 80, text);
  });
  await t.step("a long reason is cut in the table", () => {
    const text = renderHosts(rows, now, false, 200);
    assert.match(text, /lost \(connect ECONNREFUSED 127\.0\.0\.1:…\)/);
    assert.doesNotMatch(text, /refused the connection/);
  });
  await t.step("with names that are not addresses, ADDRESS stays", () => {
    const named = [host("web1", { address: "10.0.0.1:5050" }), host("db1")];
    const text = renderHosts(named, now, false, 200);
    assert.match(text, /^ {3}HOST +ADDRESS +STATE/m);
    assert.match(text, /^\* {2}db1 +db1 +up/m);
  });
  await t.step("a narrow screen still gets every host and field", () => {
    const text = renderHosts(rows, now, false, 40);
    assert.ok(widest(text) <= 40, text);
    for (const r of rows) {
      assert.match(text, new RegExp(`^${r.name.replaceAll(".", "\\.")}$`, "m"));
    }
    assert.match(text, /^ {2}STATE +lost \(connect/m);
  });
  await t.step("at 80 columns, what every host shares goes under the table", () => {
    const text = renderHosts(rows, now, false, 80);
    assert.ok(widest(text) <= 80, text);
    // GROUPS differ (web,prod on one host only): they stay a column.
    assert.match(text, /^ {3}HOST +STATE +RTT +SINCE +GROUPS$/m);
    assert.match(text, /^All hosts: SECURITY loopback · VERSION 0\.1\.0 · ROLE token \(admin\)$/m);
    assert.match(text, /^ {2}OS Debian GNU\/Linux 12 \(bookworm\)$/m);
  });
  await t.step("renderHostDetail() shows one host whole, the reason uncut", () => {
    const text = renderHostDetail(rows[2]!, now, false, 80);
    assert.ok(widest(text) <= 80, text);
    assert.match(text, /^127\.0\.0\.1:7103$/m);
    assert.match(text.replace(/\n +/g, " "), /refused the connection\)/);
    assert.match(text, /^ {2}SELECTED +yes$/m);
  });
});

Deno.test("renderMetricTable() keeps os and info within 80 columns", async (t) => {
  const os = {
    platform: "linux",
    release: "6.1.0-28-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1",
    arch: "x64",
    name: "Debian GNU/Linux 12 (bookworm)",
  };
  const hosts = ["web-frontend-01.example.net", "web-frontend-02.example.net"];
  await t.step("os wraps RELEASE and NAME", () => {
    const text = renderMetricTable("os", hosts.map((h) => ({ host: h, result: os })), false, 80);
    assert.ok(widest(text) <= 80, text);
    assert.match(text, /^HOST +PLATFORM +RELEASE +ARCH +NAME$/m);
    assert.match(text, /^web-frontend-01\.example\.net +linux +\S+ +x64 +Debian/m);
    assert.match(text, /\(bookworm\)/);
  });
  await t.step("info wraps OS", () => {
    const info = {
      os,
      cpu: { usagePercent: 12, loadAvg: [0.5, 0.4, 0.3] },
      ram: { usedPercent: 40 },
      disk: { mounts: [{ mount: "/", usedPercent: 50 }] },
      uptime: { uptimeSeconds: 90_061 },
    };
    const long = hosts.map((h) => ({ host: `${h}.${h}`, result: info }));
    const text = renderMetricTable("info", long, false, 80);
    assert.ok(widest(text) <= 80, text);
    assert.match(text, /CPU%/);
  });
  await t.step("too narrow for the table: a block per host", () => {
    const text = renderMetricTable("os", [{ host: hosts[0]!, result: os }], false, 40);
    assert.ok(widest(text) <= 40, text);
    assert.match(text, /^web-frontend-01\.example\.net\n {2}PLATFORM +linux$/m);
  });
});

Deno.test("renderMetricTable() keeps a top process on one line, its command cut", () => {
  const command = `/usr/bin/deno run --allow-all ${"--flag ".repeat(20)}server.ts`;
  const top = {
    processes: [{ pid: 4316, user: "root", cpuPercent: 30.2, rssBytes: 150e6, command }],
  };
  const text = renderMetricTable("top", [{ host: "127.0.0.1:7101", result: top }], false, 80);
  const lines = text.split("\n");
  assert.equal(lines.length, 2, text);
  assert.ok(widest(text) <= 80, text);
  assert.match(lines[1]!, /4316 +root +30\.2 .* \/usr\/bin\/deno run --allow-all .*…$/);
});
