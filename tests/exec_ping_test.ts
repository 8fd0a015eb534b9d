import assert from "node:assert/strict";
import { pingArgv, pingDeadlineSeconds } from "../lib/exec/ping.ts";

Deno.test("pingArgv() builds each platform's flags", async (t) => {
  const cases = [
    { platform: "linux", args: ["-c", "3", "-W", "2", "--", "example.com"] },
    { platform: "android", args: ["-c", "3", "-W", "2", "--", "example.com"] },
    { platform: "darwin", args: ["-c", "3", "-t", "4", "--", "example.com"] },
    { platform: "freebsd", args: ["-c", "3", "-t", "4", "--", "example.com"] },
    {
      platform: "windows",
      args: ["-n", "3", "-w", "2000", "example.com"],
    },
    { platform: "illumos", args: ["-c", "3", "--", "example.com"] },
  ] as const;
  for (const { platform, args } of cases) {
    await t.step(platform, () => {
      assert.deepEqual(pingArgv("example.com", 3, platform), { cmd: "ping", args: [...args] });
    });
  }
});

Deno.test("pingDeadlineSeconds() leaves one second beyond the last request", () => {
  assert.equal(pingDeadlineSeconds(1), 2);
  assert.equal(pingDeadlineSeconds(10), 11);
});

Deno.test("pingArgv() refuses a host that could be read as an option", () => {
  for (const host of ["-f", "--flood", "-c1000", ""]) {
    assert.throws(() => pingArgv(host, 1, "linux"), { name: "TypeError" }, host);
  }
  assert.throws(() => pingArgv("-f", 1, "windows"), {
    name: "TypeError",
    message: 'Cannot ping "-f": not a host name or address',
  });
});

Deno.test("pingArgv() refuses counts outside 1-10", () => {
  for (const count of [0, 11, 1.5, Number.NaN, -1]) {
    assert.throws(() => pingArgv("127.0.0.1", count, "linux"), { name: "RangeError" }, `${count}`);
  }
  assert.doesNotThrow(() => pingArgv("127.0.0.1", 10, "linux"));
});

Deno.test("pingArgv() sends exactly COUNT requests", async () => {
  const { cmd, args } = pingArgv("127.0.0.1", 2);
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(stdout, /^2 packets transmitted, 2 received/m);
});

Deno.test("pingArgv() fails at once, sending nothing, where there is no route", async () => {
  // A private network namespace (`unshare -rn`: no interface is up) stands in for a host
  // with no route: no packet can leave this machine, as the tests' rules demand.
  const { cmd, args } = pingArgv("192.0.2.123", 2);
  const out = await new Deno.Command("unshare", {
    args: ["-rn", cmd, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.notEqual(out.code, 0);
  assert.match(stderr, /Network is unreachable/, `${stdout}${stderr}`);
  assert.doesNotMatch(stdout, /packets transmitted/, "nothing was sent");
});

Deno.test("pingArgv() output runs the real ping against loopback", async () => {
  // Proves the flags, `--` included, are accepted by the installed ping (iputils here).
  const { cmd, args } = pingArgv("127.0.0.1", 1);
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /127\.0\.0\.1/);
});
