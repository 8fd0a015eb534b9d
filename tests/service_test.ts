/**
 * Tests of `rmon-server service` and `fingerprint`: each generated definition,
 * its quoting checked against a reference reader of the platform's rules
 * (systemd's ExecStart=, CommandLineToArgvW, XML), and `install` writing into
 * a temporary root (never the machine's systemd).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import {
  launchdPlist,
  systemdQuote,
  systemdUnit,
  windowsArg,
  windowsService,
  xmlEscape,
} from "../lib/server/service.ts";
import { enableCommands, runService, type ServiceHost } from "../lib/server/service_cli.ts";
import { UsageError } from "../lib/usage.ts";
import { runArgs } from "../tools/entry_flags.ts";

/** systemd's reading of an ExecStart= value (quotes, backslash escapes, %%, $$). */
function readExecStart(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === " ") {
      i++;
      continue;
    }
    let word = "";
    const quoted = line[i] === '"';
    if (quoted) i++;
    for (; i < line.length; i++) {
      const ch = line[i]!;
      if (quoted && ch === '"') {
        i++;
        break;
      }
      if (!quoted && ch === " ") break;
      if (ch === "\\") word += line[++i];
      else if ((ch === "%" || ch === "$") && line[i + 1] === ch) word += line[++i];
      else if (ch === "%" || ch === "$") throw new Error(`unescaped ${ch} in ${line}`);
      else word += ch;
    }
    words.push(word);
  }
  return words;
}

/** The documented CommandLineToArgvW rules, for arguments after the program name. */
function commandLineToArgv(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === " " || line[i] === "\t") i++;
    if (i >= line.length) break;
    let word = "";
    let inQuotes = false;
    for (; i < line.length; i++) {
      const ch = line[i]!;
      if (!inQuotes && (ch === " " || ch === "\t")) break;
      if (ch === "\\") {
        let n = 0;
        while (line[i] === "\\") n++, i++;
        if (line[i] === '"') {
          word += "\\".repeat(Math.floor(n / 2));
          if (n % 2 === 1) word += '"';
          else inQuotes = !inQuotes;
        } else {
          word += "\\".repeat(n);
          i--;
        }
      } else if (ch === '"') inQuotes = !inQuotes;
      else word += ch;
    }
    words.push(word);
  }
  return words;
}

/** Undoes the five XML entities. */
function xmlUnescape(text: string): string {
  const map: Record<string, string> = { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" };
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (_m, name: string) => map[name]!);
}

/** Printable words, including every character the quoting rules care about. */
const word = fc.string({
  unit: fc.constantFrom(..."ab \\\"'%$&<>;|`\t=é".split("")),
  maxLength: 12,
}).filter((w) => !w.includes("\t"));

Deno.test("systemdUnit() carries every argument exactly and the required settings", () => {
  fc.assert(fc.property(fc.array(word, { maxLength: 5 }), (args) => {
    const unit = systemdUnit({ exe: "/opt/rmon bin/rmon-server", args });
    const line = /^ExecStart=(.*)$/m.exec(unit)![1]!;
    assert.deepEqual(readExecStart(line), ["/opt/rmon bin/rmon-server", ...args]);
  }));
  const unit = systemdUnit({ exe: "/usr/local/bin/rmon-server", args: ["--host", "0.0.0.0"] });
  for (
    const setting of [
      "Restart=on-failure",
      "StateDirectory=rmon",
      "KillMode=mixed",
      "StandardOutput=journal",
      "StandardError=journal",
      "Environment=XDG_STATE_HOME=/var/lib",
      "WantedBy=multi-user.target",
    ]
  ) assert.match(unit, new RegExp(`^${setting}$`, "m"), setting);
  assert.equal(systemdQuote("50%$HOME"), '"50%%$$HOME"');
});

Deno.test("launchdPlist() carries every argument exactly, XML-escaped", () => {
  fc.assert(fc.property(fc.array(word, { maxLength: 5 }), (args) => {
    const plist = launchdPlist({ exe: "/usr/local/bin/rmon-server", args });
    const array = /<key>ProgramArguments<\/key>\s*<array>(.*?)<\/array>/s.exec(plist)![1]!;
    const got = [...array.matchAll(/<string>([^<]*)<\/string>/g)].map((m) => xmlUnescape(m[1]!));
    assert.deepEqual(got, ["/usr/local/bin/rmon-server", ...args]);
  }));
  const plist = launchdPlist({ exe: "/x", args: [] });
  assert.match(plist, /<key>Label<\/key>\s*<string>org\.rmon\.rmon-server<\/string>/);
  assert.match(plist, /<key>KeepAlive<\/key>\s*<dict>\s*<key>SuccessfulExit<\/key>\s*<false\/>/);
  assert.equal(xmlEscape(`<a href="x">&'`), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
});

Deno.test("windowsService() quotes by CommandLineToArgvW inside a PowerShell string", () => {
  fc.assert(fc.property(fc.array(word, { maxLength: 5 }), (args) => {
    const exe = "C:\\Program Files\\rmon\\rmon-server.exe";
    const text = windowsService({ exe, args });
    const quoted = /-BinaryPathName '((?:[^']|'')*)'$/m.exec(text)![1]!;
    assert.deepEqual(commandLineToArgv(quoted.replaceAll("''", "'")), [exe, ...args]);
  }));
  assert.equal(windowsArg("plain"), "plain");
  assert.equal(windowsArg(""), '""');
  assert.equal(windowsArg("C:\\a b\\"), '"C:\\a b\\\\"');
  assert.equal(windowsArg('say "hi"'), '"say \\"hi\\""');
  assert.match(windowsService({ exe: "C:\\r.exe", args: [] }), /^sc\.exe failure rmon-server /m);
});

Deno.test("service definitions refuse a line break in an argument", () => {
  for (const make of [systemdUnit, launchdPlist, windowsService]) {
    assert.throws(() => make({ exe: "/x", args: ["a\nExecStartPre=/bin/evil"] }), TypeError);
  }
});

/** A machine for runService(): records what it would run, never runs anything. */
function fakeHost(os: typeof Deno.build.os, env: Record<string, string> = {}) {
  const lines: string[] = [];
  const ran: string[] = [];
  const host: ServiceHost = {
    os,
    execPath: "/usr/local/bin/rmon-server",
    env: (n) => env[n],
    isRoot: true,
    managerRunning: true,
    run: (cmd, args) => {
      ran.push([cmd, ...args].join(" "));
      return Promise.resolve({ code: 0, stderr: "" });
    },
    out: (line) => lines.push(line),
  };
  return { host, lines, ran };
}

Deno.test("service install writes the unit into a temp root and enables nothing there", async () => {
  const root = await Deno.makeTempDir({ prefix: "rmon-service-" });
  try {
    const { host, lines, ran } = fakeHost("linux", { RMON_SERVICE_ROOT: root });
    assert.equal(await runService(["install", "--host", "0.0.0.0", "--tls"], host), 0);
    const path = join(root, "etc/systemd/system/rmon-server.service");
    const unit = await Deno.readTextFile(path);
    assert.match(unit, /^ExecStart="\/usr\/local\/bin\/rmon-server" "--host" "0.0.0.0" "--tls"$/m);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
    assert.deepEqual(ran, []);
    assert.deepEqual(lines, [
      `Wrote ${path} (systemd), running /usr/local/bin/rmon-server`,
      `Not enabled (written under ${root}, not the live system); to enable and start it, as ` +
      "root: systemctl daemon-reload && systemctl enable rmon-server.service && " +
      "systemctl restart rmon-server.service",
    ]);
    // Again: an upgrade replaces it and says so.
    const again = fakeHost("darwin");
    assert.equal(await runService(["install", "--root", root, "--exe", "/opt/r"], again.host), 0);
    const plist = join(root, "Library/LaunchDaemons/org.rmon.rmon-server.plist");
    assert.match(await Deno.readTextFile(plist), /<string>\/opt\/r<\/string>/);
    assert.equal(again.lines[0], `Wrote ${plist} (launchd), running /opt/r`);
    const third = fakeHost("linux");
    await runService(["install", "--root", root], third.host);
    assert.equal(third.lines[0], `Replaced ${path} (systemd), running /usr/local/bin/rmon-server`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("service install and print refuse what cannot work, in one line", async (t) => {
  const cases: [string, string[], typeof Deno.build.os, RegExp][] = [
    ["Windows", ["install"], "windows", /install works with systemd \(Linux\) and launchd/],
    ["a bad option", ["print", "systemd", "--port", "x"], "linux", /port/],
    ["--help inside", ["print", "systemd", "--help"], "linux", /do not belong in a service/],
    ["no kind", ["print"], "linux", /needs one of systemd, launchd, windows$/],
    ["a relative --exe", ["print", "launchd", "--exe", "bin/r"], "linux", /not an absolute path/],
    ["no action", ["start"], "linux", /needs "print" or "install", not "start"/],
  ];
  for (const [name, args, os, message] of cases) {
    await t.step(name, async () => {
      await assert.rejects(runService(args, fakeHost(os).host), (err: unknown) => {
        assert.ok(err instanceof UsageError, String(err));
        assert.match(err.message, message);
        return true;
      });
    });
  }
});

Deno.test("enableCommands() restarts, so an upgraded binary is the one running", () => {
  assert.deepEqual(enableCommands("systemd", "/p").map(([c, a]) => [c, ...a].join(" ")), [
    "systemctl daemon-reload",
    "systemctl enable rmon-server.service",
    "systemctl restart rmon-server.service",
  ]);
  assert.deepEqual(enableCommands("launchd", "/p").at(-1), ["launchctl", [
    "bootstrap",
    "system",
    "/p",
  ]]);
});

Deno.test("rmon-server service and fingerprint, run as the build runs them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-service-" });
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...runArgs("server"), ...args],
      env: { XDG_STATE_HOME: `${dir}/state`, RMON_SERVICE_ROOT: `${dir}/root`, NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const d = new TextDecoder();
    return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
  };
  try {
    // Under deno run the binary is deno itself: a service needs --exe.
    const refused = await run(["service", "print", "systemd"]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /that is deno, not a compiled rmon-server/);
    const printed = await run([
      "service",
      "print",
      "systemd",
      "--exe",
      "/srv/rmon-server",
      "--tls",
    ]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^ExecStart="\/srv\/rmon-server" "--tls"$/m);
    const installed = await run(["service", "install", "--exe", "/srv/rmon-server", "--tls"]);
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, /^Wrote .*\/root\/etc\/systemd\/system\/rmon-server.service/);
    // fingerprint makes the certificate once, then reads the same one back.
    const first = await run(["fingerprint", "--token-file", "/nonexistent"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal((await run(["fingerprint"])).stdout, first.stdout);
    assert.ok((await Deno.stat(`${dir}/state/rmon/tls_cert.pem`)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
