/**
 * Unit tests of `rmon-server`'s command-line parsing (no permissions needed).
 * @module
 */

import assert from "node:assert/strict";
import { UsageError } from "../lib/usage.ts";
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
    maxUploadBytes: 1024 ** 3,
    authTimeoutMs: TIMEOUTS.authDeadlineMs,
    writeTimeoutMs: TIMEOUTS.writeMs,
    idleTimeoutMs: TIMEOUTS.idleMs,
    maxConnections: LIMITS.connections,
    execEnv: [],
    startups: { start: 10, rate: 30, full: 64 },
    startupsPerSource: 8,
    penaltyMs: 1_000,
    maxPenaltyMs: 600_000,
    genToken: undefined,
    nats: [],
    natsCreds: undefined,
    natsHeartbeatMs: 5000,
    natsTokenFile: undefined,
    natsCa: undefined,
    name: undefined,
    groups: [],
    fleet: undefined,
    listen: true,
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
    // On the bus the token still MACs the messages, so --no-token takes a token file there.
    [[
      "--nats",
      "nats://127.0.0.1:4222",
      "--authorized-keys",
      "k",
      "--no-token",
      "--token-file",
      "t",
    ], { noToken: true, tokenFile: "t" }],
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
    [["--write-timeout", "250ms"], { writeTimeoutMs: 250 }],
    [["--idle-timeout=0"], { idleTimeoutMs: 0 }],
    [["--max-startups-per-source", "2"], { startupsPerSource: 2 }],
    [["--penalty", "0"], { penaltyMs: 0 }],
    [["--max-penalty", "5s"], { maxPenaltyMs: 5000 }],
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
  await t.step("--max-startups START:RATE:FULL or N", () => {
    assert.deepEqual(parseServerArgs(["--max-startups", "5:50:20"]).startups, {
      start: 5,
      rate: 50,
      full: 20,
    });
    assert.deepEqual(parseServerArgs(["--max-startups=16"]).startups, {
      start: 16,
      rate: 100,
      full: 16,
    });
  });
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
    [["--write-timeout", "0"], /Invalid --write-timeout: "0" is not a positive duration/],
    [["--idle-timeout", "-5"], /Invalid --idle-timeout/],
    [["--max-startups", "10:30"], /Invalid --max-startups: Cannot parse "10:30"/],
    [["--max-startups", "20:30:10"], /Invalid --max-startups/],
    [["--max-startups", "1:101:5"], /Invalid --max-startups/],
    [["--max-startups", "0"], /Invalid --max-startups/],
    [["--max-startups-per-source", "0"], /Invalid --max-startups-per-source/],
    [["--penalty", "x"], /Invalid --penalty/],
    [["--host", ""], /Invalid --host: empty address/],
    [["--quiet", "--verbose"], /--quiet and --verbose conflict/],
    [["--tls-cert", "c.pem"], /--tls-cert and --tls-key go together/],
    [["--no-token"], /--no-token needs --authorized-keys/],
    [
      ["--no-token", "--authorized-keys", "k", "--token-file", "t"],
      /--no-token and --token-file conflict/,
    ],
    [
      ["--no-token", "--authorized-keys", "k", "--nats", "nats://127.0.0.1:4222"],
      /--nats with --no-token needs --token-file: bus messages are still MACed/,
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
