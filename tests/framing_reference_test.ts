/**
 * Framing layer: FrameReader must give exactly what a plain byte-by-byte
 * reference gives, for any chunking, for ASCII, multi-byte and invalid UTF-8,
 * and for characters cut by a read. No permissions.
 * @module
 */

import assert from "node:assert/strict";
import { ProtocolError } from "../lib/protocol/errors.ts";
import { ERROR_CODES } from "../lib/protocol/constants.ts";
import { FrameReader } from "../lib/protocol/framing.ts";
import { chunked, concat, prng, ScriptedStream } from "./protocol_helpers.ts";

const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF is text like any other, kept where the peer put it.
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LIMIT = 1024 * 1024;

/** What the reader must return: split at each newline, decode strictly, or the first error. */
function reference(data: Uint8Array): { frames: string[]; error: number | null } {
  const frames: string[] = [];
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== 0x0a) continue;
    try {
      frames.push(strict.decode(data.subarray(start, i)));
    } catch {
      return { frames, error: ERROR_CODES.parseError };
    }
    start = i + 1;
  }
  return { frames, error: null };
}

async function readAll(data: Uint8Array, chunks: Uint8Array[]): Promise<{
  frames: string[];
  error: number | null;
}> {
  const reader = new FrameReader(new ScriptedStream(chunks), LIMIT);
  const frames: string[] = [];
  try {
    for (let f = await reader.read(); f !== null; f = await reader.read()) frames.push(f);
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `unexpected ${err}`);
    return { frames, error: err.code };
  }
  assert.equal(data.at(-1), 0x0a, "a clean end needs a final newline");
  return { frames, error: null };
}

/** Split `data` at random points, with chunks from 1 byte to 80 KiB. */
function randomChunks(data: Uint8Array, rnd: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length;) {
    const size = rnd() < 0.2 ? 1 + Math.floor(rnd() * 8) : 1 + Math.floor(rnd() * 80 * 1024);
    out.push(data.subarray(off, off + size));
    off += size;
  }
  return out;
}

const PIECES = [
  "QUFBQUFB",
  '{"a":"b"}',
  "größe ",
  "½ ",
  "日本語 ",
  "😀 ",
  "\r",
  "\uFEFF",
  "\uFFFD",
];

/** A frame of about `size` bytes built from `PIECES` (never a newline). */
function frameText(size: number, rnd: () => number, asciiOnly: boolean): string {
  let s = "";
  while (s.length < size) {
    s += asciiOnly ? PIECES[Math.floor(rnd() * 2)]! : PIECES[Math.floor(rnd() * PIECES.length)]!;
  }
  return s;
}

Deno.test("FrameReader.read() matches a byte-by-byte reference under random chunking", async (t) => {
  for (const asciiOnly of [true, false]) {
    await t.step(`${asciiOnly ? "ASCII" : "mixed UTF-8"} frames, random chunking`, async () => {
      for (let seed = 1; seed <= 12; seed++) {
        const rnd = prng(seed);
        const texts = Array.from(
          { length: 20 },
          () =>
            frameText(
              rnd() < 0.5 ? Math.floor(rnd() * 200) : Math.floor(rnd() * 90_000),
              rnd,
              asciiOnly,
            ),
        );
        const data = encoder.encode(texts.map((x) => x + "\n").join(""));
        assert.deepEqual(
          await readAll(data, randomChunks(data, rnd)),
          reference(data),
          `seed ${seed}`,
        );
      }
    });
  }

  await t.step("a multi-byte character cut at every offset of a long read", async () => {
    const text = "x".repeat(5000) + "€😀é" + "y".repeat(5000);
    const data = encoder.encode(text + "\n" + text + "\n");
    for (let cut = 4995; cut < 5015; cut++) {
      const chunks = [data.subarray(0, cut), data.subarray(cut)];
      assert.deepEqual(await readAll(data, chunks), { frames: [text, text], error: null });
    }
  });

  await t.step("invalid UTF-8 inside a long frame is a parseError", async () => {
    for (const bad of [[0x80], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xff]]) {
      const good = encoder.encode("a".repeat(4000) + "\n");
      const data = concat([
        good,
        encoder.encode("b".repeat(3000)),
        new Uint8Array(bad),
        encoder.encode("c".repeat(3000) + "\n"),
      ]);
      for (const size of [data.length, 4096, 3001, 7]) {
        assert.deepEqual(await readAll(data, chunked(data, size)), reference(data), `${bad}`);
        assert.equal(reference(data).error, ERROR_CODES.parseError);
      }
    }
  });

  await t.step("a byte order mark is kept, at the start of a frame or later", async () => {
    const data = encoder.encode("\uFEFF" + "z".repeat(3000) + "\n" + "z".repeat(3000) + "\uFEFF\n");
    assert.deepEqual(await readAll(data, [data]), reference(data));
  });
});
