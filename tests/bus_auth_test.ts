/**
 * Unit tests of bus-mode authenticity (bus_auth.ts) and subjects
 * (nats_subjects.ts): pure, no permissions.
 * @module
 */

import assert from "node:assert/strict";
import { BusKey, busNonce, parseRequest, RequestGuard } from "../lib/protocol/bus_auth.ts";
import { toBase64Url } from "../lib/protocol/auth.ts";
import { FleetSubjects, subjectToken } from "../lib/protocol/nats_subjects.ts";

const key = new BusKey("test-token-0123456789abcdef");
const other = new BusKey("other-token-0123456789abcdef");
const subjects = new FleetSubjects("prod");
const encoder = new TextEncoder();

function request(opts: { subject?: string; ts?: number; k?: BusKey; nonce?: string } = {}) {
  return (opts.k ?? key).signRequest(opts.subject ?? subjects.host("web1"), {
    method: "ram",
    params: "{}",
    reply: subjects.reply("r1"),
    ts: opts.ts ?? 1_000_000,
    nonce: opts.nonce ?? busNonce(),
  });
}

Deno.test("subjectToken() keeps a name one subject token", () => {
  assert.equal(subjectToken("web-1_a"), "web-1_a");
  assert.equal(subjectToken("web1.example.com"), "web1%2Eexample%2Ecom");
  assert.equal(subjectToken("a*>b c"), "a%2A%3Eb%20c");
  assert.equal(subjectToken("é"), "%C3%A9");
  assert.throws(() => subjectToken(""), RangeError);
  assert.throws(() => subjectToken("x".repeat(129)), RangeError);
});

Deno.test("FleetSubjects names the versioned subjects of one fleet", () => {
  assert.equal(subjects.host("web1"), "rmon.v1.prod.host.web1");
  assert.equal(subjects.group("db"), "rmon.v1.prod.group.db");
  assert.equal(subjects.all, "rmon.v1.prod.all");
  assert.equal(subjects.ctl("web1"), "rmon.v1.prod.ctl.web1");
  assert.equal(subjects.call("n0nce-_x"), "rmon.v1.prod.call.n0nce-_x");
  assert.equal(subjects.presence("web1.example"), "rmon.v1.prod.presence.web1%2Eexample");
  assert.equal(subjects.presenceAll, "rmon.v1.prod.presence.*");
  assert.ok(subjects.isReply(subjects.reply("abc")));
  assert.ok(!subjects.isReply("rmon.v1.prod.host.web1"));
  assert.ok(!subjects.isReply("rmon.v1.other.reply.abc"));
  assert.ok(!subjects.isReply("rmon.v1.prod.reply.a.b"));
});

Deno.test("RequestGuard.check() refuses what a bus could forge or replay", async (t) => {
  let now = 1_000_000;
  const guard = new RequestGuard(key, { now: () => now, capacity: 3 });
  const subject = subjects.host("web1");

  await t.step("accepts a fresh request once, then refuses its replay", () => {
    const r = request();
    assert.equal(guard.check(subject, r).ok, true);
    const again = guard.check(subject, r);
    assert.equal(again.ok, false);
    assert.equal(!again.ok && again.why, "replayed");
  });
  await t.step("refuses a request moved to another subject", () => {
    const r = guard.check(subjects.host("web2"), request());
    assert.equal(!r.ok && r.why, "bad-mac");
  });
  await t.step("refuses another token's MAC and junk", () => {
    assert.equal(guard.check(subject, request({ k: other })).ok, false);
    const junk = guard.check(subject, encoder.encode("{nope"));
    assert.equal(!junk.ok && junk.why, "malformed");
    const tampered = JSON.parse(new TextDecoder().decode(request()));
    tampered.params = '{"evil":1}';
    const r = guard.check(subject, encoder.encode(JSON.stringify(tampered)));
    assert.equal(!r.ok && r.why, "bad-mac");
  });
  await t.step("refuses a request outside ±30 s, either way", () => {
    for (const ts of [now - 30_001, now + 30_001]) {
      const r = guard.check(subject, request({ ts }));
      assert.equal(!r.ok && r.why, "stale");
      assert.ok(!r.ok && r.req !== undefined, "an authentic refusal names its reply subject");
    }
    assert.equal(guard.check(subject, request({ ts: now - 30_000 })).ok, true);
  });
  await t.step("a full cache refuses rather than forgets a live nonce", () => {
    assert.equal(guard.size, 2);
    assert.equal(guard.check(subject, request()).ok, true);
    const r = guard.check(subject, request());
    assert.equal(!r.ok && r.why, "busy");
  });
  await t.step("nonces are forgotten once their request would be stale anyway", () => {
    now += 61_000;
    assert.equal(guard.check(subject, request({ ts: now })).ok, true);
    assert.equal(guard.size, 1);
  });
});

Deno.test("BusKey.openReply() accepts only the agent's MAC for this request", () => {
  const nonce = busNonce();
  const reply = subjects.reply("r1");
  const m = { host: "web1", seq: 0, kind: "end", body: '{"result":{}}' } as const;
  const good = key.signReply(nonce, reply, m);
  assert.deepEqual(key.openReply(nonce, reply, good)?.body, m.body);
  assert.equal(key.openReply(busNonce(), reply, good), null, "bound to the request's nonce");
  assert.equal(
    key.openReply(nonce, subjects.reply("r2"), good),
    null,
    "bound to the reply subject",
  );
  assert.equal(key.openReply(nonce, reply, other.signReply(nonce, reply, m)), null);
  const moved = JSON.parse(new TextDecoder().decode(good));
  moved.host = "web2";
  assert.equal(key.openReply(nonce, reply, encoder.encode(JSON.stringify(moved))), null);
  assert.equal(key.openReply(nonce, reply, encoder.encode("[]")), null);
  // The MAC text must be exactly right: every character, no more, no fewer.
  const mac = (JSON.parse(new TextDecoder().decode(good)) as { mac: string }).mac;
  const withMac = (text: string) => encoder.encode(JSON.stringify({ ...m, mac: text }));
  assert.ok(key.openReply(nonce, reply, withMac(mac)));
  const flip = (i: number) => mac.slice(0, i) + (mac[i] === "A" ? "B" : "A") + mac.slice(i + 1);
  for (let i = 0; i < mac.length; i++) {
    assert.equal(key.openReply(nonce, reply, withMac(flip(i))), null, `character ${i}`);
  }
  for (const bad of [mac.slice(0, -1), mac + "A", mac + "=", "", mac.toUpperCase()]) {
    assert.equal(key.openReply(nonce, reply, withMac(bad)), null, bad);
  }
});

Deno.test("a request MAC never passes as a reply MAC", () => {
  const body = request({ nonce: "n".repeat(24) });
  const req = parseRequest(body)!;
  const asReply = encoder.encode(JSON.stringify({
    host: "web1",
    seq: 0,
    kind: "end",
    body: "{}",
    mac: req.mac,
  }));
  assert.equal(key.openReply(req.nonce, req.reply, asReply), null);
});

Deno.test("BusKey MACs match the known answers in docs/protocol.md §12", () => {
  const k = new BusKey("test-token-0123456789abcdef");
  const req = {
    method: "ram",
    params: "{}",
    reply: "rmon.v1.default.reply.r1",
    ts: 1767225600000,
    nonce: "AAECAwQFBgcICQoLDA0ODxAR",
  };
  assert.equal(
    k.requestMac("rmon.v1.default.host.web1", req),
    "9RwHc0jnEedIHxY2r9xDpBtQwc50HGGWE1ij6RX2HXA",
  );
  assert.equal(
    k.replyMac(req.nonce, req.reply, { host: "web1", seq: 0, kind: "end", body: '{"result":{}}' }),
    "SjA1NpNkxmdRpLOrqSO_nKsJ2emMhd-p5HSL8LBpxhQ",
  );
});

Deno.test("BusKey MACs equal HMAC-SHA256 over TextEncoder's bytes, for any text", async () => {
  // The MAC input is written by hand (no TextEncoder per field): it must be the same bytes.
  const token = "test-token-0123456789abcdef";
  const key = new BusKey(token);
  const webKey = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(token),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const reference = async (fields: string[]) => {
    const parts = fields.map((f) => new TextEncoder().encode(f));
    const input = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
    const view = new DataView(input.buffer);
    let at = 0;
    for (const p of parts) {
      view.setUint32(at, p.length);
      input.set(p, at + 4);
      at += 4 + p.length;
    }
    return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", webKey, input)));
  };
  const units = ["a", "é", "€", "\u{1F600}", "\ud800", "\udc00", "\u0000", "ß", "\u07ff", "x"];
  for (let round = 0; round < 200; round++) {
    const text = (n: number) =>
      Array.from({ length: n }, () => units[Math.floor(Math.random() * units.length)]).join("");
    const m = { host: text(round % 7), seq: round, kind: "out" as const, body: text(round * 3) };
    const nonce = text(5);
    const reply = `rmon.v1.x.reply.${round}`;
    assert.equal(
      key.replyMac(nonce, reply, m),
      await reference([
        "rmon-bus-v1",
        "reply",
        nonce,
        reply,
        m.host,
        String(m.seq),
        m.kind,
        m.body,
      ]),
      JSON.stringify(m),
    );
  }
  // A field far bigger than the reused buffer's start.
  const body = "€".repeat(10_000);
  assert.equal(
    key.replyMac("n", "r", { host: "h", seq: 0, kind: "end", body }),
    await reference(["rmon-bus-v1", "reply", "n", "r", "h", "0", "end", body]),
  );
});
