/**
 * Unit tests of the file-transfer grammar and its helpers: `push`/`pull`
 * console lines, the wire params of `upload`/`download` as the server checks
 * them, sizes such as `10m`, the server's `--max-upload`, and
 * `FrameReader.readBytes` on an in-memory stream. No permissions needed.
 * @module
 */

import assert from "node:assert/strict";
import { parseLine } from "../lib/grammar/parse_line.ts";
import { CommandSyntaxError } from "../lib/grammar/command.ts";
import { parseParams } from "../lib/grammar/params.ts";
import { parseByteSize } from "../lib/byte_size.ts";
import { parseServerArgs } from "../lib/server/options.ts";
import { UsageError } from "../lib/usage.ts";
import { FrameReader } from "../lib/protocol/framing.ts";
import { ConnectionClosedError } from "../lib/protocol/errors.ts";
import { formatHelp } from "../lib/grammar/help.ts";
import { localFileName, pullTarget } from "../lib/client/transfer_pull.ts";

Deno.test("parseLine() reads push and pull", async (t) => {
  const cases: [string, unknown][] = [
    ["push a.conf /etc/a.conf", {
      kind: "push",
      local: "a.conf",
      remote: "/etc/a.conf",
      recursive: false,
      force: false,
    }],
    ["push -r --force --mode 0640 --owner 0:4 './my site' /srv/www/", {
      kind: "push",
      local: "./my site",
      remote: "/srv/www/",
      recursive: true,
      force: true,
      mode: 0o640,
      uid: 0,
      gid: 4,
    }],
    ["pull /var/log/syslog ./logs", {
      kind: "pull",
      remote: "/var/log/syslog",
      localDir: "./logs",
    }],
    ["pull C:\\logs\\app.log out", {
      kind: "pull",
      remote: "C:\\logs\\app.log",
      localDir: "out",
    }],
  ];
  for (const [line, want] of cases) {
    await t.step(line, () => assert.deepEqual(parseLine(line)?.command, want));
  }
  await t.step("short flags together, as cp takes them", () => {
    const cmd = parseLine("push -rf a /b/")?.command;
    assert.ok(cmd?.kind === "push" && cmd.recursive && cmd.force);
  });
  await t.step("with a target", () => {
    const parsed = parseLine("@web* push a /tmp/a");
    assert.equal(parsed?.target?.text, "web*");
    assert.equal(parsed?.command.kind, "push");
  });
});

Deno.test("parseLine() refuses bad push and pull lines with a reason", async (t) => {
  const cases: [string, RegExp][] = [
    ["push a", /expected LOCAL and REMOTE/],
    ["push a b c", /unexpected argument "c"/],
    ["push a etc/x", /is not absolute/],
    ["push --mode 999 a /x", /not octal/],
    ["push --owner root a /x", /not UID or UID:GID/],
    ["push --mode", /--mode needs a value/],
    ["push --bogus a /x", /unknown option "--bogus"/],
    ["pull /x", /expected REMOTE and LOCALDIR/],
    ["pull x dir", /is not absolute/],
    ["pull /var/log/ dir", /must name a file/],
  ];
  for (const [line, message] of cases) {
    await t.step(line, () => {
      assert.throws(() => parseLine(line), (err) => {
        assert.ok(err instanceof CommandSyntaxError);
        assert.match(err.message, message);
        return true;
      });
    });
  }
});

Deno.test("upload and download params are checked like any command's", async (t) => {
  const sha = "a".repeat(64);
  await t.step("a full upload round-trips", () => {
    assert.deepEqual(
      parseParams("upload", {
        path: "/tmp/x",
        size: 0,
        sha256: sha,
        mode: 0o600,
        force: true,
        mkdirs: true,
        uid: 0,
        gid: 0,
      }),
      {
        kind: "upload",
        path: "/tmp/x",
        size: 0,
        sha256: sha,
        mode: 0o600,
        force: true,
        mkdirs: true,
        uid: 0,
        gid: 0,
      },
    );
    assert.deepEqual(parseParams("download", { path: "/tmp/x" }), {
      kind: "download",
      path: "/tmp/x",
    });
  });
  const bad: [unknown, RegExp][] = [
    [{ path: "tmp/x", size: 1, sha256: sha }, /not absolute/],
    [{ path: "/tmp/\0x", size: 1, sha256: sha }, /NUL/],
    [{ path: "/tmp/x", size: -1, sha256: sha }, /size/],
    [{ path: "/tmp/x", sha256: sha }, /"size" is missing/],
    [{ path: "/tmp/x", size: 1, sha256: "A".repeat(64) }, /not 64 lowercase hex/],
    [{ path: "/tmp/x", size: 1, sha256: sha, mode: 0o10000 }, /mode/],
    [{ path: "/tmp/x", size: 1, sha256: sha, force: "yes" }, /true or false/],
    [{ path: "/tmp/x", size: 1, sha256: sha, shell: "sh" }, /unexpected field "shell"/],
    [{ path: "/" + "a".repeat(5000), size: 1, sha256: sha }, /4096-byte limit/],
  ];
  for (const [params, message] of bad) {
    await t.step(JSON.stringify(params).slice(0, 60), () => {
      assert.throws(() => parseParams("upload", params), message);
    });
  }
  await t.step("exec takes stdin as a boolean", () => {
    assert.deepEqual(parseParams("exec", { shell: "sh", command: "cat", stdin: true }), {
      kind: "exec",
      shell: "sh",
      command: "cat",
      stdin: true,
    });
    assert.throws(() => parseParams("exec", { shell: "sh", command: "cat", stdin: 1 }), /true/);
  });
});

Deno.test("parseByteSize() reads sizes with binary units", () => {
  assert.equal(parseByteSize("1024"), 1024);
  assert.equal(parseByteSize("512k"), 512 * 1024);
  assert.equal(parseByteSize("10m"), 10 * 1024 ** 2);
  assert.equal(parseByteSize("1G"), 1024 ** 3);
  assert.equal(parseByteSize("2GiB"), 2 * 1024 ** 3);
  assert.equal(parseByteSize("1t"), 1024 ** 4);
  assert.throws(() => parseByteSize("99999999999999999t"), RangeError);
  for (const bad of ["", "1.5g", "-1", "ten", "1x"]) {
    assert.throws(() => parseByteSize(bad), SyntaxError, bad);
  }
});

Deno.test("rmon-server --max-upload takes a size and refuses nonsense", () => {
  assert.equal(parseServerArgs(["--max-upload", "10m"]).maxUploadBytes, 10 * 1024 ** 2);
  assert.equal(parseServerArgs([]).maxUploadBytes, 1024 ** 3);
  assert.throws(() => parseServerArgs(["--max-upload", "lots"]), UsageError);
  assert.throws(() => parseServerArgs(["--max-upload", "0"]), /at least 1 byte/);
});

Deno.test("FrameReader.readBytes() takes raw bytes after a frame, then frames again", async () => {
  const enc = new TextEncoder();
  const data = enc.encode('{"a":1}\n\x00\n\xff\n{"b":2}\n');
  let off = 0;
  const stream = {
    // Three bytes a read: the raw bytes span the buffered part and later reads.
    read(p: Uint8Array) {
      if (off >= data.length) return Promise.resolve(null);
      const n = Math.min(3, p.length, data.length - off);
      p.set(data.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
    write: () => Promise.resolve(0),
    close() {},
  };
  const reader = new FrameReader(stream, 1024);
  assert.equal(await reader.read(), '{"a":1}');
  assert.deepEqual(await reader.readBytes(5), enc.encode("\x00\n\xff\n"));
  assert.equal(await reader.read(), '{"b":2}');
  await assert.rejects(reader.readBytes(1), ConnectionClosedError);
});

Deno.test("help lists push and pull, and no wire-only method", () => {
  const help = formatHelp();
  assert.match(help, /push/);
  assert.match(help, /pull/);
  assert.doesNotMatch(help, /upload|download/);
});

Deno.test("pullTarget() names each host's folder and file validly on every OS", () => {
  assert.equal(pullTarget("logs", "web1", "/var/log/syslog", "linux"), "logs/web1/syslog");
  assert.equal(
    pullTarget("logs", "127.0.0.1:7101", "/var/log/a:b.log", "darwin"),
    "logs/127.0.0.1:7101/a:b.log",
    "colons are fine off Windows",
  );
  // Windows refuses : and friends in names: the parts become valid, the folder layout stays.
  assert.equal(localFileName("127.0.0.1:7101", "windows"), "127.0.0.1_7101");
  assert.equal(localFileName("::1", "windows"), "__1");
  assert.equal(localFileName('a<b>c"d|e?f*g', "windows"), "a_b_c_d_e_f_g");
  assert.equal(localFileName("trailing.", "windows"), "trailing_");
  assert.match(
    pullTarget("logs", "[::1]:7101", "C:\\logs\\app:1.log", "windows"),
    /^logs.\[__1\]_7101.app_1\.log$/,
  );
});
