/**
 * Unit tests of the NATS server-op parser (lib/protocol/nats_parser.ts): every
 * op, every byte split of a stream of several ops, header skipping, malformed
 * and oversized input refused with `ProtocolError`, and no reference kept to
 * the caller's chunks. No permissions needed.
 * @module
 */

import assert from "node:assert/strict";
import {
  MAX_CONTROL_LINE,
  type NatsOpHandler,
  NatsParser,
  type NatsServerInfo,
} from "../lib/protocol/nats_parser.ts";
import { ProtocolError } from "../lib/protocol/errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An op as the recording handler saw it (payloads as text, byte for byte). */
type Op =
  | { op: "msg"; subject: string; sid: number; reply: string | undefined; data: string }
  | { op: "info"; info: NatsServerInfo }
  | { op: "ping" }
  | { op: "pong" }
  | { op: "err"; text: string };

/** A parser with a handler that records every op, and the raw payloads it was given. */
function recorder(maxPayload?: number): { parser: NatsParser; ops: Op[]; payloads: Uint8Array[] } {
  const ops: Op[] = [];
  const payloads: Uint8Array[] = [];
  const handler: NatsOpHandler = {
    msg(subject, sid, reply, data) {
      payloads.push(data);
      ops.push({ op: "msg", subject, sid, reply, data: decoder.decode(data) });
    },
    info(info) {
      ops.push({ op: "info", info });
    },
    ping() {
      ops.push({ op: "ping" });
    },
    pong() {
      ops.push({ op: "pong" });
    },
    err(text) {
      ops.push({ op: "err", text });
    },
  };
  return { parser: new NatsParser(handler, maxPayload), ops, payloads };
}

/** The ops of `text` fed in one chunk. */
function parseAll(text: string | Uint8Array, maxPayload?: number): Op[] {
  const r = recorder(maxPayload);
  r.parser.feed(typeof text === "string" ? encoder.encode(text) : text);
  return r.ops;
}

/** An HMSG's bytes: headers block (`NATS/1.0` + CRLFs) then the payload. */
function hmsg(subject: string, sid: number, reply: string | undefined, payload: string): string {
  const headers = "NATS/1.0\r\nX-Trace: a b\r\n\r\n";
  const h = encoder.encode(headers).length;
  const total = h + encoder.encode(payload).length;
  return `HMSG ${subject} ${sid}${
    reply ? ` ${reply}` : ""
  } ${h} ${total}\r\n${headers}${payload}\r\n`;
}

/** A stream of several ops, payloads with CRLF bytes, header skipping, lower-case names. */
const STREAM = [
  `INFO {"server_id":"abc","max_payload":1048576,"connect_urls":["127.0.0.1:4223"]}\r\n`,
  "PING\r\n",
  "MSG a.b 1 5\r\nhello\r\n",
  "MSG a.b 2 _INBOX.x 4\r\n\r\n\r\n\r\n", // a payload that is two CRLFs
  "+OK\r\n",
  hmsg("h.s", 3, "r.s", "MSG x 1 1\r\n"),
  hmsg("h.t", 4, undefined, ""),
  "msg low.case 5 3\r\nabc\r\n",
  "pong\r\n",
  "-ERR 'Permissions Violation for Publish to \"x\"'\r\n",
  "MSG empty 6 0\r\n\r\n",
  "MSG utf 7 6\r\nh\u00e9\u00e9o\r\n", // 6 bytes of UTF-8
  "ping\r\n",
].join("");

const STREAM_OPS: Op[] = [
  {
    op: "info",
    info: { server_id: "abc", max_payload: 1048576, connect_urls: ["127.0.0.1:4223"] },
  },
  { op: "ping" },
  { op: "msg", subject: "a.b", sid: 1, reply: undefined, data: "hello" },
  { op: "msg", subject: "a.b", sid: 2, reply: "_INBOX.x", data: "\r\n\r\n" },
  { op: "msg", subject: "h.s", sid: 3, reply: "r.s", data: "MSG x 1 1\r\n" },
  { op: "msg", subject: "h.t", sid: 4, reply: undefined, data: "" },
  { op: "msg", subject: "low.case", sid: 5, reply: undefined, data: "abc" },
  { op: "pong" },
  { op: "err", text: 'Permissions Violation for Publish to "x"' },
  { op: "msg", subject: "empty", sid: 6, reply: undefined, data: "" },
  { op: "msg", subject: "utf", sid: 7, reply: undefined, data: "h\u00e9\u00e9o" },
  { op: "ping" },
];

/** Throws unless `fn` throws a `ProtocolError`. */
function assertProtocolError(fn: () => void, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `a ProtocolError, not ${String(err)}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

Deno.test("NatsParser hands over each op, with its fields", async (t) => {
  await t.step("INFO: its JSON object, fields kept", () => {
    const ops = parseAll(`INFO {"server_id":"x","nonce":"n1","ldm":true,"extra":[1]}\r\n`);
    assert.deepEqual(ops, [
      { op: "info", info: { server_id: "x", nonce: "n1", ldm: true, extra: [1] } },
    ]);
  });
  await t.step("MSG without and with a reply subject", () => {
    assert.deepEqual(parseAll("MSG foo.bar 9 3\r\nabc\r\nMSG foo 10 rep.ly 2\r\nxy\r\n"), [
      { op: "msg", subject: "foo.bar", sid: 9, reply: undefined, data: "abc" },
      { op: "msg", subject: "foo", sid: 10, reply: "rep.ly", data: "xy" },
    ]);
  });
  await t.step("HMSG: the headers are skipped, the payload handed over", () => {
    assert.deepEqual(parseAll(hmsg("s", 1, undefined, "body") + hmsg("s", 2, "r", "b2")), [
      { op: "msg", subject: "s", sid: 1, reply: undefined, data: "body" },
      { op: "msg", subject: "s", sid: 2, reply: "r", data: "b2" },
    ]);
  });
  await t.step("PING, PONG, +OK (nothing handed over), -ERR without its quotes", () => {
    assert.deepEqual(parseAll("PING\r\nPONG\r\n+OK\r\n-ERR 'Unknown Protocol Operation'\r\n"), [
      { op: "ping" },
      { op: "pong" },
      { op: "err", text: "Unknown Protocol Operation" },
    ]);
  });
  await t.step("op names in any case; several spaces or tabs between MSG fields", () => {
    assert.deepEqual(parseAll("Ping\r\npOnG\r\nmsg  a \t 1   2\r\nok\r\n"), [
      { op: "ping" },
      { op: "pong" },
      { op: "msg", subject: "a", sid: 1, reply: undefined, data: "ok" },
    ]);
  });
  await t.step(
    "a tab after the op name (the protocol's fields are split by spaces or tabs)",
    () => {
      assert.deepEqual(parseAll("MSG\tt.a\t1\t2\r\nok\r\nINFO\t{\"a\":1}\r\n-ERR\t'x'\r\n"), [
        { op: "msg", subject: "t.a", sid: 1, reply: undefined, data: "ok" },
        { op: "info", info: { a: 1 } },
        { op: "err", text: "x" },
      ]);
    },
  );
  await t.step("nothing is handed over before an op is whole", () => {
    const r = recorder();
    r.parser.feed(encoder.encode("MSG a 1 5\r\nhel"));
    r.parser.feed(encoder.encode("lo\r"));
    assert.deepEqual(r.ops, []);
    r.parser.feed(encoder.encode("\n"));
    assert.deepEqual(r.ops, [{ op: "msg", subject: "a", sid: 1, reply: undefined, data: "hello" }]);
  });
});

Deno.test("NatsParser gives the same ops for every split of a stream into two and three chunks", () => {
  const bytes = encoder.encode(STREAM);
  assert.deepEqual(parseAll(bytes), STREAM_OPS);
  let splits = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const r = recorder();
    r.parser.feed(bytes.subarray(0, i));
    r.parser.feed(bytes.subarray(i));
    assert.deepEqual(r.ops, STREAM_OPS, `split at ${i}`);
    splits++;
  }
  // Three chunks: every first cut, second cuts at a stride (bounded: ~ n²/7 runs).
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j += 7) {
      const r = recorder();
      r.parser.feed(bytes.subarray(0, i));
      r.parser.feed(bytes.subarray(i, j));
      r.parser.feed(bytes.subarray(j));
      assert.deepEqual(r.ops, STREAM_OPS, `split at ${i} and ${j}`);
      splits++;
    }
  }
  assert.ok(splits > bytes.length * 2);
});

Deno.test("NatsParser gives the same ops byte by byte and in random chunks (seeded)", () => {
  const bytes = encoder.encode(STREAM.repeat(3));
  const want = [...STREAM_OPS, ...STREAM_OPS, ...STREAM_OPS];
  const r = recorder();
  for (let i = 0; i < bytes.length; i++) r.parser.feed(bytes.subarray(i, i + 1));
  assert.deepEqual(r.ops, want);
  // A small deterministic generator: failures are reproducible.
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let run = 0; run < 200; run++) {
    const p = recorder();
    let at = 0;
    while (at < bytes.length) {
      const n = 1 + (next() % 40);
      p.parser.feed(bytes.subarray(at, at + n));
      at += n;
    }
    assert.deepEqual(p.ops, want, `run ${run}`);
  }
});

Deno.test("NatsParser keeps no reference to the caller's chunk", async (t) => {
  await t.step("a reused read buffer: payloads delivered stay as they were", () => {
    const r = recorder();
    const buf = new Uint8Array(64);
    const stream = encoder.encode(
      "MSG a 1 5\r\nhello\r\nMSG b 2 5\r\nworld\r\nMSG c 3 6\r\nsplit!\r\n",
    );
    // Feed in chunks through one buffer, overwriting it with 0xff after each feed.
    for (let at = 0; at < stream.length; at += 13) {
      const part = stream.subarray(at, at + 13);
      buf.set(part);
      r.parser.feed(buf.subarray(0, part.length));
      buf.fill(0xff);
    }
    assert.deepEqual(r.ops.map((o) => o.op === "msg" ? o.data : ""), ["hello", "world", "split!"]);
    assert.deepEqual(r.payloads.map((p) => decoder.decode(p)), ["hello", "world", "split!"]);
  });
  await t.step("a whole op in one chunk, the chunk mutated after feed", () => {
    const r = recorder();
    const chunk = encoder.encode("MSG a 1 5\r\nhello\r\nMSG b 2 3\r\nwo");
    r.parser.feed(chunk);
    chunk.fill(0x41);
    r.parser.feed(encoder.encode("r\r\n"));
    assert.deepEqual(r.payloads.map((p) => decoder.decode(p)), ["hello", "wor"]);
  });
  await t.step("every split of the stream, each chunk zeroed after its feed", () => {
    const bytes = encoder.encode(STREAM);
    for (let i = 0; i <= bytes.length; i += 3) {
      const r = recorder();
      const a = bytes.slice(0, i);
      const b = bytes.slice(i);
      r.parser.feed(a);
      a.fill(0);
      r.parser.feed(b);
      b.fill(0);
      assert.deepEqual(r.ops, STREAM_OPS, `split at ${i}`);
    }
  });
});

Deno.test("NatsParser refuses what is not the protocol with ProtocolError", async (t) => {
  const bad: [string, string, RegExp][] = [
    ["an unknown op", "HELLO world\r\n", /Not the NATS protocol/],
    ["an empty line", "\r\n", /Not the NATS protocol/],
    ["an HTTP answer", "HTTP/1.1 400 Bad Request\r\n", /Not the NATS protocol/],
    ["MSG with too few fields", "MSG a 3\r\nabc\r\n", /Malformed NATS MSG/],
    ["MSG with too many fields", "MSG a 1 r x 3\r\nabc\r\n", /Malformed NATS MSG/],
    ["HMSG with too few fields", "HMSG a 1 3\r\nabc\r\n", /Malformed NATS HMSG/],
    ["a non-numeric size", "MSG a 1 3x\r\nabc\r\n", /Malformed NATS line/],
    ["a negative size", "MSG a 1 -3\r\nabc\r\n", /Malformed NATS line/],
    ["a size of 11 digits", "MSG a 1 12345678901\r\n", /Malformed NATS line/],
    ["a non-numeric sid", "MSG a one 3\r\nabc\r\n", /Malformed NATS line/],
    ["a non-numeric header size", "HMSG a 1 h 3\r\nabc\r\n", /Malformed NATS line/],
    ["headers larger than the message", "HMSG a 1 5 3\r\nabc\r\n", /refused/],
    ["a payload not ended by CRLF", "MSG a 1 3\r\nabcd\r\n", /not ended by CRLF/],
    ["a payload ended by LF only", "MSG a 1 3\r\nabc\n\r\n", /not ended by CRLF/],
    ["INFO that is not JSON", "INFO {nope\r\n", /not JSON/],
    ["INFO that is an array", "INFO [1,2]\r\n", /not an object/],
    ["INFO that is null", "INFO null\r\n", /not an object/],
  ];
  for (const [what, text, message] of bad) {
    await t.step(what, () => {
      assertProtocolError(() => parseAll(text), message);
      // The same split in two: refused as well (not silently waited on).
      const bytes = encoder.encode(text);
      const r = recorder();
      assertProtocolError(() => {
        r.parser.feed(bytes.subarray(0, 2));
        r.parser.feed(bytes.subarray(2));
      }, message);
    });
  }
  await t.step("a control line over the limit, with no line end in sight", () => {
    const r = recorder();
    const line = encoder.encode("INFO " + "x".repeat(MAX_CONTROL_LINE));
    assertProtocolError(() => {
      for (let at = 0; at < line.length; at += 4096) r.parser.feed(line.subarray(at, at + 4096));
    }, /control line over/);
  });
  await t.step("a control line of the largest size taken is read", () => {
    const info = `INFO {"pad":"${"y".repeat(MAX_CONTROL_LINE - 20)}"}`;
    assert.ok(encoder.encode(info + "\r\n").length <= MAX_CONTROL_LINE);
    assert.equal(parseAll(info + "\r\n").length, 1);
  });
  await t.step("a payload over the limit is refused before it arrives", () => {
    const r = recorder(1024);
    assertProtocolError(() => r.parser.feed(encoder.encode("MSG a 1 1025\r\n")), /1025 bytes/);
    assert.deepEqual(parseAll("MSG a 1 1024\r\n" + "z".repeat(1024) + "\r\n", 1024).length, 1);
    const h = recorder(10);
    assertProtocolError(() => h.parser.feed(encoder.encode("HMSG a 1 2 11\r\n")), /refused/);
  });
});

Deno.test("NatsParser takes a new payload limit (a server's INFO) for what follows", () => {
  const { parser, ops } = recorder();
  const big = "x".repeat(200);
  parser.feed(encoder.encode(`MSG a 1 200\r\n${big}\r\n`));
  assert.equal(ops.length, 1);
  parser.maxPayload = 100;
  parser.feed(encoder.encode(`MSG a 1 100\r\n${big.slice(0, 100)}\r\n`));
  assert.equal(ops.length, 2);
  assertProtocolError(() => parser.feed(encoder.encode(`MSG a 1 200\r\n${big}\r\n`)), /200 bytes/);
});
