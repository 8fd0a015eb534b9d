/**
 * Micro-benchmarks of the framing layer on in-memory streams (`deno bench
 * bench/framing_bench.ts`, no permissions): reading small frames the size of
 * a `ram` answer and 64 KiB `output` frames, and writing batches of frames.
 * @module
 */

import { type ByteStream, FrameReader, FrameWriter } from "../lib/protocol/framing.ts";

const encoder = new TextEncoder();

/** Serves `data` in reads of at most `chunk` bytes, over and over; writes are discarded. */
class LoopStream implements ByteStream {
  #data: Uint8Array;
  #chunk: number;
  #off = 0;
  constructor(data: Uint8Array, chunk: number) {
    this.#data = data;
    this.#chunk = chunk;
  }
  read(p: Uint8Array): Promise<number | null> {
    if (this.#off >= this.#data.length) this.#off = 0;
    const n = Math.min(p.length, this.#chunk, this.#data.length - this.#off);
    p.set(this.#data.subarray(this.#off, this.#off + n));
    this.#off += n;
    return Promise.resolve(n);
  }
  write(p: Uint8Array): Promise<number> {
    return Promise.resolve(p.length);
  }
  close(): void {}
}

const RAM_ANSWER = JSON.stringify({
  jsonrpc: "2.0",
  id: 12345,
  result: {
    usedPercent: 12.3,
    totalBytes: 25_000_000_000,
    availableBytes: 22_000_000_000,
    swapTotalBytes: 0,
    swapFreeBytes: 0,
  },
});
const OUTPUT_FRAME = JSON.stringify({
  jsonrpc: "2.0",
  method: "output",
  params: { id: 7, stream: "stdout", data: "QUFB".repeat(16 * 1024) },
});

const UTF8_FRAME = JSON.stringify({
  jsonrpc: "2.0",
  method: "output",
  params: { id: 7, stream: "stdout", data: "größe née ½ ".repeat(5 * 1024) },
});

const SMALL_FRAMES = 1000;
const smallData = encoder.encode((RAM_ANSWER + "\n").repeat(SMALL_FRAMES));
const bigData = encoder.encode((OUTPUT_FRAME + "\n").repeat(16));
const utf8Data = encoder.encode((UTF8_FRAME + "\n").repeat(16));

Deno.bench(`FrameReader.read() ${SMALL_FRAMES} ram-sized frames from 64 KiB reads`, async (b) => {
  const reader = new FrameReader(new LoopStream(smallData, 64 * 1024), 1024 * 1024);
  b.start();
  for (let i = 0; i < SMALL_FRAMES; i++) await reader.read();
  b.end();
});

Deno.bench("FrameReader.read() 16 output frames of 64 KiB from 64 KiB reads", async (b) => {
  const reader = new FrameReader(new LoopStream(bigData, 64 * 1024), 1024 * 1024);
  b.start();
  for (let i = 0; i < 16; i++) await reader.read();
  b.end();
});

Deno.bench("FrameReader.read() 16 non-ASCII output frames of 64 KiB", async (b) => {
  const reader = new FrameReader(new LoopStream(utf8Data, 64 * 1024), 1024 * 1024);
  b.start();
  for (let i = 0; i < 16; i++) await reader.read();
  b.end();
});

Deno.bench(`FrameWriter.write() ${SMALL_FRAMES} ram-sized frames in one tick`, async (b) => {
  const writer = new FrameWriter(new LoopStream(new Uint8Array(1), 1));
  b.start();
  const all = [];
  for (let i = 0; i < SMALL_FRAMES; i++) all.push(writer.write(RAM_ANSWER));
  await Promise.all(all);
  b.end();
});

Deno.bench(`FrameWriter.write() ${SMALL_FRAMES} ram-sized frames, one at a time`, async (b) => {
  const writer = new FrameWriter(new LoopStream(new Uint8Array(1), 1));
  b.start();
  for (let i = 0; i < SMALL_FRAMES; i++) await writer.write(RAM_ANSWER);
  b.end();
});

Deno.bench("FrameWriter.write() 16 output frames of 64 KiB, one at a time", async (b) => {
  const writer = new FrameWriter(new LoopStream(new Uint8Array(1), 1));
  b.start();
  for (let i = 0; i < 16; i++) await writer.write(OUTPUT_FRAME);
  b.end();
});
