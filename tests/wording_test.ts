/**
 * Messages in words, not wire codes: why a server closed a connection (its
 * `bye` reason), a server stopped by `rmon kill` during a command, and hosts
 * disconnected on purpose, which are not unreachable.
 * @module
 */

import assert from "node:assert/strict";
import { byeText } from "../lib/client/host_link.ts";
import { EXIT_CODES } from "../lib/usage.ts";
import {
  addr,
  descendants,
  eventually,
  ndjson,
  runClient,
  spawnClient,
  startServer,
  startServers,
  TEST_TOKEN,
} from "./helpers.ts";

const env = { RMON_TOKEN: TEST_TOKEN };

Deno.test("byeText() says why a server closed the connection, without its code", () => {
  assert.equal(byeText("disconnect"), "disconnected");
  assert.equal(byeText("reset"), "the server was reset");
  assert.equal(byeText("kill"), "the server was stopped by rmon kill");
  assert.equal(byeText("shutdown"), "the server shut down");
  assert.equal(byeText("revoked"), "access was revoked");
  assert.equal(byeText("later"), 'the server closed the connection ("later")');
});

Deno.test("rmon names a server stopped by rmon kill during a command", async () => {
  await using server = await startServer();
  await using client = await spawnClient(
    ["--json", addr(server), "--", "sh: sleep 30"],
    { env },
  );
  assert.ok(await eventually(() => descendants(server.pid).length > 0, 15_000), "it runs");
  const kill = await runClient(["--yes", addr(server), "--", "kill"], { env });
  assert.equal(kill.code, EXIT_CODES.ok, kill.stderr);
  const run = await client.done;
  const [record] = ndjson(run.stdout);
  assert.equal(record!.status, "unreachable", run.stdout);
  assert.equal(record!.error, "the server was stopped by rmon kill during the command");
});

Deno.test("rmon console: hosts says why a link closed, in words", async () => {
  const servers = await startServers(2);
  try {
    const [a, b] = servers.map(addr) as [string, string];
    const run = await runClient(["--yes", a, b], {
      env,
      stdin: `disconnect ${a}\n@${b} kill\nhosts\nhosts ${b}\n@${a} ram\n`,
      timeoutMs: 30_000,
    });
    assert.equal(run.code, 0, run.stderr);
    const row = (name: string) => run.stdout.split("\n").find((l) => l.includes(`${name} `)) ?? "";
    assert.match(row(a), / closed \(disconnected\) /, run.stdout);
    // The table cuts a long reason; hosts HOST shows it whole.
    assert.match(run.stdout, /^ {2}STATE +closed \(the server was stopped by rmon kill\)$/m);
    assert.doesNotMatch(run.stdout + run.stderr, /said bye|\(kill\)|\(disconnect\)/);
    // A host disconnected on purpose is skipped, not counted unreachable.
    assert.match(run.stdout, new RegExp(`^Skipped ${a}: disconnected`, "m"));
    assert.doesNotMatch(run.stdout, /unreachable/);
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  }
});

Deno.test("rmon says why a server hung up before its greeting (a penalty after a failed sign-in)", async () => {
  await using server = await startServer({ args: ["--penalty", "60s", "--quiet"] });
  const base = ["--hosts", addr(server), "--json", "--connect-timeout", "3", "--", "ram"];
  const wrong = await runClient(base, { env: { RMON_TOKEN: "not-the-token-0123456789abcdef" } });
  assert.equal(ndjson(wrong.stdout)[0]?.status, "auth_failed", wrong.stdout + wrong.stderr);
  // The right token from the same address within the penalty: refused at accept, before hello.
  const right = await runClient(base, { env });
  const record = ndjson(right.stdout)[0];
  assert.equal(record?.status, "unreachable", right.stdout + right.stderr);
  assert.match(String(record?.error), /hung up before its greeting .*failed sign-ins/);
  assert.equal(right.code, EXIT_CODES.unreachable);
});
