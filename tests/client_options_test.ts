/**
 * Unit tests of `rmon`'s command-line parsing (no permissions needed).
 * @module
 */

import assert from "node:assert/strict";
import { EXIT_CODES, UsageError } from "../lib/usage.ts";
import { parseClientArgs } from "../lib/client/options.ts";
import { DEFAULT_FANOUT } from "../lib/client/fleet.ts";
import { forgottenDashes } from "../lib/client/setup.ts";

Deno.test("parseClientArgs() defaults to the console with separate timeouts", () => {
  const opts = parseClientArgs([]);
  assert.equal(opts.command, null);
  assert.deepEqual(opts.addresses, []);
  assert.equal(opts.timeoutMs, 60_000);
  assert.equal(opts.connectTimeoutMs, 5_000);
  assert.equal(opts.waitMs, 70_000, "the client waits longer than the server's own timeout");
  assert.equal(opts.fanout, DEFAULT_FANOUT);
  assert.equal(opts.json, false);
  assert.equal(opts.raw, false, "remote control characters are escaped on a terminal by default");
  assert.equal(opts.yes, false);
});

Deno.test("parseClientArgs() reads hosts, one-shot commands and options", async (t) => {
  await t.step("positionals and --hosts lists combine", () => {
    const opts = parseClientArgs(["-H", "a,b:5051", "--hosts", "c", "d"]);
    assert.deepEqual(opts.addresses, ["a", "b:5051", "c", "d"]);
  });
  await t.step("everything after -- is one command line", () => {
    const opts = parseClientArgs(["--json", "--", "@web*", "sh:", "ls", "-l"]);
    assert.equal(opts.command, "@web* sh: ls -l");
    assert.equal(opts.json, true);
  });
  await t.step("--max-record-output: 1 MiB by default, sizes with units", () => {
    assert.equal(parseClientArgs(["--json", "--", "ram"]).maxRecordOutput, 1024 * 1024);
    const opts = parseClientArgs(["--json", "--max-record-output", "64k", "--", "ram"]);
    assert.equal(opts.maxRecordOutput, 65536);
    assert.equal(
      parseClientArgs(["--json", "--max-record-output", "0", "--", "ram"]).maxRecordOutput,
      0,
    );
  });
  await t.step("output modes and per-host output directories", () => {
    assert.equal(parseClientArgs(["--", "ram"]).outputMode, "both");
    assert.equal(parseClientArgs(["-b", "--", "ram"]).outputMode, "gather");
    assert.equal(parseClientArgs(["--gather", "--", "ram"]).outputMode, "gather");
    assert.equal(parseClientArgs(["--stream", "--", "ram"]).outputMode, "stream");
    assert.equal(parseClientArgs(["--", "ram"]).noPrefix, false);
    assert.equal(parseClientArgs(["--no-prefix", "--", "ram"]).noPrefix, true);
    const opts = parseClientArgs(["-o", "out", "-e", "err", "--json", "--", "sh: ls"]);
    assert.equal(opts.outDir, "out");
    assert.equal(opts.errDir, "err");
    assert.equal(parseClientArgs(["--outdir", "o", "--errdir", "e", "--", "x"]).errDir, "e");
  });
  await t.step("--list-hosts and --max-exit", () => {
    const opts = parseClientArgs(["--list-hosts", "--max-exit", "--", "@web*"]);
    assert.equal(opts.listHosts, true);
    assert.equal(opts.maxExit, true);
    assert.equal(parseClientArgs([]).listHosts, false);
    assert.equal(parseClientArgs([]).maxExit, false);
  });
  await t.step("--raw lets remote control characters through", () => {
    assert.equal(parseClientArgs(["--raw", "--", "sh: cat log"]).raw, true);
  });
  await t.step("options after -- belong to the command", () => {
    assert.equal(parseClientArgs(["--", "sh: grep --json x"]).command, "sh: grep --json x");
  });
  await t.step("timeouts in seconds, wait following the timeout", () => {
    const opts = parseClientArgs(["--timeout", "2.5", "--connect-timeout", "1"]);
    assert.equal(opts.timeoutMs, 2_500);
    assert.equal(opts.connectTimeoutMs, 1_000);
    assert.equal(opts.waitMs, 12_500);
    assert.equal(parseClientArgs(["--wait", "3"]).waitMs, 3_000);
    assert.equal(parseClientArgs(["--wait", "90s"]).waitMs, 90_000);
    assert.equal(parseClientArgs(["--connect-timeout", "500ms"]).connectTimeoutMs, 500);
  });
  await t.step("TLS settings", () => {
    const fp = "ab".repeat(32);
    const opts = parseClientArgs(["--fingerprint", `sha256:${fp}`, "--known-hosts", "/k", "--tls"]);
    assert.equal(opts.fingerprint, fp);
    assert.equal(opts.knownHosts, "/k");
    assert.equal(opts.tls, true);
    assert.equal(opts.insecurePlaintext, false);
    assert.equal(parseClientArgs(["--ca-file", "/ca.pem"]).caFile, "/ca.pem");
    assert.equal(parseClientArgs(["--insecure-plaintext"]).insecurePlaintext, true);
  });
  await t.step("token sources, port, fanout, yes", () => {
    const opts = parseClientArgs(["--token-file", "/t", "-p", "6000", "--fanout", "8", "-y"]);
    assert.equal(opts.tokenFile, "/t");
    assert.equal(opts.port, 6000);
    assert.equal(parseClientArgs([]).port, undefined, "unset: the inventory's default applies");
    assert.equal(opts.fanout, 8);
    assert.equal(opts.yes, true);
  });
});

Deno.test("parseClientArgs() rejects bad arguments as usage errors (exit 2)", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--nope"], /Invalid arguments/],
    [["--token-file", "a", "--token", "b"], /at most one of/],
    [["--timeout", "0"], /Invalid --timeout/],
    [["--wait", "soon"], /Invalid --wait/],
    [["--fanout", "0"], /Invalid --fanout/],
    [["--port", "70000"], /Invalid --port/],
    [["--"], /no command after --/],
    [["--tls", "--insecure-plaintext"], /--tls and --insecure-plaintext conflict/],
    [["--fingerprint", "sha256:abc"], /Invalid --fingerprint/],
    [["--fingerprint", "ab".repeat(32), "--ca-file", "ca.pem"], /at most one of --fingerprint/],
    [["-b", "--stream", "--", "ram"], /--gather and --stream conflict/],
    [["--gather", "--json", "--", "ram"], /--gather and --json conflict/],
    [["--stream", "--json", "--", "ram"], /--stream and --json conflict/],
    [["-b"], /--gather works only in one-shot mode/],
    [["--no-prefix", "--json", "--", "ram"], /--no-prefix and --json conflict/],
    [["--no-prefix", "-b", "--", "ram"], /--no-prefix and --gather conflict/],
    [["--no-prefix"], /--no-prefix works only in one-shot mode/],
    [["--max-record-output", "64k", "--", "ram"], /--max-record-output works only with --json/],
    [["--json", "--max-record-output", "1.5m", "--", "ram"], /Invalid --max-record-output: /],
    [["-o", "out"], /--outdir works only in one-shot mode/],
    [["--stdin", "127.0.0.1:7101"], /--stdin works only in one-shot mode/],
    [["--max-exit"], /--max-exit works only in one-shot mode/],
    [["-e", "", "--", "ram"], /Invalid --errdir: the directory name is empty/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), () => {
      assert.throws(
        () => parseClientArgs(args),
        (err) =>
          err instanceof UsageError && err.exitCode === EXIT_CODES.usage &&
          message.test(err.message),
      );
    });
  }
});

Deno.test("parseClientArgs() words option errors itself, without node's advice", () => {
  const cases: [string[], string][] = [
    [["--bogus"], 'Invalid arguments: unknown option "--bogus"'],
    [["-x"], 'Invalid arguments: unknown option "-x"'],
    [["--inventory"], "Invalid arguments: --inventory needs a value"],
    [["--json=1"], "Invalid arguments: --json takes no value"],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseClientArgs(argv), { name: "UsageError", message }, argv.join(" "));
  }
});

Deno.test("forgottenDashes() spots a command typed without -- before it", () => {
  const hint = (addresses: string[], names: string[] = []) => forgottenDashes(addresses, names);
  assert.equal(
    hint(["127.0.0.1:7101", "ram"]),
    'Invalid host "ram": it is a command, not a server; did you mean "-- ram"?',
  );
  assert.equal(
    hint(["web1", "sh:", "uptime", "-a"]),
    'Invalid host "sh:": it is a command, not a server; did you mean "-- sh: uptime -a"?',
  );
  assert.match(hint(["web1", "PING", "::1"]) ?? "", /did you mean "-- PING ::1"\?$/);
  assert.match(hint(["web1", "dos:dir"]) ?? "", /did you mean "-- dos:dir"\?$/);
  assert.match(
    hint(["@web*", "cpu"]) ?? "",
    /it is a target, not a server; did you mean "-- @web\* cpu"/,
  );
  assert.equal(hint(["web1", "ram:5050", "db1"]), null, "a port makes it an address");
  assert.equal(hint(["ram"], ["RAM"]), null, "an inventory host of that name");
  assert.equal(hint([]), null);
});
