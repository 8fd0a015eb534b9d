/**
 * `ping` figures: the pure parser of ping's summary on outputs of Linux
 * (iputils, BusyBox), macOS and Windows (tests/testdata/ping, see its README
 * for which are real captures), the table and `--json` records built from
 * them, and a real server pinging loopback.
 * @module
 */

import assert from "node:assert/strict";
import { parsePingOutput } from "../lib/exec/ping_output.ts";
import { PING_RESULT } from "../lib/grammar/result_check.ts";
import type { HostResult } from "../lib/client/fleet.ts";
import { formatRttMs, renderPingTable } from "../lib/client/views/ping.ts";
import { addr, ndjson, runClient, startServer, TEST_TOKEN } from "./helpers.ts";

const sample = (name: string) =>
  Deno.readTextFile(new URL(`./testdata/ping/${name}`, import.meta.url));

Deno.test("parsePingOutput() reads each OS's summary", async (t) => {
  const cases = [
    // Captured on this machine (iputils 20221126).
    ["linux_iputils_loopback.txt", [3, 3, 0, 0.032, 0.034, 0.035]],
    ["linux_iputils_loss.txt", [3, 2, 33.33, 12.412, 14.155, 15.898]],
    ["linux_iputils_host_unreachable.txt", [4, 0, 100, null, null, null]],
    ["busybox_ok.txt", [2, 2, 0, 0.089, 0.1, 0.112]],
    ["macos_ok.txt", [4, 4, 0, 3.551, 4.175, 5.23]],
    ["macos_loss.txt", [3, 2, 33.33, 20.125, 21.528, 22.931]],
    ["macos_timeout.txt", [4, 0, 100, null, null, null]],
    // Windows prints Minimum, Maximum, Average: the average is the last figure.
    ["windows_ok.txt", [4, 4, 0, 0, 3, 7]],
    ["windows_timeout.txt", [4, 0, 100, null, null, null]],
    ["windows_german.txt", [3, 2, 33.33, 2, 3, 5]],
  ] as const;
  for (const [file, [sent, received, lossPercent, rttMinMs, rttAvgMs, rttMaxMs]] of cases) {
    await t.step(file, async () => {
      assert.deepEqual(parsePingOutput(await sample(file)), {
        sent,
        received,
        lossPercent,
        rttMinMs,
        rttAvgMs,
        rttMaxMs,
      });
    });
  }
  await t.step("no summary: null (captured: no route, ping gave up before sending)", async () => {
    assert.equal(parsePingOutput(await sample("linux_iputils_no_route.txt")), null);
    assert.equal(parsePingOutput("ping: nohost.invalid: Name or service not known\n"), null);
    assert.equal(parsePingOutput(""), null);
  });
});

Deno.test("PING_RESULT accepts a CallEnd with or without figures, and refuses bad ones", () => {
  const end = { exitCode: 0, signal: null, durationMs: 5, truncated: false, droppedBytes: 0 };
  assert.deepEqual(PING_RESULT(end, "result"), end);
  assert.deepEqual(PING_RESULT({ ...end, stats: null }, "result"), { ...end, stats: null });
  const stats = {
    sent: 1,
    received: 0,
    lossPercent: 100,
    rttMinMs: null,
    rttAvgMs: null,
    rttMaxMs: null,
  };
  assert.deepEqual(PING_RESULT({ ...end, stats }, "result").stats, stats);
  assert.throws(
    () => PING_RESULT({ ...end, stats: { ...stats, sent: "1" } }, "result"),
    { message: "Malformed answer: result.stats.sent is not a number" },
  );
});

Deno.test("renderPingTable() shows a row of figures per host whose ping ran", () => {
  const stats = (received: number, avg: number | null) => ({
    sent: 4,
    received,
    lossPercent: (4 - received) * 25,
    rttMinMs: avg,
    rttAvgMs: avg,
    rttMaxMs: avg,
  });
  const end = { exitCode: 0, signal: null, durationMs: 1, truncated: false, droppedBytes: 0 };
  const results: HostResult[] = [
    { host: "web1", status: "ok", data: { ...end, stats: stats(4, 0.045) }, durationMs: 1 },
    { host: "web2", status: "nonzero", data: { ...end, stats: stats(0, null) }, durationMs: 1 },
    { host: "web3", status: "ok", data: { ...end }, durationMs: 1 },
    { host: "db1", status: "unreachable", error: "refused", durationMs: 0 },
  ];
  assert.equal(
    renderPingTable(results, false),
    [
      "HOST  SENT  RECV    LOSS       MIN       AVG       MAX",
      "web1     4     4    0.0%  0.045 ms  0.045 ms  0.045 ms",
      "web2     4     0  100.0%         -         -         -",
      "web3  (no summary)",
    ].join("\n"),
  );
  assert.equal(renderPingTable(results.slice(3), false), "");
  assert.equal(formatRttMs(12.345), "12.3 ms");
  assert.equal(formatRttMs(3.14159), "3.14 ms");
});

Deno.test("rmon -- ping: figures in each record's data and a table row (loopback only)", async () => {
  await using server = await startServer();
  const env = { RMON_TOKEN: TEST_TOKEN };
  const json = await runClient(["--json", addr(server), "--", "ping 127.0.0.1 2"], { env });
  assert.equal(json.code, 0, json.stderr);
  const [record] = ndjson(json.stdout);
  const data = record?.data as Record<string, unknown>;
  assert.equal(data.sent, 2, json.stdout);
  assert.equal(data.received, 2);
  assert.equal(data.lossPercent, 0);
  assert.ok(typeof data.rttAvgMs === "number" && data.rttAvgMs >= 0, json.stdout);
  // The old fields stay: the output and the exit code.
  assert.match(String(record?.stdout), /2 packets transmitted/);
  assert.equal(record?.exit_code, 0);

  const text = await runClient([addr(server), "--", "ping 127.0.0.1 1"], { env });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^HOST +SENT +RECV +LOSS +MIN +AVG +MAX$/m);
  assert.match(text.stdout, new RegExp(`^${addr(server)} +1 +1 +0\\.0% +[\\d.]+ ms`, "m"));
});
