/**
 * Unit tests of `rmon-server`'s command-line parsing (no permissions needed).
 * @module
 */

import assert from "node:assert/strict";
import { UsageError } from "../lib/errors.ts";
import { parseServerArgs } from "../lib/server/options.ts";
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  FRAME_LIMITS,
  LIMITS,
  TIMEOUTS,
} from "../lib/protocol/constants.ts";

Deno.test("parseServerArgs() gives secure defaults", () => {
  assert.deepEqual(parseServerArgs([]), {
    host: DEFAULT_HOST,
    port: DEFAULT_PORT,
    tokenFile: undefined,
    authorizedKeys: undefined,
    noToken: false,
    auditLog: undefined,
    tls: false,
    tlsCert: undefined,
    tlsKey: undefined,
    insecurePlaintext: false,
    readOnly: false,
    logLevel: "normal",
    maxFrameBytes: FRAME_LIMITS.postAuth,
    maxOutputBytes: LIMITS.execOutputBytes,
    authTimeoutMs: TIMEOUTS.authDeadlineMs,
    maxConnections: LIMITS.connections,
    execEnv: [],
    genToken: undefined,
    help: false,
    version: false,
  });
  assert.equal(DEFAULT_HOST, "127.0.0.1", "loopback unless told otherwise");
});

Deno.test("parseServerArgs() reads every option in both value forms", async (t) => {
  const cases: [string[], Partial<ReturnType<typeof parseServerArgs>>][] = [
    [["--host", "0.0.0.0"], { host: "0.0.0.0", tls: true }],
    [["--host=::"], { host: "::", tls: true }],
    [["--host", "10.0.0.5", "--insecure-plaintext"], { tls: false, insecurePlaintext: true }],
    [["--tls"], { tls: true }],
    [["--authorized-keys", "/etc/rmon/keys", "--no-token"], {
      authorizedKeys: "/etc/rmon/keys",
      noToken: true,
    }],
    [["--audit-log=/var/log/rmon.jsonl"], { auditLog: "/var/log/rmon.jsonl" }],
    [["--tls-cert", "c.pem", "--tls-key", "k.pem"], {
      tls: true,
      tlsCert: "c.pem",
      tlsKey: "k.pem",
    }],
    [["--port", "0"], { port: 0 }],
    [["--port=5051"], { port: 5051 }],
    [["--token-file", "/etc/rmon/token"], { tokenFile: "/etc/rmon/token" }],
    [["--gen-token", "fleet.token"], { genToken: "fleet.token" }],
    [["--read-only"], { readOnly: true }],
    [["--max-frame", "2048"], { maxFrameBytes: 2048 }],
    [["--max-output=1000"], { maxOutputBytes: 1000 }],
    [["--auth-timeout", "0.8"], { authTimeoutMs: 800 }],
    [["--auth-timeout", "800ms"], { authTimeoutMs: 800 }],
    [["--auth-timeout=30s"], { authTimeoutMs: 30_000 }],
    [["--auth-timeout", "300"], { authTimeoutMs: 300_000 }],
    [["--max-connections", "10"], { maxConnections: 10 }],
    [["--quiet"], { logLevel: "quiet" }],
    [["--verbose"], { logLevel: "verbose" }],
    [["-h"], { help: true }],
    [["--help"], { help: true }],
    [["-V"], { version: true }],
    [["--version"], { version: true }],
  ];
  for (const [args, want] of cases) {
    await t.step(args.join(" "), () => {
      const got = parseServerArgs(args);
      for (const [key, value] of Object.entries(want)) {
        assert.equal(got[key as keyof typeof got], value, key);
      }
    });
  }
});

Deno.test("parseServerArgs() rejects bad arguments with one clear line", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--prot", "5050"], /unknown option "--prot"/],
    [["-x"], /unknown option "-x"/],
    [["5050"], /unexpected "5050"/],
    [["--port"], /--port needs a value/],
    [["--port", "1", "--port", "2"], /--port is given twice/],
    [["--read-only=yes"], /--read-only takes no value/],
    [["--port", "http"], /Invalid --port: "http" is not a whole number/],
    [["--port", "70000"], /Invalid --port: "70000" is above 65535/],
    [["--port", "-1"], /Invalid --port/],
    [["--max-frame", "10"], /Invalid --max-frame: "10" is not a whole number >= 1024/],
    [["--auth-timeout", "1.5x"], /Invalid --auth-timeout: "1.5x" is not a duration/],
    [["--auth-timeout", "0"], /Invalid --auth-timeout: "0" is not a positive duration/],
    [
      ["--auth-timeout", "10000"],
      /"10000" is over 300 seconds \(it is in seconds now; for milliseconds write 10000ms\)/,
    ],
    [["--host", ""], /Invalid --host: empty address/],
    [["--quiet", "--verbose"], /--quiet and --verbose conflict/],
    [["--tls-cert", "c.pem"], /--tls-cert and --tls-key go together/],
    [["--no-token"], /--no-token needs --authorized-keys/],
    [
      ["--no-token", "--authorized-keys", "k", "--token-file", "t"],
      /--no-token and --token-file conflict/,
    ],
    [["--tls-key", "k.pem"], /--tls-cert and --tls-key go together/],
    [["--host", "0.0.0.0", "--tls", "--insecure-plaintext"], /conflicts with --tls/],
    [["--insecure-plaintext"], /is for non-loopback addresses/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), () => {
      assert.throws(
        () => parseServerArgs(args),
        (err) => err instanceof UsageError && message.test(err.message),
      );
    });
  }
});
