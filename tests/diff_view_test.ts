/**
 * `diff`: the line diff (Myers, unified hunks as `diff -u` writes them), the
 * text of a diff of exec output and of metrics, the `--json` records of a
 * one-shot diff, and one-shot `diff` against real servers whose outputs differ.
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { diffExitCode, diffRecords, renderCommandDiff } from "../lib/client/console_diff.ts";
import type { HostResult } from "../lib/client/fleet.ts";
import { diffLines, splitLines, unifiedHunks } from "../lib/client/views/line_diff.ts";
import { EXIT_CODES } from "../lib/usage.ts";
import { addr, ndjson, runClient, startServers, TEST_TOKEN } from "./helpers.ts";

/** Length of a longest common subsequence, by the textbook table: the reference for minimality. */
function lcs(a: readonly string[], b: readonly string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = x === b[j - 1] ? diag + 1 : Math.max(row[j]!, row[j - 1]!);
      diag = up;
    }
  }
  return row[b.length]!;
}

Deno.test("diffLines() gives a shortest edit script that rebuilds both texts", () => {
  const lines = fc.array(fc.constantFrom("a", "b", "c", ""), { maxLength: 14 });
  fc.assert(
    fc.property(lines, lines, (a, b) => {
      const edits = diffLines(a, b);
      assert.deepEqual(edits.filter((e) => e.op !== "+").map((e) => e.line), a);
      assert.deepEqual(edits.filter((e) => e.op !== "-").map((e) => e.line), b);
      assert.equal(edits.filter((e) => e.op === " ").length, lcs(a, b));
    }),
    { numRuns: 500 },
  );
});

Deno.test("unifiedHunks() writes hunks as diff -u does", () => {
  const a = splitLines("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n");
  const b = splitLines("a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n");
  // Checked against GNU diff -u on the same files.
  assert.deepEqual(unifiedHunks(a, b), [
    "@@ -1,5 +1,5 @@",
    " a",
    "-b",
    "+B",
    " c",
    " d",
    " e",
    "@@ -9,3 +9,4 @@",
    " i",
    " j",
    " k",
    "+l",
  ]);
  assert.deepEqual(unifiedHunks(["x"], []), ["@@ -1 +0,0 @@", "-x"]);
  assert.deepEqual(unifiedHunks([], ["x"]), ["@@ -0,0 +1 @@", "+x"]);
  assert.deepEqual(unifiedHunks(a, a), []);
  assert.deepEqual(splitLines("a\r\nb"), ["a", "b"]);
});

const exec = { kind: "exec", shell: "sh", command: "cat /etc/hosts" } as const;
const ran = (host: string, stdout: string, exitCode = 0): HostResult => ({
  host,
  status: exitCode === 0 ? "ok" : "nonzero",
  exitCode,
  signal: null,
  stdout,
  stderr: "",
  durationMs: 3,
});
const hostsFile = "127.0.0.1 localhost\n10.0.0.1 web\n10.0.0.2 db\n";

Deno.test("renderCommandDiff() shows exec output as a unified diff against the most common", async (t) => {
  await t.step("outliers against the common output, naming its hosts", () => {
    const results = [
      ran("web1", hostsFile),
      ran("web2", hostsFile),
      ran("web3", hostsFile.replace("10.0.0.2 db", "10.0.0.9 db")),
      ran("web4", hostsFile),
      { host: "db1", status: "unreachable", error: "refused", durationMs: 0 } as HostResult,
    ];
    assert.equal(
      renderCommandDiff(exec, results, false),
      [
        "--- web[1-2,4] (most common)",
        "+++ web3",
        "@@ -1,3 +1,3 @@",
        " 127.0.0.1 localhost",
        " 10.0.0.1 web",
        "-10.0.0.2 db",
        "+10.0.0.9 db",
        "db1: unreachable: refused",
      ].join("\n"),
    );
  });
  await t.step("differing exit codes get their own line", () => {
    const results = [ran("web1", "6.1\n"), ran("web2", "6.1\n"), ran("web3", "", 127)];
    assert.equal(
      renderCommandDiff(exec, results, false),
      [
        "exit code: 0 (web[1-2]) vs 127 (web3)",
        "--- web[1-2] (most common)",
        "+++ web3",
        "@@ -1 +0,0 @@",
        "-6.1",
      ].join("\n"),
    );
  });
  await t.step("all agree: the hosts, then the common output", () => {
    assert.equal(
      renderCommandDiff(exec, [ran("web1", "6.1\n"), ran("web2", "6.1\n")], false),
      "All 2 hosts agree: web[1-2]\n6.1",
    );
  });
  await t.step("remote control characters are shown escaped", () => {
    const text = renderCommandDiff(exec, [
      ran("a", "x\n"),
      ran("b", "x\n"),
      ran("c", "\x1b]52;c;AA\x07\n"),
    ], false);
    assert.match(text, /^\+\\x1b\]52;c;AA\\x07$/m);
    assert.ok(!text.includes("\x1b"), text);
  });
});

Deno.test("renderCommandDiff() shows the common value of a metric when all agree", () => {
  const os = { platform: "linux", release: "6.1.0", arch: "x64", name: "Debian 12" };
  const ok = (host: string, data: unknown): HostResult =>
    ({ host, status: "ok", data, durationMs: 1 }) as HostResult;
  assert.equal(
    renderCommandDiff({ kind: "os" }, [ok("a1", os), ok("a2", os)], false),
    [
      "All 2 hosts agree: a[1-2]",
      "  os.platform: linux",
      "  os.release: 6.1.0",
      "  os.arch: x64",
      "  os.name: Debian 12",
    ].join("\n"),
  );
});

Deno.test("diffRecords() gives one record per group of identical answers", () => {
  const results = [
    ran("web1", "a\nb\n"),
    ran("web2", "a\nb\n"),
    ran("web3", "a\nc\n", 1),
    { host: "db1", status: "timeout", error: "no answer in 70 s", durationMs: 0 } as HostResult,
    { host: "db2", status: "timeout", error: "no answer in 70 s", durationMs: 0 } as HostResult,
  ];
  assert.deepEqual(diffRecords(exec, results), [
    {
      hosts: ["web1", "web2"],
      count: 2,
      common: true,
      status: "ok",
      error: null,
      answer: { exit_code: 0, signal: null, stdout: "a\nb" },
      differs: [],
      unified_diff: null,
    },
    {
      hosts: ["web3"],
      count: 1,
      common: false,
      status: "ok",
      error: null,
      answer: { exit_code: 1, signal: null, stdout: "a\nc" },
      differs: ["exit_code", "stdout"],
      unified_diff: "--- web[1-2] (most common)\n+++ web3\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n",
    },
    {
      hosts: ["db1", "db2"],
      count: 2,
      common: false,
      status: "timeout",
      error: "no answer in 70 s",
      answer: null,
      differs: null,
      unified_diff: null,
    },
  ]);
  assert.equal(diffExitCode(exec, results), EXIT_CODES.timeout);
  assert.equal(diffExitCode(exec, results.slice(0, 3)), EXIT_CODES.nonzero);
  assert.equal(diffExitCode(exec, results.slice(0, 2)), EXIT_CODES.ok);
});

Deno.test("rmon -- diff: one-shot comparison of real servers, text and --json", async (t) => {
  const servers = await startServers(3);
  const env = { RMON_TOKEN: TEST_TOKEN };
  const hosts = ["--yes", ...servers.map(addr)];
  // $PPID is the server's own pid: the third server prints another second line.
  const odd = servers[2]!;
  const cmd = `diff sh: echo one; [ $PPID = ${odd.pid} ] && echo other || echo two; echo three`;
  try {
    await t.step("text: a unified diff against the two that agree; exit 1", async () => {
      const run = await runClient([...hosts, "--", cmd], { env });
      assert.equal(run.code, EXIT_CODES.nonzero, run.stderr);
      const common = `127\\.0\\.0\\.1:\\[?[\\d,-]+\\]? \\(most common\\)`;
      assert.match(run.stdout, new RegExp(`^--- ${common}\\n\\+\\+\\+ ${addr(odd)}\\n`, "m"));
      assert.match(run.stdout, /^@@ -1,3 \+1,3 @@\n one\n-two\n\+other\n three$/m);
    });
    await t.step("--json: one record per group, the common one first", async () => {
      const run = await runClient(["--json", ...hosts, "--", cmd], { env });
      assert.equal(run.code, EXIT_CODES.nonzero, run.stderr);
      const records = ndjson(run.stdout);
      assert.equal(records.length, 2, run.stdout);
      assert.equal(records[0]!.common, true);
      assert.equal(records[0]!.count, 2);
      assert.deepEqual(records[1]!.hosts, [addr(odd)]);
      assert.deepEqual(records[1]!.differs, ["stdout"]);
      assert.match(String(records[1]!.unified_diff), /^-two\n\+other\n/m);
    });
    await t.step("diff os: all agree, with the common value; exit 0", async () => {
      const run = await runClient([...servers.map(addr), "--", "diff os"], { env });
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      assert.match(run.stdout, /^All 3 hosts agree: /m);
      assert.match(run.stdout, /^ {2}os\.platform: linux$/m);
    });
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  }
});
