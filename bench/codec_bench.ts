/**
 * Micro-benchmarks of the codec layer and the `ram` collector (`deno bench
 * --allow-sys bench/codec_bench.ts`): decoding and encoding the frames of the
 * hot paths (a `ram` request and answer, a 64 KiB `output` notification) and
 * one `ram` collection, which the server does up to tens of thousands of times
 * a second.
 * @module
 */

import {
  decodeMessage,
  encodeNotification,
  encodeRequest,
  encodeResult,
} from "../lib/protocol/codec.ts";
import { memoryCollector } from "../lib/sysinfo/memory.ts";

const RAM_RESULT = {
  usedPercent: 12.3,
  totalBytes: 25_000_000_000,
  availableBytes: 22_000_000_000,
  swapTotalBytes: 0,
  swapFreeBytes: 0,
};
const RAM_REQUEST = encodeRequest(12345, "ram");
const RAM_ANSWER = encodeResult(12345, RAM_RESULT);
const CHUNK = "QUFB".repeat(16 * 1024);
const OUTPUT_FRAME = encodeNotification("output", { id: 7, stream: "stdout", data: CHUNK });

Deno.bench("decodeMessage() ram request", { group: "decode" }, () => {
  decodeMessage(RAM_REQUEST);
});

Deno.bench("decodeMessage() ram answer", { group: "decode" }, () => {
  decodeMessage(RAM_ANSWER);
});

Deno.bench("decodeMessage() 64 KiB output notification", { group: "decode" }, () => {
  decodeMessage(OUTPUT_FRAME);
});

Deno.bench("encodeRequest() ram", { group: "encode" }, () => {
  encodeRequest(12345, "ram");
});

Deno.bench("encodeResult() ram answer", { group: "encode" }, () => {
  encodeResult(12345, RAM_RESULT);
});

Deno.bench("encodeNotification() 64 KiB output chunk", { group: "encode" }, () => {
  encodeNotification("output", { id: 7, stream: "stdout", data: CHUNK });
});

Deno.bench("memoryCollector.collect() (ram)", async () => {
  await memoryCollector.collect();
});
