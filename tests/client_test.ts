/**
 * Integration tests of the many-server client: the real `client.ts` entry in
 * one-shot mode against several real server processes (some down, killed,
 * with the wrong token, or silent), plus the Fleet's reconnect after a reset.
 * @module
 */

import assert from "node:assert/strict";
import { dialTcp } from "../lib/protocol/tcp_transport.ts";
import { EXIT_CODES } from "../lib/usage.ts";
import { Fleet } from "../lib/client/fleet.ts";
import {
  addr,
  descendants,
  eventually,
  mutedServer,
  ndjson,
  runClient,
  type ServerProcess,
  silentServer,
  spawnClient,
  startServer,
  startServers,
  TEST_TOKEN,
} from "./helpers.ts";

const env = { RMON_TOKEN: TEST_TOKEN };

/** Write an inventory naming the servers web1.. / db1.. with groups. */
async function inventory(
  servers: ServerProcess[],
  names: string[],
  groups: string[][],
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "rmon-test-inv-" });
  const path = `${dir}/hosts.toml`;
  const hosts = servers.map((s, i) =>
    `[[host]]\nname = "${names[i]}"\naddress = "127.0.0.1:${s.port}"\ngroups = ${
      JSON.stringify(groups[i])
    }\n`
  );
  await Deno.writeTextFile(path, hosts.join("\n"));
  return path;
}

Deno.test("rmon one-shot targets all, a name, a group, a glob and exclusions", async (t) => {
  const servers = await startServers(4);
  const inv = await inventory(servers, ["web1", "web2", "web3", "db1"], [
    ["web"],
    ["web"],
    ["web"],
    ["db"],
  ]);
  try {
    const hostsOf = async (target: string) => {
      const run = await runClient(["--inventory", inv, "--json", "--", `${target} name`], { env });
      assert.equal(run.code, 0, run.stderr);
      return ndjson(run.stdout).map((r) => r.host as string).sort();
    };
    await t.step(
      "all",
      async () => assert.deepEqual(await hostsOf(""), ["db1", "web1", "web2", "web3"]),
    );
    await t.step("one name", async () => assert.deepEqual(await hostsOf("@web2"), ["web2"]));
    await t.step("a group", async () => assert.deepEqual(await hostsOf("@group:db"), ["db1"]));
    await t.step(
      "a glob",
      async () => assert.deepEqual(await hostsOf("@web*"), ["web1", "web2", "web3"]),
    );
    await t.step(
      "an exclusion",
      async () => assert.deepEqual(await hostsOf("@all,-web2"), ["db1", "web1", "web3"]),
    );
    await t.step("an unknown name is a usage error", async () => {
      const run = await runClient(["--inventory", inv, "--", "@nope ram"], { env });
      assert.equal(run.code, EXIT_CODES.usage);
      assert.match(run.stderr, /No host matches "nope"/);
      assert.equal(run.stdout, "");
    });
  } finally {
    await Deno.remove(inv.slice(0, inv.lastIndexOf("/")), { recursive: true });
    for (const s of servers) await s[Symbol.asyncDispose]();
  }
});

Deno.test("rmon --json reports every host's terminal status, whatever fails", async () => {
  const good = await startServers(2);
  const wrong = await startServer({ token: "some-other-token-0123456789" });
  const down = await startServer();
  const downPort = down.port;
  await down[Symbol.asyncDispose]();
  await using silent = silentServer();
  try {
    const hosts = [...good.map(addr), addr(wrong), `127.0.0.1:${downPort}`, addr(silent)];
    const run = await runClient(
      [
        "--hosts",
        hosts.join(","),
        "--json",
        "--connect-timeout",
        "1",
        "--yes",
        "--",
        "sh: echo same; exit 0",
      ],
      { env },
    );
    const records = ndjson(run.stdout);
    assert.equal(records.length, 5, run.stdout + run.stderr);
    const byHost = new Map(records.map((r) => [r.host as string, r]));
    for (const g of good) {
      const r = byHost.get(addr(g))!;
      assert.equal(r.status, "ok");
      assert.equal(r.exit_code, 0);
      assert.equal(r.stdout, "same\n");
      assert.equal(r.stderr, "");
      assert.equal(r.truncated, false);
      assert.equal(typeof r.duration_ms, "number");
      assert.equal(r.error, null);
      assert.equal(r.address, addr(g));
    }
    assert.equal(byHost.get(addr(wrong))!.status, "auth_failed");
    assert.equal(byHost.get(`127.0.0.1:${downPort}`)!.status, "unreachable");
    assert.match(byHost.get(`127.0.0.1:${downPort}`)!.error as string, /refused/);
    assert.equal(byHost.get(addr(silent))!.status, "unreachable");
    assert.match(byHost.get(addr(silent))!.error as string, /timeout/);
    assert.equal(run.code, EXIT_CODES.unreachable);
  } finally {
    for (const s of [...good, wrong]) await s[Symbol.asyncDispose]();
  }
});

Deno.test("rmon exit codes tell non-zero exits and timeouts apart", async (t) => {
  await using a = await startServer();
  await using b = await startServer();
  const hosts = [addr(a), addr(b)].join(",");
  await t.step("all ok → 0", async () => {
    const run = await runClient(["--hosts", hosts, "--", "uptime"], { env });
    assert.equal(run.code, EXIT_CODES.ok, run.stderr);
  });
  await t.step("a non-zero exit → 1, with the exit code in the record", async () => {
    const run = await runClient(["--hosts", addr(a), "--json", "--", "sh: exit 7"], { env });
    assert.equal(run.code, EXIT_CODES.nonzero);
    const [r] = ndjson(run.stdout);
    assert.equal(r!.status, "nonzero");
    assert.equal(r!.exit_code, 7);
  });
  await t.step("a server-side timeout → 4, never 0", async () => {
    const run = await runClient([
      "--hosts",
      hosts,
      "--json",
      "--yes",
      "--timeout",
      "1",
      "--",
      "sh: sleep 10",
    ], { env });
    assert.equal(run.code, EXIT_CODES.timeout);
    assert.deepEqual(ndjson(run.stdout).map((r) => r.status), ["timeout", "timeout"]);
  });
  await t.step("--max-exit: the largest remote exit code, when every host answered", async () => {
    const dir = await Deno.makeTempDir({ prefix: "rmon-test-maxexit-" });
    try {
      // The first host to make the directory exits 3, the other 9: the run exits 9, not 1.
      const cmd = `sh: mkdir ${dir}/first 2>/dev/null && exit 3; exit 9`;
      const run = await runClient(["--hosts", hosts, "--yes", "--max-exit", "--", cmd], { env });
      assert.equal(run.code, 9, run.stdout + run.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const ok = await runClient(["--hosts", hosts, "--max-exit", "--", "uptime"], { env });
    assert.equal(ok.code, EXIT_CODES.ok, "a metric has no exit code: the status decides");
  });
  await t.step("--max-exit keeps the status-based code when a host did not answer", async () => {
    const down = await startServer();
    const downPort = down.port;
    await down[Symbol.asyncDispose]();
    const run = await runClient(
      ["--hosts", `${addr(a)},127.0.0.1:${downPort}`, "--yes", "--max-exit", "--", "sh: exit 7"],
      { env },
    );
    assert.equal(run.code, EXIT_CODES.unreachable, run.stdout + run.stderr);
  });
  await t.step("exec on several hosts without --yes is refused → 2", async () => {
    const run = await runClient(["--hosts", hosts, "--", "sh: true"], { env });
    assert.equal(run.code, EXIT_CODES.usage);
    // The console's wording (confirm.ts): what would run, where, and how to allow it.
    assert.match(
      run.stderr,
      /Cannot run "sh: true" on \d+ hosts without confirmation: one-shot mode does not ask; add --yes/,
    );
  });
  await t.step("a bad command → 2 with the position", async () => {
    const run = await runClient(["--hosts", hosts, "--", "ping -f 127.0.0.1"], { env });
    assert.equal(run.code, EXIT_CODES.usage);
    assert.match(run.stderr, /ping/);
  });
});

Deno.test("rmon --list-hosts prints the target's hosts and connects to none", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-test-list-" });
  const inv = `${dir}/hosts.toml`;
  // Ports 1-3: nothing listens there, so any connection attempt would show as a failure.
  const host = (name: string, port: number, groups: string[]) =>
    `[[host]]\nname = "${name}"\naddress = "127.0.0.1:${port}"\ngroups = ${
      JSON.stringify(groups)
    }\n`;
  await Deno.writeTextFile(
    inv,
    [host("web1", 1, ["web"]), host("web2", 2, ["web", "prod"]), host("db1", 3, ["prod"])]
      .join("\n"),
  );
  try {
    await t.step("every host without a target", async () => {
      const run = await runClient(["-i", inv, "--list-hosts"]);
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      assert.equal(run.stdout, "web1\nweb2\ndb1\n");
      assert.equal(run.stderr, "");
    });
    await t.step("a target alone after --", async () => {
      const run = await runClient(["-i", inv, "--list-hosts", "--", "@web*,-web2"]);
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      assert.equal(run.stdout, "web1\n");
    });
    await t.step("the target of a whole command, as a JSON array with --json", async () => {
      const run = await runClient(["-i", inv, "--json", "--list-hosts", "--", "@group:prod ram"]);
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), ["web2", "db1"]);
    });
    await t.step("a target that matches nothing is a usage error", async () => {
      const run = await runClient(["-i", inv, "--list-hosts", "--", "@nope"]);
      assert.equal(run.code, EXIT_CODES.usage);
      assert.match(run.stderr, /No host matches "nope"/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rmon one-shot -b gathers only, --stream streams only, -o/-e save per host", async (t) => {
  const servers = await startServers(2);
  const hosts = servers.map(addr);
  const dir = await Deno.makeTempDir({ prefix: "rmon-test-outdir-" });
  // The first host to make the directory prints "first", the other "second"; both warn on stderr.
  const cmd =
    `sh: mkdir ${dir}/mark 2>/dev/null && echo first || echo second; echo warn >&2; exit 3`;
  const run = (flags: string[]) =>
    runClient(["--hosts", hosts.join(","), "--yes", ...flags, "--", cmd], { env });
  try {
    await t.step("-b: a block per host, stderr marked, exit codes folded", async () => {
      const r = await run(["-b"]);
      assert.equal(r.code, EXIT_CODES.nonzero, r.stderr);
      assert.doesNotMatch(r.stdout, / \| /, "nothing streamed");
      assert.match(r.stdout, /^-+ 127\.0\.0\.1:\d+ \(1\) -+\nfirst\n\[stderr\] warn$/m);
      assert.match(r.stdout, /^-+ 127\.0\.0\.1:\d+ \(1\) -+\nsecond\n\[stderr\] warn$/m);
      assert.match(r.stdout, /^127\.0\.0\.1:\[\d+[,-]\d+\]: exit code 3$/m);
      await Deno.remove(`${dir}/mark`);
    });
    await t.step("--stream: lines only", async () => {
      const r = await runClient(
        ["--hosts", hosts.join(","), "--yes", "--stream", "--", "sh: echo same"],
        { env },
      );
      assert.equal(r.code, EXIT_CODES.ok, r.stderr);
      assert.match(r.stdout, /^127\.0\.0\.1:\d+ \| same$/m);
      assert.doesNotMatch(r.stdout, /^-{16} /m);
    });
    await t.step("-o/-e: one file per host, directories made 0700", async () => {
      const r = await run(["--json", "-o", `${dir}/out`, "-e", `${dir}/err`]);
      assert.equal(r.code, EXIT_CODES.nonzero, r.stderr);
      assert.equal((await Deno.stat(`${dir}/out`)).mode! & 0o777, 0o700);
      const outs = await Promise.all(hosts.map((h) => Deno.readTextFile(`${dir}/out/${h}`)));
      assert.deepEqual(outs.sort(), ["first\n", "second\n"]);
      for (const h of hosts) assert.equal(await Deno.readTextFile(`${dir}/err/${h}`), "warn\n");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    for (const s of servers) await s[Symbol.asyncDispose]();
  }
});

Deno.test("rmon gathers identical output and reports a server killed mid-command", async () => {
  const servers = await startServers(3);
  try {
    const running = runClient(
      ["--hosts", servers.map(addr).join(","), "--yes", "--", "sh: echo same; sleep 2; echo end"],
      { env },
    );
    // Kill one server while the command runs on it: once its shell is there.
    const doomed = servers[2]!;
    assert.ok(await eventually(() => descendants(doomed.pid).length > 0, 15_000), "it runs");
    doomed.kill("SIGKILL");
    const run = await running;
    assert.equal(run.code, EXIT_CODES.unreachable, run.stdout + run.stderr);
    assert.match(run.stdout, /-+ 127\.0\.0\.1:\[\d+,\d+\] \(2\) -+\nsame\nend/);
    assert.match(
      run.stdout,
      new RegExp(
        `^${addr(servers[2]!)}: unreachable: the connection was lost during the command$`,
        "m",
      ),
    );
    assert.match(run.stdout, /3 hosts: 2 ok, 1 unreachable/);
  } finally {
    for (const s of servers) await s[Symbol.asyncDispose]();
  }
});

Deno.test("rmon says so when a server is stopped (kill, SIGTERM) during the command", async () => {
  await using server = await startServer();
  await using client = await spawnClient(
    ["--hosts", addr(server), "--json", "--", "sh: sleep 30"],
    { env },
  );
  assert.ok(await eventually(() => descendants(server.pid).length > 0, 15_000), "it runs");
  server.kill("SIGTERM");
  const run = await client.done;
  assert.equal(run.code, EXIT_CODES.unreachable, run.stdout + run.stderr);
  const [record] = ndjson(run.stdout);
  assert.equal(record!.status, "unreachable");
  assert.equal(record!.error, "the server shut down during the command");
});

Deno.test("rmon reports a server that authenticates but never answers as timed out", async () => {
  await using good = await startServer();
  await using muted = mutedServer(TEST_TOKEN);
  const started = performance.now();
  const run = await runClient(
    ["--hosts", `${addr(good)},${addr(muted)}`, "--json", "--wait", "1.5", "--", "ram"],
    { env },
  );
  const records = new Map(ndjson(run.stdout).map((r) => [r.host as string, r]));
  assert.equal(records.get(addr(good))!.status, "ok");
  assert.equal(records.get(addr(muted))!.status, "timeout");
  assert.match(records.get(addr(muted))!.error as string, /No answer/);
  assert.equal(run.code, EXIT_CODES.timeout);
  assert.ok(performance.now() - started < 30_000, "the client gave up waiting instead of hanging");
});

Deno.test("Fleet reconnects by itself after a server reset", async () => {
  await using server = await startServer();
  const fleet = new Fleet({ backoffMinMs: 100, backoffMaxMs: 500 });
  fleet.add({
    name: "s1",
    endpoint: { hostname: "127.0.0.1", port: server.port },
    groups: [],
    token: TEST_TOKEN,
    dial: dialTcp,
  });
  try {
    await fleet.connect();
    assert.equal(fleet.get("s1")!.state, "up");
    const [reset] = await fleet.run(["s1"], { kind: "reset" });
    assert.equal(reset!.status, "ok");
    assert.ok(
      await eventually(() => fleet.get("s1")!.state !== "up", 3_000),
      "the reset was noticed",
    );
    assert.ok(
      await eventually(() => fleet.get("s1")!.state === "up", 10_000),
      "the link came back",
    );
    const [ram] = await fleet.run(["s1"], { kind: "ram" });
    assert.equal(ram!.status, "ok");
  } finally {
    await fleet.close();
  }
});

Deno.test("Fleet.findServer() finds a host by the server it names", () => {
  const fleet = new Fleet();
  const host = (name: string, hostname: string, port = 7101) => ({
    name,
    endpoint: { hostname, port },
    groups: [],
    token: TEST_TOKEN,
    dial: dialTcp,
  });
  fleet.add(host("web1", "127.0.0.1"));
  fleet.add(host("other-port", "localhost", 7102));
  assert.equal(fleet.findServer({ hostname: "localhost", port: 7101 })?.name, "web1");
  assert.equal(fleet.findServer({ hostname: "::ffff:127.0.0.1", port: 7101 })?.name, "web1");
  assert.equal(fleet.findServer({ hostname: "127.0.0.1", port: 7102 })?.name, "other-port");
  assert.equal(fleet.findServer({ hostname: "127.0.0.2", port: 7101 }), undefined);
});

Deno.test("rmon explains a forgotten -- and an unknown option", async (t) => {
  await t.step("a command word among the hosts", async () => {
    const run = await runClient(["127.0.0.1:9", "ram"], { env });
    assert.equal(run.code, EXIT_CODES.usage, run.stderr);
    assert.equal(
      run.stderr,
      'rmon: Invalid host "ram": it is a command, not a server; did you mean "-- ram"?\n',
    );
  });
  await t.step("an unknown option", async () => {
    const run = await runClient(["--bogus"], { env });
    assert.equal(run.code, EXIT_CODES.usage);
    assert.equal(
      run.stderr,
      'rmon: Invalid arguments: unknown option "--bogus"\nTry "rmon --help".\n',
    );
  });
});
