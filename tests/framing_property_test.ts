// Framing layer, property-based (fast-check): FrameReader over scripted
// in-memory streams split at arbitrary byte boundaries. Needs no permissions.
// Each property runs a bounded number of cases, well under 2 s; a failure
// prints its seed, and a seed that found a bug becomes a named regression test.

import assert from "node:assert/strict";
import fc from "fast-check";
import { ConnectionClosedError, ProtocolError } from "../lib/protocol/errors.ts";
import { ERROR_CODES } from "../lib/protocol/constants.ts";
import { FrameReader } from "../lib/protocol/framing.ts";
import { bytes, concat, ScriptedStream } from "./protocol_helpers.ts";

/** Frame text: any Unicode (no lone surrogates), without the newline that ends a frame. */
const smallFrame = fc.string({ unit: "binary", maxLength: 200 }).map((s) =>
  s.replaceAll("\n", " ")
);

/** A frame of a few KiB, so buffers compact and grow past the reader's 8 KiB start. */
const bigFrame = fc.tuple(
  fc.string({ unit: "binary", minLength: 1, maxLength: 4 }),
  fc.integer({ min: 500, max: 5_000 }),
).map(([s, n]) => s.replaceAll("\n", " ").repeat(n));

const frames = fc.array(
  fc.oneof({ arbitrary: smallFrame, weight: 9 }, { arbitrary: bigFrame, weight: 1 }),
  { maxLength: 30 },
);

/** Read sizes to cut the wire into, used in turn: 1 byte up to several reads' worth. */
const cuts = fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 20 });

/** `data` cut into consecutive pieces of the given sizes, cycling through them. */
function* cutAt(data: Uint8Array, sizes: readonly number[]): Generator<Uint8Array> {
  let i = 0;
  for (let off = 0; off < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield data.subarray(off, off + size);
    off += size;
  }
}

/** Read every frame until the end of the stream. */
async function readAll(reader: FrameReader): Promise<string[]> {
  const out: string[] = [];
  for (let f = await reader.read(); f !== null; f = await reader.read()) out.push(f);
  return out;
}

Deno.test("FrameReader.read() returns any frames within the limit, however the bytes are cut", async () => {
  await fc.assert(
    fc.asyncProperty(frames, cuts, fc.nat(100), async (sent, sizes, slack) => {
      const wire = bytes(sent.map((f) => f + "\n").join(""));
      const longest = Math.max(0, ...sent.map((f) => bytes(f).length));
      const reader = new FrameReader(new ScriptedStream(cutAt(wire, sizes)), longest + slack);
      assert.deepEqual(await readAll(reader), sent);
    }),
    { numRuns: 300 },
  );
});

Deno.test("FrameReader.read() refuses a frame over the limit, holding at most the limit plus one read", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(smallFrame, { maxLength: 5 }),
      fc.integer({ min: 1, max: 20_000 }),
      fc.integer({ min: 1, max: 30_000 }),
      fc.boolean(),
      cuts,
      async (before, room, over, ended, sizes) => {
        const prefix = bytes(before.map((f) => f + "\n").join(""));
        // A limit every frame before the big one fits in.
        const limit = Math.max(0, ...before.map((f) => bytes(f).length)) + room;
        // The oversized frame, ended by a newline and more frames, or never ended at all.
        const big = new Uint8Array(limit + over).fill(0x78);
        const tail = ended ? bytes("\n{}\n") : new Uint8Array(0);
        const stream = new ScriptedStream(cutAt(concat([prefix, big, tail]), sizes));
        const reader = new FrameReader(stream, limit);
        for (const f of before) assert.equal(await reader.read(), f);
        const err = await reader.read().then(() => null, (e) => e);
        assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${err}`);
        assert.equal(err.code, ERROR_CODES.tooLarge);
        const held = stream.bytesRead - prefix.length;
        const lastRead = stream.readSizes.at(-1)!;
        assert.ok(
          held <= limit + lastRead,
          `held ${held} bytes, limit ${limit} + read ${lastRead}`,
        );
        // The buffer never grows past twice a frame plus a read.
        for (const size of stream.readSizes) assert.ok(size <= 2 * (limit + 1 + 8 * 1024));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("FrameReader.read() fails on byte soup only with ProtocolError or ConnectionClosedError", async () => {
  const soup = fc.array(fc.uint8Array({ minLength: 1, maxLength: 3_000 }), { maxLength: 12 });
  await fc.assert(
    fc.asyncProperty(soup, fc.integer({ min: 1, max: 4_000 }), async (chunks, limit) => {
      const reader = new FrameReader(new ScriptedStream(chunks), limit);
      try {
        await readAll(reader);
      } catch (err) {
        assert.ok(
          err instanceof ProtocolError || err instanceof ConnectionClosedError,
          `unexpected ${err}`,
        );
      }
    }),
    { numRuns: 300 },
  );
});
