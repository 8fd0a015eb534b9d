/**
 * TLS end to end: real `rmon-server --tls` processes and the real client
 * (one-shot, `--json`): the generated certificate, pinning, trust on first
 * use and its mismatch, `--ca-file`, plain/TLS mismatches named at once, and
 * channel binding against a relaying proxy with its own certificate.
 * @module
 */

import assert from "node:assert/strict";
import * as tls from "node:tls";
import { fingerprintOfPem, formatFingerprint } from "../lib/protocol/fingerprint.ts";
import {
  bannerFingerprint,
  byteRelay,
  type ClientRun,
  makeCaSignedServer,
  relayingProxy,
  runClient,
  startServer,
  TEST_TOKEN,
} from "./helpers.ts";

/** The one NDJSON record of a one-shot run against one host. */
function onlyRecord(run: ClientRun): Record<string, unknown> {
  const lines = run.stdout.trim().split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `expected one record, got: ${run.stdout}${run.stderr}`);
  return JSON.parse(lines[0]!);
}

/** `rmon --json [args] --hosts 127.0.0.1:PORT -- name`, with the test token. */
function nameQuery(port: number, args: string[], env: Record<string, string> = {}) {
  return runClient(["--json", ...args, "--hosts", `127.0.0.1:${port}`, "--", "name"], {
    env: { RMON_TOKEN: TEST_TOKEN, ...env },
  });
}

/** A folder for one test's state (HOME, known hosts, certificates); removed on dispose. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "rmon-tls-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** The certificate a TLS server presents, as Node reports it. */
function peerCertificate(port: number): Promise<tls.DetailedPeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    socket.once("secureConnect", () => {
      resolve(socket.getPeerCertificate(true));
      socket.destroy();
    });
    socket.once("error", reject);
  });
}

Deno.test("rmon-server --tls makes its certificate once and prints its fingerprint", async () => {
  await using dir = await tempDir();
  const env = { HOME: dir.path, XDG_STATE_HOME: `${dir.path}/state` };
  const certPath = `${dir.path}/state/rmon/tls_cert.pem`;
  const keyPath = `${dir.path}/state/rmon/tls_key.pem`;
  let first: string;
  {
    await using server = await startServer({ args: ["--tls"], env });
    first = bannerFingerprint(server);
    assert.match(server.banner.join("\n"), /generated a self-signed certificate/);
    assert.equal(first, await fingerprintOfPem(await Deno.readTextFile(certPath)));
    assert.equal((await Deno.stat(keyPath)).mode! & 0o777, 0o600);
    // The connect command (from a checkout: deno task client --) and the fingerprint stand on
    // one line.
    assert.ok(
      server.banner.some((l) =>
        l.includes(`Connect with:  deno task client -- --fingerprint sha256:${first}`)
      ),
      server.banner.join("\n"),
    );
    const cert = await peerCertificate(server.port);
    assert.equal(cert.ca, false, "basicConstraints CA:FALSE");
    assert.match(cert.subjectaltname ?? "", /IP Address:127\.0\.0\.1/);
    assert.match(cert.subjectaltname ?? "", /DNS:localhost/);
  }
  await using again = await startServer({ args: ["--tls"], env });
  assert.equal(bannerFingerprint(again), first, "the certificate is kept across restarts");
  assert.doesNotMatch(again.banner.join("\n"), /generated/);
});

Deno.test("a pinned fingerprint is required to match before any protocol byte", async (t) => {
  await using server = await startServer({ args: ["--tls", "--penalty", "0"] });
  const fp = bannerFingerprint(server);

  await t.step("the right pin connects over TLS", async () => {
    const run = await nameQuery(server.port, ["--fingerprint", `sha256:${fp}`]);
    assert.equal(onlyRecord(run).status, "ok");
    assert.equal(run.code, 0);
  });

  await t.step("a pin pasted as openssl prints it works too", async () => {
    const colons = fp.toUpperCase().match(/../g)!.join(":");
    const run = await nameQuery(server.port, ["--fingerprint", colons]);
    assert.equal(onlyRecord(run).status, "ok");
  });

  await t.step("a wrong pin is refused, naming both fingerprints", async () => {
    const wrong = "ab".repeat(32);
    const before = server.stderr();
    const run = await nameQuery(server.port, ["--fingerprint", `sha256:${wrong}`]);
    const record = onlyRecord(run);
    assert.equal(record.status, "auth_failed");
    assert.match(String(record.error), new RegExp(`sha256:${fp}`));
    assert.match(String(record.error), new RegExp(`pinned sha256:${wrong}`));
    assert.equal(run.code, 3);
    // The server never saw an auth attempt: the client left after the TLS handshake.
    const logged = server.stderr().slice(before.length);
    assert.doesNotMatch(logged, /wrong token/);
  });
});

Deno.test("trust on first use: recorded, then trusted, then a change is refused", async () => {
  await using dir = await tempDir();
  const knownHosts = `${dir.path}/known_hosts`;
  const args = ["--tls", "--known-hosts", knownHosts];
  const first = await startServer({ args: ["--tls"] });
  const port = first.port;
  const fp1 = bannerFingerprint(first);
  try {
    const run = await nameQuery(port, args);
    assert.equal(onlyRecord(run).status, "ok");
    assert.equal(await Deno.readTextFile(knownHosts), `127.0.0.1:${port} sha256:${fp1}\n`);
    assert.equal((await Deno.stat(knownHosts)).mode! & 0o777, 0o600);
    assert.equal(onlyRecord(await nameQuery(port, args)).status, "ok", "second use");
  } finally {
    await first[Symbol.asyncDispose]();
  }
  // Another server (another certificate) now answers at the same address.
  await using impostor = await startServer({ args: ["--tls"], port });
  const fp2 = bannerFingerprint(impostor);
  assert.notEqual(fp2, fp1);
  const run = await nameQuery(port, args);
  const record = onlyRecord(run);
  assert.equal(record.status, "auth_failed");
  const error = String(record.error);
  assert.match(error, /CERTIFICATE HAS CHANGED/);
  assert.ok(error.includes(`sha256:${fp1}`) && error.includes(`sha256:${fp2}`), error);
  assert.ok(error.includes(`delete line 1 of ${knownHosts}`), error);
  assert.equal(run.code, 3);
  // Nothing was overwritten.
  assert.equal(await Deno.readTextFile(knownHosts), `127.0.0.1:${port} sha256:${fp1}\n`);
});

Deno.test("--ca-file verifies the server against a CA", async (t) => {
  await using dir = await tempDir();
  const pki = await makeCaSignedServer();
  const other = await makeCaSignedServer();
  const files = {
    ca: `${dir.path}/ca.pem`,
    otherCa: `${dir.path}/other-ca.pem`,
    cert: `${dir.path}/server.pem`,
    key: `${dir.path}/server.key`,
  };
  await Deno.writeTextFile(files.ca, pki.caPem);
  await Deno.writeTextFile(files.otherCa, other.caPem);
  await Deno.writeTextFile(files.cert, pki.certPem);
  await Deno.writeTextFile(files.key, pki.keyPem, { mode: 0o600 });
  await using server = await startServer({
    args: ["--tls-cert", files.cert, "--tls-key", files.key, "--penalty", "0"],
  });
  assert.equal(bannerFingerprint(server), await fingerprintOfPem(pki.certPem));

  await t.step("the right CA connects", async () => {
    const run = await nameQuery(server.port, ["--ca-file", files.ca]);
    assert.equal(onlyRecord(run).status, "ok", run.stdout);
  });

  await t.step("another CA is refused as a trust failure", async () => {
    const run = await nameQuery(server.port, ["--ca-file", files.otherCa]);
    const record = onlyRecord(run);
    assert.equal(record.status, "auth_failed");
    assert.match(String(record.error), /certificate refused/);
  });

  await t.step("a key file others can read is refused at start", async () => {
    await Deno.chmod(files.key, 0o644);
    await assert.rejects(
      startServer({ args: ["--tls-cert", files.cert, "--tls-key", files.key] }),
      /mode 0644 lets group or others access it/,
    );
  });
});

Deno.test("a plain client at a TLS port and a TLS client at a plain port are told which", async (t) => {
  await t.step("plain to TLS", async () => {
    await using server = await startServer({ args: ["--tls"] });
    const run = await nameQuery(server.port, []);
    assert.match(String(onlyRecord(run).error), /the server speaks TLS; connect with --tls/);
  });
  await t.step("TLS to plain", async () => {
    await using server = await startServer();
    const run = await nameQuery(server.port, ["--tls"]);
    assert.match(String(onlyRecord(run).error), /the server speaks plain TCP, not TLS/);
  });
});

Deno.test("rmon-server off loopback serves TLS unless told --insecure-plaintext, loudly", async (t) => {
  await t.step("0.0.0.0 gets TLS by default", async () => {
    await using server = await startServer({ args: ["--host", "0.0.0.0"] });
    assert.match(server.banner.join("\n"), /listening on 0\.0\.0\.0:\d+ \(TLS\)/);
    const fp = bannerFingerprint(server);
    const run = await nameQuery(server.port, ["--fingerprint", fp]);
    assert.equal(onlyRecord(run).status, "ok");
  });
  await t.step("--insecure-plaintext warns at every start", async () => {
    await using server = await startServer({ args: ["--host", "0.0.0.0", "--insecure-plaintext"] });
    assert.match(server.stderr(), /WARNING: serving plain TCP on 0\.0\.0\.0:\d+/);
    assert.doesNotMatch(server.banner.join("\n"), /\(TLS\)/);
  });
});

Deno.test("channel binding: a relaying proxy with its own certificate cannot authenticate", async (t) => {
  await using server = await startServer({ args: ["--tls", "--penalty", "0"] });
  const fingerprint = bannerFingerprint(server);

  await t.step("control: relaying the TLS bytes untouched works", async () => {
    await using relay = byteRelay(server.port);
    const run = await nameQuery(relay.port, ["--fingerprint", fingerprint]);
    assert.equal(onlyRecord(run).status, "ok");
  });

  await t.step("terminating TLS with another certificate fails auth", async () => {
    await using proxy = await relayingProxy({ port: server.port, fingerprint });
    // The client trusts the proxy's certificate (as a victim of first use would) and has the token.
    const run = await nameQuery(proxy.port, [
      "--fingerprint",
      formatFingerprint(proxy.fingerprint),
    ]);
    const record = onlyRecord(run);
    assert.equal(record.status, "auth_failed", JSON.stringify(record));
    assert.match(server.stderr(), /auth failed: Authentication failed: wrong token/);
  });
});
