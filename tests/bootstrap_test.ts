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
import { bootstrapExitCode, bootstrapTable } from "../lib/client/bootstrap.ts";
import { RMON_VERSION } from "../lib/protocol/constants.ts";
import { generateToken, writeTokenFile } from "../lib/token_file.ts";
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
    assert.deepEqual(probe.installed.nohup, { version: "", running: false, tokenSha: "" });
    assert.match(probe.staging, /rmon-bootstrap\./);
    await Deno.remove(probe.staging);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("installScript() quotes every value and reports what it did", () => {
  const layout = remoteLayout("nohup", "web 1", "~/it's/%h");
  assert.equal(layout.dir, "~/it's/web 1");
  const args = serverArgs(layout, "0.0.0.0", 5050, ["--exec-env", "A B"]);
  const script = installScript({ layout, staging: "/tmp/s x", args, install: true });
  assert.ok(script.includes(`"$HOME"/'it'\\''s/web 1/rmon-server'`), script);
  assert.ok(script.includes(`'--exec-env' 'A B'`));
  assert.ok(script.includes(`trap 'rm -rf '\\''/tmp/s x'\\''' EXIT`), script);
  const service = installScript({
    layout: remoteLayout("systemd", "h"),
    staging: "/tmp/s",
    args: [],
    install: true,
  });
  assert.match(service, /'\/usr\/local\/bin\/rmon-server' service install --exe/);
  assert.deepEqual(
    parseInstallOutput("fingerprint=sha256:ab\nservice=Wrote x\nservice=Ran: y\nstarted=systemd\n"),
    { fingerprint: "sha256:ab", started: "systemd", service: ["Wrote x", "Ran: y"] },
  );
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
    "duration_ms": 1,
  };
  const ok = { ...base, host: "a", status: "ok" as const, action: "installed" as const };
  const bad = { ...base, host: "bb", status: "error" as const, action: null, error: "boom" };
  const away = { ...bad, host: "c", status: "unreachable" as const };
  assert.equal(bootstrapExitCode([ok]), 0);
  assert.equal(bootstrapExitCode([ok, bad]), 5);
  assert.equal(bootstrapExitCode([bad, away]), 3);
  assert.equal(
    bootstrapTable([ok, bad], false),
    "HOST  RESULT     VERSION  SERVICE             FINGERPRINT / ERROR\n" +
      "a     installed  0.1.0    nohup (no systemd)  sha256:00 pinned\n" +
      "bb    error      0.1.0    nohup (no systemd)  boom\n",
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

Deno.test({
  name: "rmon bootstrap installs two hosts over real sshd and pins them before first contact",
  ignore: !haveSshd,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "rmon-bootstrap-" });
    const hosts = ["127.0.0.2", "127.0.0.3"];
    const sshPort = freePort(hosts);
    const rmonPorts = [freePort(["127.0.0.2"]), freePort(["127.0.0.3"])];
    const remote = join(dir, "hosts");
    try {
      // The client's ssh identity, and what the two "hosts" accept.
      await must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id")]);
      const authorized = join(dir, "authorized_keys");
      await Deno.copyFile(join(dir, "id.pub"), authorized);
      await using a = await startSshd(dir, hosts[0]!, sshPort, authorized);
      await using b = await startSshd(dir, hosts[1]!, sshPort, authorized);
      await Deno.writeTextFile(
        join(dir, "ssh_known_hosts"),
        `${a.knownHostsLine}\n${b.knownHostsLine}\n`,
      );
      // The release folder: the host's "rmon-server" is the deno run wrapper (see above).
      const target = targetOfUname(await must("uname", ["-sm"]))!;
      await writeEntryWrapper(join(dir, "dist", RMON_VERSION, target), "server");
      const tokenFile = join(dir, "token");
      await writeTokenFile(tokenFile, generateToken());
      // Host b already has an older rmon-server (not running): bootstrap upgrades it.
      await Deno.mkdir(join(remote, `${hosts[1]}:${rmonPorts[1]}`), { recursive: true });
      await Deno.writeTextFile(
        join(remote, `${hosts[1]}:${rmonPorts[1]}`, "rmon-server"),
        "#!/bin/sh\necho 'rmon-server 0.0.1'\n",
        { mode: 0o755 },
      );
      const knownHosts = join(dir, "rmon_known_hosts");
      const bootstrap = (targets: string[], more: string[] = []) =>
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
          "--token-file",
          tokenFile,
          "--known-hosts",
          knownHosts,
          "--listen",
          "target",
          "--remote-dir",
          `${remote}/%h`,
          ...more,
          ...targets,
        ], { timeoutMs: 120_000 });
      const targets = hosts.map((h, i) => `${h}:${rmonPorts[i]}`);

      const first = await bootstrap(targets, ["--json"]);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const records = ndjson(first.stdout).sort((x, y) =>
        String(x.host).localeCompare(String(y.host))
      );
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
      assert.match(rows[0]!, /^HOST +RESULT +VERSION +SERVICE +FINGERPRINT \/ ERROR$/);
      for (const [i, r] of records.entries()) {
        assert.match(
          rows[i + 1]!,
          new RegExp(
            `^${
              targets[i]
            } +unchanged +${RMON_VERSION} +nohup \\(no systemd\\) +${r.fingerprint} already pinned$`,
          ),
        );
      }
      assert.match(rows[3]!, /^127\.0\.0\.4:5999 +unreachable +- +- +.*(refused|Connection)/);
      assert.match(again.stderr, /Started with nohup on 2 host\(s\): it will not restart/);
    } finally {
      for (const t of hosts.map((h, i) => `${h}:${rmonPorts[i]}`)) {
        await stopByPidFile(join(remote, t, "rmon-server.pid"));
      }
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
