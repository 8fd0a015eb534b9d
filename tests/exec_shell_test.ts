import assert from "node:assert/strict";
import {
  CMD_MAX_CHARS,
  encodePowerShellCommand,
  shellArgv,
  WINDOWS_MAX_CHARS,
} from "../lib/exec/shell.ts";

/** Decode -EncodedCommand text back to the script, independently of the encoder. */
function decodeUtf16Le(base64: string): string {
  const binary = atob(base64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-16le").decode(bytes);
}

Deno.test("shellArgv() runs sh -c with the command as one argument on Unix", async (t) => {
  for (const platform of ["linux", "darwin", "freebsd"] as const) {
    await t.step(platform, () => {
      assert.deepEqual(shellArgv("sh", "echo 'a b' | wc -c; exit 3", platform), {
        cmd: "sh",
        args: ["-c", "echo 'a b' | wc -c; exit 3"],
        windowsRawArguments: false,
      });
    });
  }
});

Deno.test("shellArgv() refuses sh on Windows", () => {
  assert.throws(() => shellArgv("sh", "ls", "windows"), {
    name: "RangeError",
    message: 'Cannot run "sh:" command: sh is only available on Unix servers',
  });
});

Deno.test("shellArgv() refuses cmd and ps outside Windows", () => {
  assert.throws(() => shellArgv("cmd", "dir", "linux"), {
    name: "RangeError",
    message: 'Cannot run "dos:" command: cmd is only available on Windows servers',
  });
  assert.throws(() => shellArgv("ps", "Get-Date", "darwin"), {
    name: "RangeError",
    message: 'Cannot run "ps:" command: PowerShell is only available on Windows servers',
  });
});

Deno.test("shellArgv() wraps a cmd command in the outer quotes /s strips, with raw arguments", () => {
  const command = 'echo "a & b" > "c d.txt" & type "c d.txt"';
  assert.deepEqual(shellArgv("cmd", command, "windows"), {
    cmd: "cmd.exe",
    args: ["/d", "/s", "/c", `"${command}"`],
    windowsRawArguments: true,
  });
});

Deno.test("shellArgv() passes a PowerShell command as -EncodedCommand", () => {
  const command = `Write-Output "it's €5"; Get-ChildItem 'C:\\Program Files'`;
  const argv = shellArgv("ps", command, "windows");
  assert.equal(argv.cmd, "powershell.exe");
  assert.equal(argv.windowsRawArguments, false);
  assert.deepEqual(argv.args.slice(0, 3), ["-NoProfile", "-NonInteractive", "-EncodedCommand"]);
  assert.equal(argv.args.length, 4);
  assert.match(argv.args[3] ?? "", /^[A-Za-z0-9+/]+=*$/);
  assert.equal(decodeUtf16Le(argv.args[3] ?? ""), command);
});

Deno.test("encodePowerShellCommand() encodes UTF-16LE as base64", async (t) => {
  await t.step("known vector", () => {
    // "dir" is 64 00 69 00 72 00 in UTF-16LE.
    assert.equal(encodePowerShellCommand("dir"), "ZABpAHIA");
  });
  await t.step("empty script", () => {
    assert.equal(encodePowerShellCommand(""), "");
  });
  await t.step("non-ASCII and astral characters round-trip", () => {
    const script = "Write-Host 'Grüße 😀 ✓'";
    assert.equal(decodeUtf16Le(encodePowerShellCommand(script)), script);
  });
  await t.step("scripts longer than one encoding slice round-trip", () => {
    const script = "x".repeat(40_000) + "é";
    assert.equal(decodeUtf16Le(encodePowerShellCommand(script)), script);
  });
});

Deno.test("shellArgv() refuses command lines Windows would cut", () => {
  assert.throws(
    () => shellArgv("cmd", "x".repeat(CMD_MAX_CHARS), "windows"),
    (err) => err instanceof RangeError && /exceeds the 8191-character limit/.test(err.message),
  );
  assert.throws(
    () => shellArgv("ps", "x".repeat(WINDOWS_MAX_CHARS / 2), "windows"),
    (err) => err instanceof RangeError && /exceeds the 32766-character limit/.test(err.message),
  );
  assert.doesNotThrow(() => shellArgv("cmd", "x".repeat(CMD_MAX_CHARS - 30), "windows"));
});

Deno.test("shellArgv() refuses a command containing NUL", () => {
  assert.throws(() => shellArgv("sh", "echo a\0b", "linux"), {
    name: "TypeError",
    message: 'Cannot run "sh:" command: it contains a NUL character',
  });
});
