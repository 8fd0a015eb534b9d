/**
 * Tests of `rmon bootstrap`. The pure plan (arguments, uname → target, the
 * scripts) as units; then for real: two private `sshd`s (own host keys,
 * authorized_keys and config in a temp dir) on two loopback addresses stand
 * for two hosts, and the client bootstraps both over them end to end. No
 * compiled binary can exist here (deno compile cannot fetch its runtime), so
 * the "rmon-server" in the release folder is a wrapper that runs server.ts
 * with the build's flags (writeEntryWrapper); there is no systemd either, so
 * the servers start with nohup, and the records say so.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  installScript,
  parseBootstrapArgs,
  parseInstallOutput,
  parseProbe,
  probeScript,
  remoteLayout,
  serverArgs,
  targetFromArg,
  targetOfUname,
} from "../lib/client/bootstrap_plan.ts";
import { bootstrapExitCode, bootstrapTable, collectTargets } from "../lib/client/bootstrap.ts";
import { findOperatorKey, keysToInstall } from "../lib/client/bootstrap_credentials.ts";
import { RMON_VERSION } from "../lib/protocol/constants.ts";
import { generateToken, writeTokenFile } from "../lib/token_file.ts";
import { generateIdentity, writeIdentity } from "../lib/client/identity.ts";
import { UsageError } from "../lib/usage.ts";
import { delay } from "../lib/async.ts";
import { ndjson, runClient, writeEntryWrapper } from "./helpers.ts";

const decoder = new TextDecoder();

Deno.test("targetOfUname() maps uname -sm to release targets", () => {
  assert.equal(targetOfUname("Linux x86_64\n"), "x86_64-unknown-linux-gnu");
  assert.equal(targetOfUname("Linux aarch64"), "aarch64-unknown-linux-gnu");
  assert.equal(targetOfUname("Darwin arm64"), "aarch64-apple-darwin");
  assert.equal(targetOfUname("Darwin x86_64"), "x86_64-apple-darwin");
  assert.equal(targetOfUname("Linux armv7l"), null);
  assert.equal(targetOfUname("FreeBSD amd64"), null);
});

Deno.test("targetFromArg() reads [USER@]HOST[:PORT]", () => {
  assert.deepEqual(targetFromArg("ops@web1:6000", 5050), {
    name: "web1:6000",
    sshTarget: "ops@web1",
    hostname: "web1",
    port: 6000,
  });
  assert.deepEqual(targetFromArg("[::1]:7000", 5050).sshTarget, "::1");
  assert.deepEqual(targetFromArg("db", 5050).port, 5050);
  assert.throws(() => targetFromArg("a b@web", 5050), UsageError);
});

Deno.test("parseBootstrapArgs() options and refusals", async (t) => {
  const o = parseBootstrapArgs([
    "--ssh-option",
    "Port=22",
    "--ssh-option=User=ops",
    "--no-service",
    "--listen",
    "target",
    "--json",
    "h1",
    "h2",
  ]);
  assert.deepEqual([o.sshOptions, o.hosts, o.noService, o.listen, o.json], [
    ["Port=22", "User=ops"],
    ["h1", "h2"],
    true,
    "target",
    true,
  ]);
  const bad: [string[], RegExp][] = [
    [[], /needs hosts or --inventory FILE/],
    [["-i", "f.toml", "h1"], /hosts or --inventory, not both/],
    [["--port", "0", "h"], /--port: "0" is not a number from 1 to 65535/],
    [["--remote-dir", "rel", "h"], /must start with \/ or ~\//],
    [["--bogus", "h"], /unknown option "--bogus"/],
    [["--ssh-option"], /--ssh-option needs a value/],
  ];
  for (const [args, message] of bad) {
    await t.step(args.join(" ") || "(nothing)", () => {
      assert.throws(() => parseBootstrapArgs(args), (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, message);
        return true;
      });
    });
  }
});

Deno.test("probeScript() run by sh here reads back as this machine", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-probe-" });
  try {
    const layout = remoteLayout("nohup", "h", `${dir}/%h`);
    const out = await new Deno.Command("sh", { args: ["-c", probeScript([layout])] }).output();
    const probe = parseProbe(decoder.decode(out.stdout));
    const uname = decoder.decode(
      (await new Deno.Command("uname", { args: ["-sm"] }).output()).stdout,
    );
    assert.equal(probe.uname, uname.trim());
    assert.equal(probe.uid, Deno.uid());
    assert.deepEqual(probe.installed.nohup, {
      version: "",
      running: false,
      tokenSha: "",
      keysSha: "",
    });
    assert.match(probe.staging, /rmon-bootstrap\./);
    await Deno.remove(probe.staging);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("installScript() quotes every value and reports what it did", () => {
  const layout = remoteLayout("nohup", "web 1", "~/it's/%h");
  assert.equal(layout.dir, "~/it's/web 1");
  const both = { token: true, keys: true };
  const args = serverArgs(layout, "0.0.0.0", 5050, ["--exec-env", "A B"], both);
  const script = installScript({
    layout,
    staging: "/tmp/s x",
    args,
    credentials: both,
    install: true,
  });
  assert.ok(script.includes(`"$HOME"/'it'\\''s/web 1/rmon-server'`), script);
  assert.ok(script.includes(`'--exec-env' 'A B'`));
  assert.ok(script.includes(`trap 'rm -rf '\\''/tmp/s x'\\''' EXIT`), script);
  const service = installScript({
    layout: remoteLayout("systemd", "h"),
    staging: "/tmp/s",
    args: [],
    credentials: { token: true, keys: false },
    install: true,
  });
  assert.match(service, /'\/usr\/local\/bin\/rmon-server' service install --exe/);
  // A credential not installed is removed: no stale token or key stays in force.
  assert.match(service, /cp '\/tmp\/s'\/token '\/var\/lib\/rmon\/.token.new' && chmod 600/);
  assert.match(service, /rm -f '\/var\/lib\/rmon\/authorized_keys'/);
  assert.match(script, /chmod 600 "\$HOME"\/'it'\\''s\/web 1\/.authorized_keys.new'/);
  assert.deepEqual(
    parseInstallOutput("fingerprint=sha256:ab\nservice=Wrote x\nservice=Ran: y\nstarted=systemd\n"),
    { fingerprint: "sha256:ab", started: "systemd", service: ["Wrote x", "Ran: y"] },
  );
});

Deno.test("serverArgs() names the credentials the host gets", () => {
  const layout = remoteLayout("nohup", "h", "/srv/rmon");
  const auth = (token: boolean, keys: boolean) =>
    serverArgs(layout, "0.0.0.0", 5050, [], { token, keys })
      .filter((a) => /token|keys/.test(a)).join(" ");
  assert.equal(auth(true, false), "--token-file /srv/rmon/token");
  assert.equal(auth(false, true), "--authorized-keys /srv/rmon/authorized_keys --no-token");
  assert.equal(
    auth(true, true),
    "--token-file /srv/rmon/token --authorized-keys /srv/rmon/authorized_keys",
  );
});

Deno.test("findOperatorKey() and keysToInstall(): the default key, --identity, files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-opkey-" });
  try {
    const env = (n: string) => ({ XDG_CONFIG_HOME: dir, HOME: "/nonexistent" })[n];
    assert.equal(await findOperatorKey(undefined, env), null, "no default key: none");
    assert.equal(await findOperatorKey(undefined, () => undefined), null, "no home: none");
    const pair = await generateIdentity("dana@desk");
    await Deno.mkdir(join(dir, "rmon"));
    const path = join(dir, "rmon", "id_ed25519");
    await writeIdentity(path, pair);
    const found = await findOperatorKey(undefined, env);
    assert.equal(found?.path, path);
    assert.equal(found?.name, "dana@desk");
    assert.equal(found?.authorizedKeys, `role=admin ${pair.publicLine}`);
    assert.match(found!.id, /^SHA256:[\w-]{16}$/);
    assert.deepEqual(await keysToInstall(undefined, found), {
      text: found!.authorizedKeys,
      operatorKeyId: found!.id,
    });
    assert.equal(await keysToInstall(undefined, null), null);
    const refused = async (named: string, message: RegExp) =>
      await assert.rejects(findOperatorKey(named, env), (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, message);
        return true;
      });
    await refused(join(dir, "absent"), /Cannot read identity ".*absent"/);
    await Deno.writeTextFile(`${path}.pub`, pair.publicLine.replace(" dana@desk", ""));
    await refused(path, /\.pub" has no name/);
    await Deno.writeTextFile(`${path}.pub`, "ssh-ed25519 AAAA dana\n");
    await refused(path, /\.pub" is not an rmon public key/);
    await Deno.remove(`${path}.pub`);
    await refused(path, /Cannot read its public key ".*\.pub"/);
    await Deno.writeTextFile(`${path}.pub`, pair.publicLine);
    await Deno.chmod(path, 0o644);
    await refused(path, /mode 0644 lets group or others access it/);
    // A file of keys: the operator's id only when it is in there; an empty one is refused.
    const keysFile = join(dir, "keys");
    const other = await generateIdentity("erin@desk");
    await Deno.writeTextFile(keysFile, `role=read-only ${other.publicLine}`);
    assert.deepEqual(await keysToInstall(keysFile, found), {
      text: `role=read-only ${other.publicLine}`,
      operatorKeyId: null,
    });
    await Deno.writeTextFile(keysFile, "# nobody\n");
    await assert.rejects(keysToInstall(keysFile, found), /holds no key/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bootstrapExitCode() and bootstrapTable()", () => {
  const base = {
    address: "h:1",
    version: "0.1.0",
    "previous_version": null,
    platform: "x86_64-unknown-linux-gnu",
    service: "nohup" as const,
    "service_note": "no systemd",
    started: [],
    fingerprint: "sha256:00",
    pinned: "new" as const,
    error: null,
    "key_id": null,
    "duration_ms": 1,
  };
  const ok = {
    ...base,
    host: "a",
    status: "ok" as const,
    action: "installed" as const,
    auth: "key" as const,
  };
  const bad = {
    ...base,
    host: "bb",
    status: "error" as const,
    action: null,
    auth: null,
    error: "boom",
  };
  const away = { ...bad, host: "c", status: "unreachable" as const };
  assert.equal(bootstrapExitCode([ok]), 0);
  assert.equal(bootstrapExitCode([ok, bad]), 5);
  assert.equal(bootstrapExitCode([bad, away]), 3);
  assert.equal(
    bootstrapTable([ok, bad], false),
    "HOST  RESULT     VERSION  SERVICE             AUTH  FINGERPRINT / ERROR\n" +
      "a     installed  0.1.0    nohup (no systemd)  key   sha256:00 pinned\n" +
      "bb    error      0.1.0    nohup (no systemd)  -     boom\n",
  );
});

/** A port free on every one of `hosts` (checked by binding it on each, then letting go). */
function freePort(hosts: string[]): number {
  for (let tries = 0; tries < 50; tries++) {
    const first = Deno.listen({ hostname: hosts[0]!, port: 0 });
    const port = first.addr.port;
    const held = [first];
    try {
      for (const h of hosts.slice(1)) held.push(Deno.listen({ hostname: h, port }));
      return port;
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    } finally {
      for (const l of held) l.close();
    }
  }
  throw new Error("Cannot find a free port");
}

/** Run a program; throws with its stderr when it fails. */
async function must(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

/** Whether a TCP connection to `host:port` is accepted. */
async function accepts(hostname: string, port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname, port })).close();
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionRefused) return false;
    throw err;
  }
}

const SSHD = "/usr/sbin/sshd";
const haveSshd = (() => {
  try {
    return Deno.statSync(SSHD).isFile && Deno.uid() === 0;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
})();

/** A private sshd on `address:port`: its own host key and config under `dir`. */
async function startSshd(dir: string, address: string, port: number, authorized: string) {
  const key = join(dir, `host_key_${address}`);
  await must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const config = join(dir, `sshd_config_${address}`);
  await Deno.writeTextFile(
    config,
    [
      `ListenAddress ${address}:${port}`,
      `HostKey ${key}`,
      `AuthorizedKeysFile ${authorized}`,
      `PidFile ${join(dir, `sshd_${address}.pid`)}`,
      "StrictModes no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      // scp speaks SFTP to the host, as OpenSSH 9 does by default.
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  // sshd's privilege separation needs this folder; Debian makes it only when the service runs.
  await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const child = new Deno.Command(SSHD, {
    args: ["-D", "-e", "-f", config],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = new Response(child.stderr).text();
  for (let i = 0; i < 100 && !(await accepts(address, port)); i++) await delay(50);
  const hostKey = (await Deno.readTextFile(`${key}.pub`)).trim().split(" ").slice(0, 2).join(" ");
  return {
    knownHostsLine: `[${address}]:${port} ${hostKey}`,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch (err) {
        if (!(err instanceof TypeError)) throw err; // already gone
      }
      await child.status;
      await log;
    },
  };
}

/** Stop the nohup'd server whose pid file is `path`, if it runs. */
async function stopByPidFile(path: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await Deno.readTextFile(path)).trim());
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  try {
    Deno.kill(pid, "SIGTERM");
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  for (let i = 0; i < 100; i++) {
    try {
      Deno.kill(pid, "SIGCONT"); // only to ask whether it still exists
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    await delay(50);
  }
}

/**
 * Two "hosts" for bootstrap: private sshds on 127.0.0.2 and 127.0.0.3 (one
 * port), their rmon ports, the release folder with the server wrapper, and
 * `bootstrap(targets, more)` running `rmon bootstrap` at them over ssh with
 * nohup installs under `dir/hosts/<target>`. Dispose stops the rmon servers
 * bootstrap started and the sshds.
 */
async function sshHosts(dir: string) {
  const hosts = ["127.0.0.2", "127.0.0.3"];
  const sshPort = freePort(hosts);
  const rmonPorts = [freePort(["127.0.0.2"]), freePort(["127.0.0.3"])];
  const remote = join(dir, "hosts");
  const targets = hosts.map((h, i) => `${h}:${rmonPorts[i]}`);
  const stack = new AsyncDisposableStack();
  try {
    stack.defer(async () => {
      for (const t of targets) await stopByPidFile(join(remote, t, "rmon-server.pid"));
    });
    // The client's ssh identity, and what the two "hosts" accept.
    await must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id")]);
    const authorized = join(dir, "authorized_keys");
    await Deno.copyFile(join(dir, "id.pub"), authorized);
    const a = stack.use(await startSshd(dir, hosts[0]!, sshPort, authorized));
    const b = stack.use(await startSshd(dir, hosts[1]!, sshPort, authorized));
    await Deno.writeTextFile(
      join(dir, "ssh_known_hosts"),
      `${a.knownHostsLine}\n${b.knownHostsLine}\n`,
    );
    // The release folder: the host's "rmon-server" is the deno run wrapper (see above).
    const platform = targetOfUname(await must("uname", ["-sm"]))!;
    await writeEntryWrapper(join(dir, "dist", RMON_VERSION, platform), "server");
    const knownHosts = join(dir, "rmon_known_hosts");
    const bootstrap = (to: string[], more: string[] = []) =>
      runClient([
        "bootstrap",
        ...[
          `Port=${sshPort}`,
          "User=root",
          `IdentityFile=${join(dir, "id")}`,
          "IdentitiesOnly=yes",
          `UserKnownHostsFile=${join(dir, "ssh_known_hosts")}`,
          "GlobalKnownHostsFile=/dev/null",
          "StrictHostKeyChecking=yes",
        ].flatMap((o) => ["--ssh-option", o]),
        "--dist",
        join(dir, "dist"),
        "--known-hosts",
        knownHosts,
        "--listen",
        "target",
        "--remote-dir",
        `${remote}/%h`,
        ...more,
        ...to,
      ], { timeoutMs: 120_000 });
    const moved = stack.move();
    return {
      hosts,
      rmonPorts,
      targets,
      remote,
      platform,
      knownHosts,
      bootstrap,
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}

/** Records of a `--json` run, in host order. */
function byHost(stdout: string) {
  return ndjson(stdout).sort((x, y) => String(x.host).localeCompare(String(y.host)));
}

Deno.test({
  name: "rmon bootstrap installs two hosts over real sshd and pins them before first contact",
  ignore: !haveSshd,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "rmon-bootstrap-" });
    try {
      await using fleet = await sshHosts(dir);
      const { hosts, rmonPorts, targets, remote, knownHosts } = fleet;
      const target = fleet.platform;
      const tokenFile = join(dir, "token");
      await writeTokenFile(tokenFile, generateToken());
      // Host b already has an older rmon-server (not running): bootstrap upgrades it.
      await Deno.mkdir(join(remote, `${hosts[1]}:${rmonPorts[1]}`), { recursive: true });
      await Deno.writeTextFile(
        join(remote, `${hosts[1]}:${rmonPorts[1]}`, "rmon-server"),
        "#!/bin/sh\necho 'rmon-server 0.0.1'\n",
        { mode: 0o755 },
      );
      const bootstrap = (to: string[], more: string[] = []) =>
        fleet.bootstrap(to, ["--token-file", tokenFile, ...more]);

      const first = await bootstrap(targets, ["--json"]);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const records = byHost(first.stdout);
      assert.equal(records.length, 2);
      for (const [i, r] of records.entries()) {
        assert.equal(r.status, "ok", JSON.stringify(r));
        assert.equal(r.address, targets[i]);
        assert.equal(r.version, RMON_VERSION);
        assert.equal(r.platform, target);
        assert.equal(r.service, "nohup");
        assert.equal(r.service_note, "no systemd");
        assert.equal(r.pinned, "new");
        assert.match(String(r.fingerprint), /^sha256:[0-9a-f]{64}$/);
        assert.match((r.started as string[])[0]!, /^nohup pid \d+, log /);
        // No operator key here (a fresh HOME): the token it is.
        assert.equal(r.auth, "token");
        assert.equal(r.key_id, null);
      }
      assert.equal(records[0]!.action, "installed");
      assert.equal(records[1]!.action, "upgraded");
      assert.equal(records[1]!.previous_version, "0.0.1");
      // The token landed private; the fingerprints are recorded before any rmon connection.
      const remoteToken = join(remote, targets[0]!, "token");
      assert.equal((await Deno.stat(remoteToken)).mode! & 0o777, 0o600);
      assert.equal(await Deno.readTextFile(remoteToken), await Deno.readTextFile(tokenFile));
      const pinned = await Deno.readTextFile(knownHosts);
      for (const r of records) {
        assert.ok(pinned.includes(`${r.address} ${r.fingerprint}\n`), pinned);
      }

      // The first connection: TLS, verified against the pins (a mismatch would be refused).
      const ram = await runClient([
        "--json",
        "--tls",
        "--known-hosts",
        knownHosts,
        "--token-file",
        tokenFile,
        ...targets,
        "--",
        "ram",
      ]);
      assert.equal(ram.code, 0, ram.stdout + ram.stderr);
      assert.deepEqual(ndjson(ram.stdout).map((r) => r.status), ["ok", "ok"]);
      assert.equal(await Deno.readTextFile(knownHosts), pinned, "nothing new was trusted");

      // Again, plus a host nobody answers for: the two are left alone, the third unreachable.
      const again = await bootstrap([...targets, "127.0.0.4:5999"]);
      assert.equal(again.code, 3, again.stdout + again.stderr);
      const rows = again.stdout.trim().split("\n");
      assert.match(rows[0]!, /^HOST +RESULT +VERSION +SERVICE +AUTH +FINGERPRINT \/ ERROR$/);
      for (const [i, r] of records.entries()) {
        assert.match(
          rows[i + 1]!,
          new RegExp(
            `^${
              targets[i]
            } +unchanged +${RMON_VERSION} +nohup \\(no systemd\\) +token +${r.fingerprint} already pinned$`,
          ),
        );
      }
      assert.match(rows[3]!, /^127\.0\.0\.4:5999 +unreachable +- +- +- +.*(refused|Connection)/);
      assert.match(again.stderr, /Started with nohup on 2 host\(s\): it will not restart/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "rmon bootstrap with an operator key installs authorized_keys and refuses the token",
  ignore: !haveSshd,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "rmon-bootstrap-" });
    try {
      await using fleet = await sshHosts(dir);
      const { targets, remote, knownHosts } = fleet;
      // The operator's key, made as rmon keygen makes it (no passphrase).
      const identity = join(dir, "id_rmon");
      const pair = await generateIdentity("alice@laptop");
      await writeIdentity(identity, pair);
      const tokenFile = join(dir, "token");
      await writeTokenFile(tokenFile, generateToken());
      const ram = (credential: string[]) =>
        runClient([
          "--json",
          "--tls",
          "--known-hosts",
          knownHosts,
          ...credential,
          ...targets,
          "--",
          "ram",
        ]);

      // 1. A key and no --token-file: authorized_keys only, and the servers refuse the token.
      const first = await fleet.bootstrap(targets, ["--json", "--identity", identity]);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const records = byHost(first.stdout);
      const keyId = records[0]!.key_id;
      assert.match(String(keyId), /^SHA256:[\w-]{16}$/);
      for (const r of records) {
        assert.equal(r.status, "ok", JSON.stringify(r));
        assert.equal(r.action, "installed");
        assert.equal(r.auth, "key");
        assert.equal(r.key_id, keyId);
        assert.equal(r.pinned, "new");
      }
      for (const t of targets) {
        const keys = join(remote, t, "authorized_keys");
        assert.equal((await Deno.stat(keys)).mode! & 0o777, 0o600);
        assert.equal(await Deno.readTextFile(keys), `role=admin ${pair.publicLine}`);
        await assert.rejects(Deno.stat(join(remote, t, "token")), Deno.errors.NotFound);
      }
      const withKey = await ram(["--identity", identity]);
      assert.equal(withKey.code, 0, withKey.stdout + withKey.stderr);
      assert.deepEqual(ndjson(withKey.stdout).map((r) => r.status), ["ok", "ok"]);
      const withToken = await ram(["--token-file", tokenFile]);
      assert.equal(withToken.code, 3, withToken.stdout + withToken.stderr);
      for (const r of ndjson(withToken.stdout)) {
        assert.notEqual(r.status, "ok", JSON.stringify(r));
        assert.equal(r.error, "bad token"); // the answer a wrong token gets: nothing more
      }

      // 2. The same again: nothing to do.
      const again = await fleet.bootstrap(targets, ["--json", "--identity", identity]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.deepEqual(byHost(again.stdout).map((r) => [r.action, r.auth]), [
        ["unchanged", "key"],
        ["unchanged", "key"],
      ]);

      // 3. Key and an explicit token (docs/security.md's migration): both accepted.
      const both = await fleet.bootstrap(targets, [
        "--json",
        "--identity",
        identity,
        "--token-file",
        tokenFile,
      ]);
      assert.equal(both.code, 0, both.stdout + both.stderr);
      assert.deepEqual(byHost(both.stdout).map((r) => [r.action, r.auth]), [
        ["restarted", "key+token"],
        ["restarted", "key+token"],
      ]);
      for (const credential of [["--identity", identity], ["--token-file", tokenFile]]) {
        const run = await ram(credential);
        assert.equal(run.code, 0, `${credential[0]}: ${run.stdout}${run.stderr}`);
      }

      // 4. A whole file of keys: every operator, with roles; the token goes again.
      const bob = join(dir, "bob");
      const bobPair = await generateIdentity("bob@desk");
      await writeIdentity(bob, bobPair);
      const keysFile = join(dir, "fleet_keys");
      const fleetKeys =
        `# the fleet\nrole=admin ${pair.publicLine}role=read-only ${bobPair.publicLine}`;
      await Deno.writeTextFile(keysFile, fleetKeys);
      const file = await fleet.bootstrap(targets, [
        "--json",
        "--identity",
        identity,
        "--authorized-keys",
        keysFile,
      ]);
      assert.equal(file.code, 0, file.stdout + file.stderr);
      assert.deepEqual(byHost(file.stdout).map((r) => [r.action, r.auth, r.key_id]), [
        ["restarted", "key", keyId],
        ["restarted", "key", keyId],
      ]);
      for (const t of targets) {
        assert.equal(await Deno.readTextFile(join(remote, t, "authorized_keys")), fleetKeys);
        await assert.rejects(Deno.stat(join(remote, t, "token")), Deno.errors.NotFound);
      }
      const asBob = await ram(["--identity", bob]);
      assert.equal(asBob.code, 0, asBob.stdout + asBob.stderr);
      assert.deepEqual(ndjson(asBob.stdout).map((r) => [r.status, r.role]), [
        ["ok", "read-only"],
        ["ok", "read-only"],
      ]);
      assert.equal((await ram(["--token-file", tokenFile])).code, 3, "the token is refused again");

      // 5. Refused before any ssh: a .pub that is not the key's public half, a malformed file.
      const other = join(dir, "other");
      await writeIdentity(other, await generateIdentity("eve@desk"));
      await Deno.writeTextFile(`${other}.pub`, pair.publicLine);
      const wrong = await fleet.bootstrap(targets, ["--identity", other]);
      assert.equal(wrong.code, 2, wrong.stdout + wrong.stderr);
      assert.match(wrong.stderr, /^rmon: ".*other\.pub" is not the public key of ".*other"\n$/);
      await Deno.writeTextFile(keysFile, `role=root ${pair.publicLine}`);
      const bad = await fleet.bootstrap(targets, ["--authorized-keys", keysFile]);
      assert.equal(bad.code, 2, bad.stdout + bad.stderr);
      assert.match(bad.stderr, /line 1: role must be admin or read-only, not "root"/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const haveSsh = (() => {
  try {
    return Deno.statSync("/usr/bin/ssh").isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
})();

Deno.test({
  name: "rmon bootstrap -i takes hosts and the token file from an inventory",
  ignore: !haveSsh,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "rmon-bootstrap-" });
    try {
      const port = freePort(["127.0.0.9"]); // nothing listens there: ssh is refused
      await writeTokenFile(join(dir, "token"), generateToken());
      await Deno.writeTextFile(
        join(dir, "fleet.toml"),
        `[defaults]\ntoken_file = "token"\nport = 6001\n\n[[host]]\nname = "far"\naddress = "127.0.0.9"\n`,
      );
      const run = await runClient([
        "bootstrap",
        "--ssh-option",
        `Port=${port}`,
        "--json",
        "-i",
        join(dir, "fleet.toml"),
      ]);
      assert.equal(run.code, 3, run.stdout + run.stderr);
      const [record] = ndjson(run.stdout);
      assert.equal(record!.host, "far");
      assert.equal(record!.address, "127.0.0.9:6001");
      assert.equal(record!.status, "unreachable");
      assert.match(String(record!.error), /refused/i);
      // With an operator key too, the inventory's token still goes along: its clients use it.
      const identity = join(dir, "id_rmon");
      await writeIdentity(identity, await generateIdentity("alice@laptop"));
      const keyed = await collectTargets(
        parseBootstrapArgs(["--identity", identity, "-i", join(dir, "fleet.toml")]),
      );
      assert.notEqual(keyed.key, null, "the operator key is installed");
      assert.equal(keyed.tokenFile, join(dir, "token"), "and the inventory's token with it");
      // Without a token file anywhere it is a usage error, before any ssh.
      await Deno.writeTextFile(join(dir, "bare.toml"), `[[host]]\naddress = "127.0.0.9"\n`);
      const bare = await runClient(["bootstrap", "-i", join(dir, "bare.toml")]);
      assert.equal(bare.code, 2);
      assert.match(bare.stderr, /^rmon: Invalid arguments: bootstrap needs the fleet token/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
