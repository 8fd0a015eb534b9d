/**
 * Output as raw bytes after a JSON header (protocol.md §5): the server offers
 * `rawOutput` in its hello, a call that asks gets `chunk` frames whose bytes
 * are the output exactly as the command wrote it, a call that does not ask
 * (an older client) still gets `output` text, and a server that does not
 * offer it (an older server) is never asked, through the real client CLI.
 * Real servers on loopback, real sockets.
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ERROR_CODES, TIMEOUTS } from "../lib/protocol/constants.ts";
import { ConnectionClosedError, RemoteError } from "../lib/protocol/errors.ts";
import { FrameReader } from "../lib/protocol/framing.ts";
import type { OutputParams } from "../lib/protocol/messages.ts";
import { OutputCapture } from "../lib/client/output_capture.ts";
import { FanoutView } from "../lib/client/views/fanout.ts";
import { EXIT_CODES } from "../lib/usage.ts";
import { addr, connect, runClient, startInProcessServer, TEST_TOKEN } from "./helpers.ts";

const env = { RMON_TOKEN: TEST_TOKEN };
const enc = new TextEncoder();

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One exec over a real connection: what came as bytes, what came as text, and the answer. */
async function execOn(
  server: { hostname: string; port: number; token: string },
  command: string,
  extra: Record<string, boolean | number> = {},
) {
  await using s = await connect(server);
  const bytes = { stdout: [] as Uint8Array[], stderr: [] as Uint8Array[] };
  const text: OutputParams[] = [];
  const result = await s.peer.call("exec", { shell: "sh", command, ...extra }, {
    // A copy: the bytes are a view valid only during the call.
    onOutputBytes: (stream, b) => bytes[stream].push(b.slice()),
    onOutput: (o) => text.push(o),
  });
  return {
    hello: s.hello,
    stdout: concat(bytes.stdout),
    stderr: concat(bytes.stderr),
    chunks: bytes.stdout.length + bytes.stderr.length,
    sizes: [...bytes.stdout, ...bytes.stderr].map((b) => b.length),
    text,
    result: result as Record<string, unknown>,
  };
}

Deno.test("rawOutput on the wire", async (t) => {
  await using server = await startInProcessServer();
  await using older = await startInProcessServer({ features: [], idleTimeoutMs: 5_000 });

  await t.step("the server lists the feature and its idle timeout in its hello", async () => {
    await using s = await connect(server);
    assert.deepEqual(s.hello.features, ["rawOutput", "closeAfter", "vitals"]);
    assert.equal(s.hello.idleMs, TIMEOUTS.idleMs);
    await using o = await connect(older);
    assert.equal(o.hello.idleMs, 5_000, "the server's own setting (--idle-timeout)");
  });

  await t.step("asked for: the command's bytes exactly, invalid UTF-8 included", async () => {
    const run = await execOn(server, "printf 'a\\377\\376\\303\\251\\n'; printf 'e\\377' >&2", {
      rawOutput: true,
    });
    assert.deepEqual(run.stdout, Uint8Array.from([0x61, 0xff, 0xfe, 0xc3, 0xa9, 0x0a]));
    assert.deepEqual(run.stderr, Uint8Array.from([0x65, 0xff]));
    assert.equal(run.text.length, 0, "no output notifications besides the chunks");
    assert.equal(run.result.exitCode, 0);
  });

  await t.step("not asked for (an older client): output notifications of text", async () => {
    const run = await execOn(server, "printf 'a\\377\\n'");
    assert.equal(run.chunks, 0);
    assert.deepEqual(run.text.map((o) => o.data).join(""), "a\uFFFD\n");
  });

  await t.step(
    "a long output arrives whole and in order, in chunks of at most 64 KiB",
    async () => {
      const run = await execOn(server, "seq 1 200000", { rawOutput: true });
      const want = enc.encode(Array.from({ length: 200_000 }, (_, i) => `${i + 1}\n`).join(""));
      assert.equal(run.stdout.length, want.length);
      assert.deepEqual(run.stdout, want);
      assert.ok(run.chunks > 1, `${run.chunks} chunks`);
      assert.ok(run.sizes.every((n) => n > 0 && n <= 65536), `sizes ${run.sizes}`);
    },
  );

  await t.step("the cap still cuts raw output, and the call says truncated", async () => {
    const run = await execOn(server, "yes", { rawOutput: true, maxOutputBytes: 1000 });
    assert.ok(run.stdout.length <= 1000, `${run.stdout.length} bytes`);
    assert.equal(run.result.truncated, true);
  });

  await t.step("a rawOutput that is not true or false is invalid params", async () => {
    await using s = await connect(server);
    const err = await s.peer.call("exec", { shell: "sh", command: "true", rawOutput: 1 }).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof RemoteError);
    assert.equal(err.code, ERROR_CODES.invalidParams);
    assert.match(err.message, /rawOutput/);
  });

  await t.step("rawOutput on a call without output is an unexpected field", async () => {
    await using s = await connect(server);
    const err = await s.peer.call("os", { rawOutput: true }).then(() => null, (e) => e);
    assert.ok(err instanceof RemoteError);
    assert.equal(err.code, ERROR_CODES.invalidParams);
    assert.match(err.message, /unexpected field "rawOutput"/);
  });

  await t.step("a server that does not offer it refuses it as an older one does", async () => {
    await using s = await connect(older);
    assert.deepEqual(s.hello.features, []);
    const err = await s.peer.call("exec", { shell: "sh", command: "true", rawOutput: true })
      .then(() => null, (e) => e);
    assert.ok(err instanceof RemoteError);
    assert.equal(err.code, ERROR_CODES.invalidParams);
    assert.match(err.message, /unexpected field "rawOutput"/);
  });
});

Deno.test("the client asks for raw output only where offered", async (t) => {
  await using server = await startInProcessServer();
  await using older = await startInProcessServer({ features: [] });
  const out = await Deno.makeTempDir({ prefix: "rmon-raw-" });
  const cmd = "sh: printf 'h\\303'; sleep 0.3; printf '\\251\\377\\n'";
  try {
    await t.step("--no-prefix writes the bytes as they are", async () => {
      const run = await runClient(["--hosts", addr(server), "--yes", "--no-prefix", "--", cmd], {
        env,
      });
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      assert.deepEqual(run.stdoutBytes, Uint8Array.from([0x68, 0xc3, 0xa9, 0xff, 0x0a]));
    });

    await t.step("-o files hold the bytes as they are", async () => {
      const run = await runClient(["--hosts", addr(server), "--yes", "-o", out, "--", cmd], {
        env,
      });
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      const file = await Deno.readFile(`${out}/${addr(server)}`);
      assert.deepEqual(file, Uint8Array.from([0x68, 0xc3, 0xa9, 0xff, 0x0a]));
    });

    await t.step("prefixed lines join a character cut between two chunks", async () => {
      const run = await runClient(["--hosts", addr(server), "--yes", "--stream", "--", cmd], {
        env,
      });
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      assert.match(run.stdout, new RegExp(`${addr(server)} \\| hé\uFFFD\n`));
    });

    await t.step("--json records hold the decoded start with the real byte count", async () => {
      const run = await runClient(["--hosts", addr(server), "--yes", "--json", "--", cmd], { env });
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      const record = JSON.parse(run.stdout);
      assert.equal(record.stdout, "hé\uFFFD\n");
      assert.equal(record.stdout_bytes, 5);
    });

    await t.step("an older server gets no rawOutput field and answers as before", async () => {
      const run = await runClient(["--hosts", addr(older), "--yes", "-o", out, "--", cmd], {
        env,
      });
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      assert.match(run.stdout, /hé\uFFFD/);
      // Text from the older server: the invalid byte was replaced before it was sent.
      const file = await Deno.readTextFile(`${out}/${addr(older)}`);
      assert.equal(file, "hé\uFFFD\n");
    });
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("OutputCapture: bytes and text of the same output keep, count and hash alike", () => {
  const text = "héllo wörld\n".repeat(10);
  const bytes = enc.encode(text);
  const fromText = new OutputCapture({ keepBytes: 20, hash: true });
  fromText.add("stdout", text);
  const fromBytes = new OutputCapture({ keepBytes: 20, hash: true });
  // Cut inside characters: every split of two-byte characters must decode whole.
  for (let at = 0; at < bytes.length; at += 7) {
    fromBytes.addBytes("stdout", bytes.subarray(at, at + 7));
  }
  const a = fromText.result();
  const b = fromBytes.result();
  assert.equal(b.stdout, a.stdout);
  assert.equal(b.stdoutBytes, bytes.length);
  assert.equal(b.digest, a.digest);
  assert.ok(b.shortened);
  const whole = createHash("sha256").update(bytes).digest("hex");
  assert.ok(b.digest?.startsWith(`${bytes.length}:${whole}/`), b.digest);
  // A one-byte change is a different digest.
  const other = new OutputCapture({ keepBytes: 20, hash: true });
  const changed = bytes.slice();
  changed[changed.length - 1] = 0x21;
  other.addBytes("stdout", changed);
  assert.notEqual(other.result().digest, b.digest);
});

Deno.test("OutputCapture keeps raw bytes whole when they fit", () => {
  const c = new OutputCapture();
  const buf = Uint8Array.from([0x68, 0xc3]);
  c.addBytes("stdout", buf);
  buf.fill(0); // the caller reuses its buffer: the capture holds a copy
  c.addBytes("stdout", Uint8Array.from([0xa9, 0x0a]));
  c.addBytes("stderr", Uint8Array.from([0xff]));
  const r = c.result();
  assert.equal(r.stdout, "hé\n");
  assert.equal(r.stderr, "\uFFFD");
  assert.equal(r.stdoutBytes, 4);
  assert.equal(r.stderrBytes, 1);
  assert.equal(r.shortened, false);
});

Deno.test("FrameReader.readBytesView() takes raw bytes in place, then frames again", async () => {
  const data = enc.encode('{"a":1}\nxy{"b":2}\n\x00\n\xff\n{"c":3}\n');
  let off = 0;
  const stream = {
    // Three bytes a read: the second chunk spans the buffered part and later reads.
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
  assert.deepEqual(await reader.readBytesView(2), enc.encode("xy"));
  assert.equal(await reader.read(), '{"b":2}');
  assert.deepEqual(await reader.readBytesView(5), enc.encode("\x00\n\xff\n"));
  assert.equal(await reader.read(), '{"c":3}');
  await assert.rejects(reader.readBytesView(1), ConnectionClosedError);
});

Deno.test("FanoutView shows raw bytes as the same prefixed lines as text", () => {
  const hosts = ["web1", "db10"];
  const cmd = { kind: "exec", shell: "sh", command: "x" } as const;
  const output = [
    "first line\nsecond é line\n",
    "a partial ",
    "line that ends later\n\n",
    "x".repeat(70_000) + "\nlast, without newline",
  ].join("");
  const bytes = enc.encode(output);
  function render(feed: (view: FanoutView, host: string) => void, withBytes: boolean): string {
    let text = "";
    const dec = new TextDecoder();
    const view = new FanoutView(
      {
        out: (t) => text += t,
        ...(withBytes ? { outBytes: (b: Uint8Array) => text += dec.decode(b) } : {}),
        status: () => {},
        color: false,
        progress: false,
        escape: false,
        width: 80,
      },
      cmd,
      hosts,
      "stream",
    );
    for (const host of hosts) feed(view, host);
    for (const host of hosts) view.result({ host, status: "ok", durationMs: 1 });
    return text;
  }
  for (const step of [1, 3, 7, 64, 4096, 65536]) {
    // The reference: the same chunks decoded to text (a held line is cut at 64 KiB alike).
    const fromText = render((view, host) => {
      const dec = new TextDecoder();
      for (let at = 0; at < bytes.length; at += step) {
        const text = dec.decode(bytes.subarray(at, at + step), { stream: true });
        if (text !== "") view.output(host, "stdout", text);
      }
    }, false);
    assert.ok(fromText.includes("db10 | second é line\n"), fromText.slice(0, 200));
    const fromBytes = render((view, host) => {
      const buf = new Uint8Array(step);
      for (let at = 0; at < bytes.length; at += step) {
        const piece = bytes.subarray(at, at + step);
        // The caller's buffer is reused: the view must have copied what it holds.
        buf.set(piece);
        assert.equal(view.outputBytes(host, "stdout", buf.subarray(0, piece.length)), true);
        buf.fill(0x3f);
      }
    }, true);
    assert.equal(fromBytes, fromText, `chunks of ${step} bytes`);
  }
  // Escaping on a terminal needs text: the view says so, and the caller decodes.
  const escaping = new FanoutView(
    { out: () => {}, status: () => {}, color: false, progress: false, escape: true, width: 80 },
    cmd,
    hosts,
  );
  assert.equal(escaping.outputBytes("web1", "stdout", bytes), false);
});
