// Framing layer: FrameReader and FrameWriter over scripted in-memory streams.
// Needs no permissions.

import assert from "node:assert/strict";
import { ConnectionClosedError, ProtocolError } from "../lib/protocol/errors.ts";
import { ERROR_CODES, FRAME_LIMITS } from "../lib/protocol/constants.ts";
import { decodeMessage } from "../lib/protocol/codec.ts";
import { FrameReader, FrameWriter, writeAll } from "../lib/protocol/framing.ts";
import { bytes, chunked, concat, prng, ScriptedStream } from "./protocol_helpers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Read every frame until EOF. */
async function readAll(reader: FrameReader): Promise<string[]> {
  const frames: string[] = [];
  for (let f = await reader.read(); f !== null; f = await reader.read()) frames.push(f);
  return frames;
}

/** Assert that `promise` rejects with a ProtocolError carrying `code`; returns it. */
async function rejectsWithCode(promise: Promise<unknown>, code: number): Promise<ProtocolError> {
  let caught: unknown;
  await assert.rejects(promise, (err) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof ProtocolError, `expected ProtocolError, got ${caught}`);
  assert.equal(caught.code, code);
  return caught;
}

/** `n` bytes of `x`, lazily, in chunks of `size`, never a newline. */
function* endless(n: number, size: number): Generator<Uint8Array> {
  const chunk = new Uint8Array(size).fill(0x78);
  for (let sent = 0; sent < n; sent += size) yield chunk.subarray(0, Math.min(size, n - sent));
}

Deno.test("FrameReader.read() splits and joins frames across reads", async (t) => {
  await t.step("returns several frames delivered in one read", async () => {
    const stream = new ScriptedStream(['{"a":1}\n{"b":2}\n{"c":3}\n']);
    const reader = new FrameReader(stream, 1024);
    assert.deepEqual(await readAll(reader), ['{"a":1}', '{"b":2}', '{"c":3}']);
    assert.equal(stream.reads, 1);
  });

  await t.step("joins a frame delivered in parts", async () => {
    const stream = new ScriptedStream(['{"a":', '1}\n{"b"', ":2}", "\n"]);
    assert.deepEqual(await readAll(new FrameReader(stream, 1024)), ['{"a":1}', '{"b":2}']);
  });

  await t.step("joins a frame delivered one byte per read", async () => {
    const text = '{"jsonrpc":"2.0","method":"hello","params":{"nonce":"abc"}}';
    const stream = new ScriptedStream(chunked(`${text}\n${text}\n`, 1));
    assert.deepEqual(await readAll(new FrameReader(stream, 1024)), [text, text]);
    assert.equal(stream.reads, 2 * (text.length + 1));
  });

  await t.step("returns frames in order whatever the chunking", async () => {
    const random = prng(42);
    const frames: string[] = [];
    // Sizes from empty to several times the initial 8 KiB buffer, to exercise compaction and growth.
    for (let i = 0; i < 300; i++) {
      const size = random() < 0.1 ? Math.floor(random() * 40_000) : Math.floor(random() * 300);
      frames.push(String(i % 10).repeat(size));
    }
    const wire = bytes(frames.map((f) => f + "\n").join(""));
    for (const size of [3, 100, 4096, 8192, 9000, 65536, wire.length]) {
      const reader = new FrameReader(new ScriptedStream(chunked(wire, size)), 64 * KiB);
      assert.deepEqual(await readAll(reader), frames, `chunk size ${size}`);
    }
  });

  await t.step("keeps a carriage return (CRLF peers) as part of the frame", async () => {
    const reader = new FrameReader(new ScriptedStream(['{"a":1}\r\n']), 1024);
    assert.equal(await reader.read(), '{"a":1}\r');
  });
});

Deno.test("FrameReader.read() decodes UTF-8 strictly", async (t) => {
  await t.step("decodes a multi-byte character split across reads", async () => {
    // "€" is E2 82 AC and "😀" is F0 9F 98 80: deliver every byte on its own.
    const text = '{"m":"5 € 😀"}';
    const reader = new FrameReader(new ScriptedStream(chunked(`${text}\n`, 1)), 1024);
    assert.equal(await reader.read(), text);
    assert.equal(await reader.read(), null);
  });

  const invalid: [string, number[]][] = [
    ["a lone continuation byte", [0x7b, 0x80, 0x7d]],
    ["an 0xFF byte", [0xff]],
    ["an overlong encoding of '/'", [0xc0, 0xaf]],
    ["a character cut by the newline", [0x22, 0xe2, 0x82]],
    ["an encoded surrogate", [0xed, 0xa0, 0x80]],
  ];
  for (const [what, frame] of invalid) {
    await t.step(`rejects ${what} with parseError`, async () => {
      const stream = new ScriptedStream([new Uint8Array([...frame, 0x0a])]);
      const err = await rejectsWithCode(
        new FrameReader(stream, 1024).read(),
        ERROR_CODES.parseError,
      );
      assert.match(err.message, /UTF-8/);
    });
  }
});

Deno.test("FrameReader.read() keeps a byte-order mark as the peer sent it", async () => {
  // Regression: fast-check (framing_property_test, seed -1378724493) found a frame holding
  // only U+FEFF read back as "": TextDecoder drops a leading BOM unless told not to.
  const reader = new FrameReader(new ScriptedStream(["\uFEFF\n", '\uFEFF{"a":1}\n']), 1024);
  assert.equal(await reader.read(), "\uFEFF");
  const second = await reader.read();
  assert.equal(second, '\uFEFF{"a":1}');
  // So a frame that starts with a BOM is not JSON, as protocol.md §1 says.
  assert.throws(() => decodeMessage(second!), ProtocolError);
});

Deno.test("FrameReader.read() enforces the frame limit", async (t) => {
  const limit = 64;

  await t.step("accepts a frame of exactly the limit in one read", async () => {
    const frame = "a".repeat(limit);
    const reader = new FrameReader(new ScriptedStream([`${frame}\n`]), limit);
    assert.equal(await reader.read(), frame);
  });

  await t.step("accepts a frame of exactly the limit one byte per read", async () => {
    const frame = "b".repeat(limit);
    const reader = new FrameReader(new ScriptedStream(chunked(`${frame}\nok\n`, 1)), limit);
    assert.deepEqual(await readAll(reader), [frame, "ok"]);
  });

  await t.step("counts bytes, not characters", async () => {
    // 32 two-byte characters are 64 bytes: at the limit. One more is over it.
    const atLimit = "é".repeat(limit / 2);
    const reader = new FrameReader(new ScriptedStream([`${atLimit}\n${atLimit}é\n`]), limit);
    assert.equal(await reader.read(), atLimit);
    await rejectsWithCode(reader.read(), ERROR_CODES.tooLarge);
  });

  await t.step(
    "rejects a frame one byte over the limit whose newline is in the same read",
    async () => {
      const stream = new ScriptedStream([`${"c".repeat(limit + 1)}\n`]);
      const err = await rejectsWithCode(
        new FrameReader(stream, limit).read(),
        ERROR_CODES.tooLarge,
      );
      assert.equal(err.message, `Cannot read frame: ${limit + 1} bytes exceeds the 64-byte limit`);
    },
  );

  await t.step("rejects a frame one byte over the limit before its newline arrives", async () => {
    const stream = new ScriptedStream(chunked(`${"d".repeat(limit + 1)}\n`, 1));
    await rejectsWithCode(new FrameReader(stream, limit).read(), ERROR_CODES.tooLarge);
    // It gave up as soon as the frame was too long: the newline was never read.
    assert.equal(stream.bytesRead, limit + 1);
  });

  await t.step("rejects an oversized frame even though a newline comes later", async () => {
    const stream = new ScriptedStream(chunked(`${"e".repeat(20 * KiB)}\n{"ok":1}\n`, KiB));
    await rejectsWithCode(new FrameReader(stream, 4 * KiB).read(), ERROR_CODES.tooLarge);
    assert.ok(stream.bytesRead <= 5 * KiB, `read ${stream.bytesRead} bytes`);
  });

  await t.step("rejects a frame over the limit after valid frames in the same read", async () => {
    const reader = new FrameReader(new ScriptedStream([`ok\n${"f".repeat(limit + 10)}\n`]), limit);
    assert.equal(await reader.read(), "ok");
    await rejectsWithCode(reader.read(), ERROR_CODES.tooLarge);
  });
});

Deno.test("FrameReader.read() stays bounded against a peer that never sends a newline", async (t) => {
  const total = 10 * 1000 * 1000;
  const chunk = 64 * KiB;

  for (const limit of [FRAME_LIMITS.preAuth, FRAME_LIMITS.postAuth]) {
    await t.step(`stops within limit + one read for a ${limit}-byte limit`, async () => {
      const stream = new ScriptedStream(endless(total, chunk));
      await rejectsWithCode(new FrameReader(stream, limit).read(), ERROR_CODES.tooLarge);
      assert.ok(
        stream.bytesRead <= limit + chunk,
        `read ${stream.bytesRead} bytes for a ${limit}-byte limit`,
      );
      assert.ok(stream.bytesRead > limit, "must not fail before the limit is passed");
    });
  }

  await t.step("never offers the stream a buffer much larger than twice the limit", async () => {
    const stream = new ScriptedStream(endless(total, chunk));
    await rejectsWithCode(new FrameReader(stream, MiB).read(), ERROR_CODES.tooLarge);
    assert.ok(Math.max(...stream.readSizes) <= 2 * MiB + 16 * KiB);
  });
});

Deno.test("FrameReader.read() handles edges of the stream", async (t) => {
  await t.step("returns null at a clean end of stream", async () => {
    const reader = new FrameReader(new ScriptedStream([]), 1024);
    assert.equal(await reader.read(), null);
  });

  await t.step("returns null after the last complete frame", async () => {
    const reader = new FrameReader(new ScriptedStream(["one\ntwo\n"]), 1024);
    assert.deepEqual(await readAll(reader), ["one", "two"]);
    assert.equal(await reader.read(), null);
  });

  await t.step("throws ConnectionClosedError when the stream ends mid-frame", async () => {
    const reader = new FrameReader(new ScriptedStream(['one\n{"half":']), 1024);
    assert.equal(await reader.read(), "one");
    await assert.rejects(reader.read(), ConnectionClosedError);
  });

  await t.step("returns an empty frame for an empty line, which the codec rejects", async () => {
    const reader = new FrameReader(new ScriptedStream(["\n\nx\n"]), 1024);
    assert.deepEqual(await readAll(reader), ["", "", "x"]);
    assert.throws(
      () => decodeMessage(""),
      (err) => err instanceof ProtocolError && err.code === ERROR_CODES.parseError,
    );
  });

  await t.step("passes on the stream's own read error", async () => {
    const stream = new ScriptedStream(["never read"]);
    stream.close();
    await assert.rejects(new FrameReader(stream, 1024).read(), Deno.errors.BadResource);
  });
});

Deno.test("FrameReader.maxFrameBytes applies to the next frame once raised", async (t) => {
  await t.step("accepts a bigger frame after the limit is raised", async () => {
    const big = "g".repeat(5000);
    const stream = new ScriptedStream(["auth\n", `${big}\n`]);
    const reader = new FrameReader(stream, FRAME_LIMITS.preAuth);
    assert.equal(await reader.read(), "auth");
    reader.maxFrameBytes = FRAME_LIMITS.postAuth;
    assert.equal(await reader.read(), big);
  });

  await t.step("accepts a bigger frame already buffered with the small one", async () => {
    // A client may pipeline its first command right behind auth, in the same segment.
    const big = "h".repeat(5000);
    const reader = new FrameReader(new ScriptedStream([`auth\n${big}\n`]), FRAME_LIMITS.preAuth);
    assert.equal(await reader.read(), "auth");
    reader.maxFrameBytes = FRAME_LIMITS.postAuth;
    assert.equal(await reader.read(), big);
  });

  await t.step("rejects the same frame while the limit is still small", async () => {
    const reader = new FrameReader(
      new ScriptedStream([`auth\n${"i".repeat(5000)}\n`]),
      FRAME_LIMITS.preAuth,
    );
    assert.equal(await reader.read(), "auth");
    await rejectsWithCode(reader.read(), ERROR_CODES.tooLarge);
  });
});

Deno.test("FrameWriter.write() batches and orders frames", async (t) => {
  await t.step("sends frames written in the same tick in one write call", async () => {
    const stream = new ScriptedStream([]);
    const writer = new FrameWriter(stream);
    await Promise.all([writer.write("one"), writer.write("two"), writer.write("three")]);
    assert.equal(stream.writes.length, 1);
    assert.equal(stream.writtenText(), "one\ntwo\nthree\n");
  });

  await t.step("sends a lone frame with its newline", async () => {
    const stream = new ScriptedStream([]);
    await new FrameWriter(stream).write('{"a":1}');
    assert.equal(stream.writtenText(), '{"a":1}\n');
  });

  await t.step(
    "sends frames queued during a write together in the next write, in order",
    async () => {
      const gate = Promise.withResolvers<void>();
      let calls = 0;
      const stream = new ScriptedStream([], {
        onWrite: () => calls++ === 0 ? gate.promise : undefined,
      });
      const writer = new FrameWriter(stream);
      const first = writer.write("1");
      await Promise.resolve();
      await Promise.resolve();
      // The first write is now in flight and blocked; these queue behind it.
      const rest = [writer.write("2"), writer.write("3"), writer.write("4")];
      assert.equal(stream.writes.length, 0);
      gate.resolve();
      await Promise.all([first, ...rest]);
      assert.deepEqual(stream.writes.map((w) => new TextDecoder().decode(w)), ["1\n", "2\n3\n4\n"]);
    },
  );

  await t.step("resolves only once the stream has taken the bytes", async () => {
    const gate = Promise.withResolvers<void>();
    const stream = new ScriptedStream([], { onWrite: () => gate.promise });
    let done = false;
    const written = new FrameWriter(stream).write("slow").then(() => done = true);
    for (let i = 0; i < 10; i++) await Promise.resolve();
    assert.equal(done, false);
    gate.resolve();
    await written;
    assert.equal(done, true);
    assert.equal(stream.writtenText(), "slow\n");
  });

  await t.step("completes short writes", async () => {
    const stream = new ScriptedStream([], { maxWriteBytes: 3 });
    const writer = new FrameWriter(stream);
    await Promise.all([writer.write("abcdefg"), writer.write("€uro")]);
    assert.equal(stream.writtenText(), "abcdefg\n€uro\n");
    assert.ok(stream.writes.every((w) => w.length <= 3));
  });

  await t.step("starts a new batch after the previous one finished", async () => {
    const stream = new ScriptedStream([]);
    const writer = new FrameWriter(stream);
    await writer.write("a");
    await writer.write("b");
    assert.equal(stream.writes.length, 2);
    assert.equal(stream.writtenText(), "a\nb\n");
  });
});

Deno.test("FrameWriter.write() never rejects when the stream fails", async (t) => {
  await t.step("calls onError once and drops later frames", async () => {
    const broken = new Deno.errors.BrokenPipe("Broken pipe");
    let attempts = 0;
    const stream = new ScriptedStream([], {
      onWrite: () => {
        attempts++;
        throw broken;
      },
    });
    const errors: ConnectionClosedError[] = [];
    const writer = new FrameWriter(stream, (err) => errors.push(err));
    // Same tick: one batch, one failed write; none of these promises may reject.
    await Promise.all([writer.write("a"), writer.write("b"), writer.write("c")]);
    await writer.write("after the failure");
    await writer.write("and another");
    assert.equal(attempts, 1);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof ConnectionClosedError);
    assert.equal(errors[0].cause, broken);
    assert.equal(writer.failed, errors[0]);
    assert.equal(stream.writes.length, 0);
  });

  await t.step("fails frames queued behind the failed write without rejecting them", async () => {
    const gate = Promise.withResolvers<void>();
    let calls = 0;
    const stream = new ScriptedStream([], {
      onWrite: async () => {
        if (calls++ > 0) return;
        await gate.promise;
        throw new Deno.errors.ConnectionReset("reset");
      },
    });
    let onErrorCalls = 0;
    const writer = new FrameWriter(stream, () => onErrorCalls++);
    const first = writer.write("first");
    await Promise.resolve();
    await Promise.resolve();
    const queued = writer.write("queued");
    gate.resolve();
    await Promise.all([first, queued]);
    assert.equal(onErrorCalls, 1);
    assert.equal(calls, 1, "the queued frame must not be written after a failure");
  });
});

Deno.test("FrameWriter.writes and .writing show whether writes make progress", async (t) => {
  await t.step("writing while a write waits; writes counts each write as it starts", async () => {
    const gate = Promise.withResolvers<void>();
    const stream = new ScriptedStream([], { onWrite: () => gate.promise });
    const writer = new FrameWriter(stream);
    assert.equal(writer.writing, false);
    assert.equal(writer.writes, 0);
    const written = writer.write("slow");
    for (let i = 0; i < 5; i++) await Promise.resolve();
    assert.equal(writer.writing, true);
    assert.equal(writer.writes, 1);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    assert.equal(writer.writes, 1, "a stalled write does not move the count");
    gate.resolve();
    await written;
    assert.equal(writer.writing, false);
    assert.equal(writer.writes, 1);
  });

  await t.step(
    "each partial write moves the count, so a peer that drains is seen draining",
    async () => {
      const counts: number[] = [];
      let writer: FrameWriter | null = null;
      const stream = new ScriptedStream([], {
        maxWriteBytes: 4,
        onWrite: () => {
          counts.push(writer!.writes);
        },
      });
      writer = new FrameWriter(stream);
      await writer.write("0123456789");
      assert.deepEqual(counts, [1, 2, 3]);
      assert.equal(writer.writing, false);
    },
  );

  await t.step("is not writing after a failed write", async () => {
    const stream = new ScriptedStream([], {
      onWrite: () => {
        throw new Deno.errors.BrokenPipe("Broken pipe");
      },
    });
    const writer = new FrameWriter(stream);
    await writer.write("x");
    assert.equal(writer.writing, false);
  });
});

Deno.test("writeAll() writes every byte over short writes", async () => {
  const stream = new ScriptedStream([], { maxWriteBytes: 5 });
  const data = bytes("x".repeat(23));
  await writeAll(stream, data);
  assert.deepEqual(concat(stream.writes), data);
  assert.equal(stream.writes.length, 5);
});
