/**
 * Process-level tests of how a one-shot run ends when it is stopped from
 * outside: a stdout closed by the reader (`| head -1`), SIGINT, SIGTERM and
 * SIGHUP (directly and through `deno task client`), while connecting and while
 * a host never answers. Every host still gets its record, the remote commands
 * are cancelled, and the exit code says what stopped the run.
 * @module
 */

import assert from "node:assert/strict";
import { EXIT_CODES } from "../lib/usage.ts";
import {
  RunStop,
  SIGNAL_ECHO_MS,
  signalExitCode,
  stopSignals,
} from "../lib/client/oneshot_stop.ts";
import {
  addr,
  type ClientProcess,
  descendants,
  eventually,
  mutedServer,
  ndjson,
  type ServerProcess,
  silentServer,
  spawnClient,
  startServer,
  startServers,
  TEST_TOKEN,
} from "./helpers.ts";

const env = { RMON_TOKEN: TEST_TOKEN };

/** Wait until the client has printed `lines` whole lines on stdout. */
async function linesOut(client: ClientProcess, lines: number, timeoutMs = 15_000): Promise<void> {
  const ok = await eventually(
    () => (client.stdout().match(/\n/g)?.length ?? 0) >= lines,
    timeoutMs,
  );
  if (!ok) throw new Error(`Expected ${lines} lines on stdout, got: ${client.stdout()}`);
}

/** Wait until every server runs a child process (the command has started everywhere). */
async function running(servers: readonly ServerProcess[]): Promise<void> {
  const ok = await eventually(() => servers.every((s) => descendants(s.pid).length > 0), 15_000);
  assert.ok(ok, "the command should be running on every server");
}

/** Assert that no server has a child left (the command was cancelled everywhere). */
async function allStopped(servers: readonly ServerProcess[]): Promise<void> {
  const ok = await eventually(() => servers.every((s) => descendants(s.pid).length === 0), 10_000);
  assert.ok(ok, `children left: ${servers.map((s) => descendants(s.pid).join(",")).join(" / ")}`);
}

/** What a closed pipe or a signal must never leave behind on stderr. */
function assertQuiet(stderr: string): void {
  assert.doesNotMatch(stderr, /Uncaught|BrokenPipe|Broken pipe|error:/, stderr);
}

Deno.test("stopSignals() lists only the signals each OS can deliver", () => {
  assert.deepEqual(stopSignals("linux"), ["SIGINT", "SIGTERM", "SIGHUP"]);
  assert.deepEqual(stopSignals("darwin"), ["SIGINT", "SIGTERM", "SIGHUP"]);
  assert.deepEqual(stopSignals("windows"), ["SIGINT", "SIGBREAK"]);
  assert.equal(signalExitCode("SIGINT"), 130);
  assert.equal(signalExitCode("SIGTERM"), 143);
  assert.equal(signalExitCode("SIGHUP"), 129);
  assert.equal(signalExitCode("SIGBREAK"), 130);
});

Deno.test("RunStop cancels at the first stop and gives up at the second or after the grace", async (t) => {
  await t.step("a signal, then another", () => {
    const stop = new RunStop(60_000);
    try {
      assert.equal(stop.exitCode, null);
      stop.signalled("SIGTERM");
      assert.equal(stop.cancel.signal.reason, "cancelled by SIGTERM");
      assert.equal(stop.exitCode, EXIT_CODES.terminated);
      assert.equal(stop.giveUp.signal.aborted, false);
      stop.signalled("SIGINT");
      assert.equal(stop.giveUp.signal.aborted, true);
      assert.equal(stop.exitCode, EXIT_CODES.terminated, "the first stop names the code");
    } finally {
      stop.dispose();
    }
  });
  await t.step(
    "the same signal again at once is its echo through a parent, not a second stop",
    () => {
      let now = 1_000;
      const stop = new RunStop(60_000, () => now);
      try {
        stop.signalled("SIGTERM");
        now += 5; // the process group's copy, then the launcher's relayed one
        stop.signalled("SIGTERM");
        assert.equal(stop.cancel.signal.aborted, true);
        assert.equal(stop.giveUp.signal.aborted, false, "an echo does not stop the wait");
        now += SIGNAL_ECHO_MS;
        stop.signalled("SIGTERM");
        assert.equal(stop.giveUp.signal.aborted, true, "a later one does");
      } finally {
        stop.dispose();
      }
    },
  );
  await t.step("a closed stdout stops once and the grace ends the wait", async () => {
    const stop = new RunStop(20);
    try {
      stop.stdoutClosed();
      stop.stdoutClosed();
      assert.equal(stop.outputClosed, true);
      assert.equal(stop.exitCode, EXIT_CODES.brokenPipe);
      assert.equal(stop.giveUp.signal.aborted, false, "a repeated write is not a second stop");
      assert.ok(await eventually(() => stop.giveUp.signal.aborted, 2_000));
    } finally {
      stop.dispose();
    }
  });
});

Deno.test("rmon one-shot ends quietly with 141 when its stdout is closed", async (t) => {
  // SLOW makes some hosts answer later: after the reader has gone.
  const fast = await startServer({ args: ["--exec-env", "SLOW"] });
  const late = await startServer({ args: ["--exec-env", "SLOW"], env: { SLOW: "2" } });
  const stuck = await startServer({ args: ["--exec-env", "SLOW"], env: { SLOW: "30" } });
  const servers = [fast, late, stuck];
  try {
    await t.step("--json | head -1: the next record finds the pipe closed", async () => {
      await using client = await spawnClient([
        "--hosts",
        servers.map(addr).join(","),
        "--json",
        "--yes",
        "--",
        "sh: sleep ${SLOW:-0}; echo done",
      ], { env });
      await linesOut(client, 1);
      await client.closeStdout();
      const run = await client.done;
      assert.equal(run.code, EXIT_CODES.brokenPipe, run.stderr);
      assertQuiet(run.stderr);
      assert.equal(ndjson(run.stdout)[0]!.host, addr(fast));
      // The host still running when the pipe broke had its command cancelled.
      await allStopped(servers);
    });
    await t.step("human output | head -2: streamed lines find the pipe closed", async () => {
      // A closed pipe shows at the next write only: the command keeps writing after the reader went.
      await using client = await spawnClient(
        ["--hosts", addr(fast), "--", "sh: seq 1 200000; while :; do sleep 0.2; echo tick; done"],
        { env },
      );
      await linesOut(client, 2);
      await client.closeStdout();
      const started = performance.now();
      const run = await client.done;
      assert.equal(run.code, EXIT_CODES.brokenPipe, run.stderr);
      assertQuiet(run.stderr);
      assert.ok(performance.now() - started < 10_000, "it did not wait for the command");
      await allStopped([fast]);
    });
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  }
});

Deno.test("rmon one-shot stopped by a signal cancels, reports every host and exits 128+N", async (t) => {
  const servers = await startServers(2);
  const hosts = servers.map(addr).join(",");
  const cases: [Deno.Signal, number][] = [
    ["SIGTERM", EXIT_CODES.terminated],
    ["SIGHUP", EXIT_CODES.hangup],
    ["SIGINT", EXIT_CODES.interrupted],
  ];
  try {
    for (const [signal, code] of cases) {
      await t.step(`${signal} → ${code}`, async () => {
        await using client = await spawnClient(
          ["--hosts", hosts, "--json", "--yes", "--", "sh: sleep 30"],
          { env },
        );
        await running(servers);
        client.kill(signal);
        const run = await client.done;
        assert.equal(run.code, code, run.stdout + run.stderr);
        assertQuiet(run.stderr);
        const records = ndjson(run.stdout);
        assert.deepEqual(records.map((r) => r.host).sort(), servers.map(addr).sort());
        for (const r of records) {
          assert.equal(r.status, "cancelled");
          assert.match(r.error as string, new RegExp(`cancelled by ${signal}`));
        }
        await allStopped(servers);
      });
    }
    await t.step("people read why, once: host: cancelled by SIGINT", async () => {
      await using client = await spawnClient(["--hosts", hosts, "--yes", "--", "sh: sleep 30"], {
        env,
      });
      await running(servers);
      client.kill("SIGINT");
      const run = await client.done;
      assert.equal(run.code, EXIT_CODES.interrupted, run.stderr);
      // Both hosts were cancelled for the same reason: one line names them, folded.
      assert.match(run.stdout, /^127\.0\.0\.1:\[\d+[,-]\d+\]: cancelled by SIGINT$/m, run.stdout);
      assert.doesNotMatch(run.stdout, /cancelled: |\(no output\)/, run.stdout);
      await allStopped(servers);
    });
    for (const [signal, code] of cases.filter(([s]) => s !== "SIGHUP")) {
      await t.step(`${signal} through deno task client → ${code}`, async () => {
        await using client = await spawnClient(
          ["--hosts", hosts, "--json", "--yes", "--", "sh: sleep 30"],
          { env, viaTask: true },
        );
        await running(servers);
        client.kill(signal);
        const run = await client.done;
        assert.equal(run.code, code, run.stdout + run.stderr);
        assert.deepEqual(ndjson(run.stdout).map((r) => r.status), ["cancelled", "cancelled"]);
        await allStopped(servers);
      });
    }
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  }
});

Deno.test("rmon one-shot stopped while connecting sends nothing there and reports every host", async () => {
  await using good = await startServer();
  await using silent = silentServer();
  await using client = await spawnClient(
    ["--hosts", `${addr(good)},${addr(silent)}`, "--connect-timeout", "20", "--json", "--", "ram"],
    { env },
  );
  // The pipeline answers the good host at once; the silent one holds its slot in the handshake.
  await linesOut(client, 1);
  const started = performance.now();
  client.kill("SIGINT");
  const run = await client.done;
  assert.ok(performance.now() - started < 5_000, "it stopped connecting at once");
  assert.equal(run.code, EXIT_CODES.interrupted, run.stdout + run.stderr);
  const records = new Map(ndjson(run.stdout).map((r) => [r.host as string, r]));
  assert.equal(records.size, 2, run.stdout);
  assert.equal(records.get(addr(good))!.status, "ok");
  const cut = records.get(addr(silent))!;
  assert.equal(cut.status, "cancelled");
  assert.match(cut.error as string, /cancelled by SIGINT before the command was sent/);
});

Deno.test("rmon one-shot stopped by SIGTERM stops waiting for a host that never answers", async () => {
  await using good = await startServer();
  await using muted = mutedServer(TEST_TOKEN);
  await using client = await spawnClient(
    ["--hosts", `${addr(good)},${addr(muted)}`, "--wait", "60", "--json", "--", "ram"],
    { env },
  );
  await linesOut(client, 1);
  const started = performance.now();
  client.kill("SIGTERM");
  const run = await client.done;
  assert.ok(performance.now() - started < 10_000, "it did not wait the full --wait");
  assert.equal(run.code, EXIT_CODES.terminated, run.stdout + run.stderr);
  const records = new Map(ndjson(run.stdout).map((r) => [r.host as string, r]));
  assert.equal(records.get(addr(good))!.status, "ok");
  assert.equal(records.get(addr(muted))!.status, "cancelled");
  assert.match(records.get(addr(muted))!.error as string, /stopped waiting/);
});
