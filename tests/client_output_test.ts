/**
 * Integration tests of one-shot output of any size through the real client
 * (`client.ts`) against real servers: bounded `--json` records, gathered
 * blocks of long outputs, `--no-prefix`, per-host order, files of the whole
 * output, and a client killed mid-stream leaving no work on the server.
 * @module
 */

import assert from "node:assert/strict";
import { EXIT_CODES } from "../lib/usage.ts";
import {
  addr,
  descendants,
  eventually,
  ndjson,
  runClient,
  spawnClient,
  startServers,
  TEST_TOKEN,
} from "./helpers.ts";

const env = { RMON_TOKEN: TEST_TOKEN };

/** `seq 1 n` as text. */
function seq(n: number): string {
  return Array.from({ length: n }, (_, i) => `${i + 1}\n`).join("");
}

Deno.test("rmon --json keeps at most --max-record-output bytes of output per record", async (t) => {
  const servers = await startServers(2);
  const hosts = servers.map(addr).join(",");
  // 300,000 bytes on stdout, then 5 on stderr.
  const cmd = "sh: head -c 300000 /dev/zero | tr '\\0' a; echo warn >&2";
  try {
    await t.step("over the limit: cut, marked truncated, with the real byte counts", async () => {
      const run = await runClient(
        ["--hosts", hosts, "--yes", "--json", "--max-record-output", "64k", "--", cmd],
        { env },
      );
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      const records = ndjson(run.stdout);
      assert.equal(records.length, 2);
      for (const r of records) {
        assert.equal(r.status, "ok");
        assert.equal(r.truncated, true);
        assert.equal(r.stdout, "a".repeat(65536));
        assert.equal(r.stdout_bytes, 300_000);
        assert.equal(r.stderr_bytes, 5);
        assert.equal(r.stderr, "", "the budget was spent on stdout");
      }
    });
    await t.step("under the default limit (1 MiB): whole, not truncated", async () => {
      const run = await runClient(["--hosts", hosts, "--yes", "--json", "--", cmd], { env });
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      for (const r of ndjson(run.stdout)) {
        assert.equal(r.truncated, false);
        assert.equal(r.stdout, "a".repeat(300_000));
        assert.equal(r.stderr, "warn\n");
        assert.equal(r.stdout_bytes, 300_000);
      }
    });
    await t.step("a bad size is a usage error", async () => {
      const run = await runClient(
        ["--hosts", hosts, "--json", "--max-record-output", "lots", "--", "ram"],
        { env },
      );
      assert.equal(run.code, EXIT_CODES.usage);
      assert.match(run.stderr, /^rmon: Invalid --max-record-output: "lots" is not a size/);
    });
  } finally {
    for (const s of servers) await s[Symbol.asyncDispose]();
  }
});

Deno.test("rmon gathers long outputs by their whole text and saves every byte with -o", async () => {
  const servers = await startServers(3);
  const dir = await Deno.makeTempDir({ prefix: "rmon-test-long-" });
  try {
    // The first two hosts print the same 288,894 bytes; the third adds its server's pid.
    const [same, other] = [servers.slice(0, 2), servers[2]!];
    const list = [...same.map(addr), addr(other)].join(",");
    const cmd = `sh: seq 1 50000; [ $PPID = ${other.pid} ] && echo odd; true`;
    const run = await runClient(
      ["--hosts", list, "--yes", "-b", "-o", dir, "--", cmd],
      { env },
    );
    assert.equal(run.code, EXIT_CODES.ok, run.stderr);
    const note = /^\[shortened: the first 64\.0 KiB of 282 KiB shown\]$/m;
    const [first, second] = run.stdout.split(/^-{16} .* -{16}$/m).slice(1);
    assert.match(run.stdout, /^-+ 127\.0\.0\.1:\[\d+,\d+\] \(2\) -+\n1\n2\n3\n/m);
    assert.match(run.stdout, new RegExp(`^-+ ${addr(other)} \\(1\\) -+\\n1\\n2\\n`, "m"));
    assert.match(first!, note);
    assert.match(second!, /^\[shortened: the first 64\.0 KiB of 282 KiB shown\]$/m);
    // The block shows the start only; the files hold everything.
    assert.ok(first!.length < 70_000, `${first!.length} characters shown`);
    assert.equal(await Deno.readTextFile(`${dir}/${addr(same[0]!)}`), seq(50000));
    assert.equal(await Deno.readTextFile(`${dir}/${addr(other)}`), seq(50000) + "odd\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
    for (const s of servers) await s[Symbol.asyncDispose]();
  }
});

Deno.test("rmon --no-prefix passes one host's output through as it is", async (t) => {
  const servers = await startServers(2);
  try {
    await t.step("stdout byte for byte, remote stderr on stderr, nothing else", async () => {
      const run = await runClient(
        [
          "--hosts",
          addr(servers[0]!),
          "--no-prefix",
          "--",
          "sh: printf 'a\\nb'; echo err >&2; seq 1 100000",
        ],
        { env },
      );
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      assert.equal(run.stdout, "a\nb" + seq(100000));
      assert.equal(run.stderr, "err\n");
    });
    await t.step("a failure is said on stderr; stdout keeps the output alone", async () => {
      const run = await runClient(
        ["--hosts", addr(servers[0]!), "--no-prefix", "--", "sh: echo out; exit 3"],
        { env },
      );
      assert.equal(run.code, EXIT_CODES.nonzero);
      assert.equal(run.stdout, "out\n");
      assert.equal(run.stderr, `${addr(servers[0]!)}: exit code 3\n`);
    });
    await t.step("more than one host is a usage error", async () => {
      const run = await runClient(
        ["--hosts", servers.map(addr).join(","), "--yes", "--no-prefix", "--", "sh: true"],
        { env },
      );
      assert.equal(run.code, EXIT_CODES.usage);
      assert.match(run.stderr, /--no-prefix shows one host's output, and 2 hosts are named/);
    });
  } finally {
    for (const s of servers) await s[Symbol.asyncDispose]();
  }
});

Deno.test("rmon streams each host's lines in order", async () => {
  const servers = await startServers(2);
  try {
    const run = await runClient(
      ["--hosts", servers.map(addr).join(","), "--yes", "--stream", "--", "sh: seq 1 20000"],
      { env },
    );
    assert.equal(run.code, EXIT_CODES.ok, run.stderr);
    const expected = seq(20000).trimEnd().split("\n");
    for (const host of servers.map(addr)) {
      const lines = run.stdout.split("\n").filter((l) => l.startsWith(`${host} | `));
      assert.deepEqual(lines.map((l) => l.slice(host.length + 3)), expected, host);
    }
  } finally {
    for (const s of servers) await s[Symbol.asyncDispose]();
  }
});

Deno.test("a client killed mid-stream leaves no work behind on the server", async () => {
  const [server] = await startServers(1);
  try {
    const client = await spawnClient(
      [
        "--hosts",
        addr(server!),
        "--no-prefix",
        "--",
        "sh: while :; do echo tick; sleep 0.01; done",
      ],
      { env },
    );
    assert.ok(await eventually(() => client.stdout().includes("tick"), 15_000), "it streams");
    assert.ok(descendants(server!.pid).length > 0, "the command runs on the server");
    client.kill("SIGKILL");
    await client.done;
    assert.ok(
      await eventually(() => descendants(server!.pid).length === 0, 10_000),
      `still running: ${descendants(server!.pid).join(" ")}`,
    );
  } finally {
    await server![Symbol.asyncDispose]();
  }
});
