/**
 * `load`, the metric added to show what adding one takes: its collector, its
 * grammar and wire params, its result validator, its table and what `diff`
 * compares, and the command end to end through a real server.
 * @module
 */

import assert from "node:assert/strict";
import { cpus } from "node:os";
import { loadCollector } from "../lib/sysinfo/load.ts";
import { LOAD } from "../lib/grammar/commands/load.ts";
import { parseLine } from "../lib/grammar/parse_line.ts";
import { CommandSyntaxError } from "../lib/grammar/command.ts";
import { parseParams, toRequest } from "../lib/grammar/params.ts";
import { MalformedResultError } from "../lib/grammar/result_check.ts";
import { renderMetricTable } from "../lib/client/views/metrics.ts";
import { renderCommandDiff, stableProjection } from "../lib/client/console_diff.ts";
import type { HostResult } from "../lib/client/fleet.ts";
import { runClient, startServer, TEST_TOKEN } from "./helpers.ts";

Deno.test("loadCollector reads three load averages and the logical cores", async () => {
  const info = await loadCollector.collect();
  assert.equal(info.loadAvg.length, 3);
  for (const x of info.loadAvg) assert.ok(Number.isFinite(x) && x >= 0, String(x));
  assert.equal(info.cores, cpus().length);
  assert.ok(info.cores >= 1);
  const aborted = AbortSignal.abort();
  await assert.rejects(() => loadCollector.collect(aborted));
});

Deno.test("load: one word, empty params, checked both ways", () => {
  assert.deepEqual(parseLine("load"), { command: { kind: "load" } });
  assert.deepEqual(parseLine("@web* load")?.command, { kind: "load" });
  assert.throws(() => parseLine("load 5"), CommandSyntaxError);
  assert.deepEqual(toRequest({ kind: "load" }), { method: "load", params: {} });
  assert.deepEqual(parseParams("load", {}), { kind: "load" });
  assert.throws(() => parseParams("load", { cores: 2 }), TypeError);
});

Deno.test("LOAD.result accepts an answer and names the first bad field", () => {
  const good = { loadAvg: [0.5, 0.25, 0.1], cores: 4 };
  assert.deepEqual(LOAD.result(good, "result"), good);
  assert.throws(() => LOAD.result({ loadAvg: [1, 2], cores: 4 }, "result"), (err) => {
    assert.ok(err instanceof MalformedResultError);
    assert.match(err.message, /result\.loadAvg is not 3 numbers/);
    return true;
  });
  assert.throws(
    () => LOAD.result({ loadAvg: [1, 2, 3] }, "result"),
    /result\.cores is not a number/,
  );
});

Deno.test("the load view divides by the cores and marks busy hosts", async (t) => {
  const rows = [
    { host: "web1", result: { loadAvg: [2, 1, 0.5], cores: 4 } },
    { host: "db1", result: { loadAvg: [8, 4.4, 2], cores: 4 } },
    { host: "old1", result: { cores: 2 } },
    { host: "down1", error: "refused" },
  ];
  await t.step("plain", () => {
    const table = renderMetricTable("load", rows, false);
    assert.match(table, /HOST\s+CORES\s+LOAD \(1\/5\/15\)\s+PER CORE \(1\/5\/15\)/);
    assert.match(table, /web1\s+4\s+2\.00 1\.00 0\.50\s+0\.50 0\.25 0\.13/);
    assert.match(table, /db1\s+4\s+8\.00 4\.40 2\.00\s+2\.00 1\.10 0\.50/);
    assert.match(table, /old1\s+2\s+-\s+-/, "a missing field is shown as -");
    assert.match(table, /down1\s+error: refused/);
  });
  await t.step("coloured: yellow from 0.7 per core, red from 1", () => {
    const table = renderMetricTable("load", [
      { host: "a", result: { loadAvg: [0.4, 3, 4.4], cores: 4 } },
    ], true);
    const line = table.split("\n").find((l) => l.includes("0.10"))!;
    assert.ok(line, table);
    // 0.10 plain, 0.75 yellow, 1.10 red.
    assert.ok(
      line.includes("0.10 \x1b[33m0.75\x1b[39m \x1b[31m1.10\x1b[39m"),
      JSON.stringify(line),
    );
  });
});

Deno.test("diff load compares the cores, not the moment's load", () => {
  assert.deepEqual(stableProjection("load", { loadAvg: [1, 2, 3], cores: 8 }), { cores: 8 });
  const host = (name: string, loadAvg: number[], cores: number): HostResult => ({
    host: name,
    status: "ok",
    data: { loadAvg, cores },
    durationMs: 1,
  });
  const cmd = { kind: "load" } as const;
  assert.equal(
    renderCommandDiff(cmd, [host("web1", [1, 1, 1], 4), host("web2", [3, 2, 1], 4)], false),
    "All 2 hosts agree: web[1-2]\n  load.cores: 4",
  );
  assert.match(
    renderCommandDiff(cmd, [host("web1", [1, 1, 1], 4), host("web2", [1, 1, 1], 2)], false),
    /load\.cores: 4 \(web1\) vs 2 \(web2\)/,
  );
});

Deno.test("load through a real server", async () => {
  await using server = await startServer();
  const run = async (...args: string[]) => {
    const r = await runClient(
      ["--hosts", `127.0.0.1:${server.port}`, ...args],
      { env: { RMON_TOKEN: TEST_TOKEN, NO_COLOR: "1" } },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return r.stdout;
  };
  const data = JSON.parse(await run("--json", "--", "load")).data;
  assert.deepEqual(LOAD.result(data, "result"), data);
  assert.equal(data.cores, cpus().length);
  assert.match(await run("--", "load"), /HOST\s+CORES\s+LOAD \(1\/5\/15\)\s+PER CORE/);
});
