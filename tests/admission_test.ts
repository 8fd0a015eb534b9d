/**
 * Unit tests of admission control: source keys, `--max-startups` parsing, the
 * penalty table and the accept-time verdicts, with an injected clock and
 * dice so nothing sleeps. Needs no permissions.
 * @module
 */

import assert from "node:assert/strict";
import {
  Admission,
  type AdmissionLimits,
  type AdmissionTicket,
  DEFAULT_ADMISSION,
  parseStartups,
  PenaltyTable,
  type Refusal,
  sourceKey,
} from "../lib/server/admission.ts";

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => t += ms };
}

/** The ticket of an admitted connection, failing the test on a refusal. */
function admitted(verdict: AdmissionTicket | Refusal): AdmissionTicket {
  if ("refused" in verdict) throw new Error(`Expected a ticket, got refused: ${verdict.refused}`);
  return verdict;
}

/** The refusal reason, failing the test when the connection was admitted. */
function refused(verdict: AdmissionTicket | Refusal): string {
  if (!("refused" in verdict)) throw new Error(`Expected a refusal, got a ticket`);
  return verdict.refused;
}

const NO_PENALTY: AdmissionLimits = { ...DEFAULT_ADMISSION, penaltyMs: 0 };

Deno.test("sourceKey() groups IPv6 by /64 and keeps IPv4 addresses apart", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", "127.0.0.1"],
    ["127.0.0.2", "127.0.0.2"],
    ["::ffff:192.0.2.7", "192.0.2.7"],
    ["[::FFFF:192.0.2.7]", "192.0.2.7"],
    ["2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:bbbb:cccc:dddd:eeee", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002::9", "2001:db8:1:2::/64"],
    ["2001:db8:1:3::1", "2001:db8:1:3::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["64:ff9b::192.0.2.1", "64:ff9b:0:0::/64"],
    ["not-an-address", "not-an-address"],
    ["1::2::3", "1::2::3"],
  ];
  for (const [address, key] of cases) assert.equal(sourceKey(address), key, address);
});

Deno.test("parseStartups() reads START:RATE:FULL or one number", () => {
  assert.deepEqual(parseStartups("10:30:64"), { start: 10, rate: 30, full: 64 });
  assert.deepEqual(parseStartups("8"), { start: 8, rate: 100, full: 8 });
  assert.deepEqual(parseStartups("5:0:5"), { start: 5, rate: 0, full: 5 });
  for (const bad of ["", "10:30", "1:2:3:4", "0:30:64", "65:30:64", "10:101:64", "a:b:c", "-1"]) {
    assert.throws(() => parseStartups(bad), SyntaxError, bad);
  }
});

Deno.test("PenaltyTable doubles penalties per repeat, up to the cap", async (t) => {
  await t.step("1 s, 2 s, 4 s … capped at the maximum", () => {
    const clock = fakeClock();
    const table = new PenaltyTable({ baseMs: 1_000, maxMs: 10_000, capacity: 10, ...clock });
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      seen.push(table.offend("a"));
      clock.advance(table.remaining("a") + 1); // each offence after the previous penalty ended
    }
    assert.deepEqual(seen, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  await t.step("a penalty runs out, and other sources are unaffected", () => {
    const clock = fakeClock();
    const table = new PenaltyTable({ baseMs: 1_000, maxMs: 60_000, capacity: 10, ...clock });
    table.offend("a");
    assert.equal(table.remaining("a"), 1_000);
    assert.equal(table.remaining("b"), 0);
    clock.advance(999);
    assert.equal(table.remaining("a"), 1);
    clock.advance(1);
    assert.equal(table.remaining("a"), 0);
  });

  await t.step("a source that behaves for the maximum after its penalty starts over", () => {
    const clock = fakeClock();
    const table = new PenaltyTable({ baseMs: 1_000, maxMs: 60_000, capacity: 10, ...clock });
    table.offend("a");
    clock.advance(1_000 + 59_999);
    assert.equal(table.offend("a"), 2_000, "still the same streak");
    clock.advance(2_000 + 60_000);
    assert.equal(table.remaining("a"), 0);
    assert.equal(table.size, 0, "a finished streak is forgotten when looked up");
    assert.equal(table.offend("a"), 1_000, "a new streak");
  });

  await t.step("holds at most its capacity, dropping the oldest offender", () => {
    const clock = fakeClock();
    const table = new PenaltyTable({ baseMs: 1_000, maxMs: 60_000, capacity: 3, ...clock });
    for (const s of ["a", "b", "c"]) table.offend(s);
    table.offend("a"); // now the newest
    table.offend("d");
    assert.equal(table.size, 3);
    assert.equal(table.remaining("b"), 0, "b was the oldest and is gone");
    assert.ok(table.remaining("a") > 0 && table.remaining("c") > 0 && table.remaining("d") > 0);
  });

  await t.step("stays at its capacity under a flood of distinct sources", () => {
    const clock = fakeClock();
    const table = new PenaltyTable({ baseMs: 1_000, maxMs: 60_000, capacity: 65_536, ...clock });
    for (let i = 0; i < 200_000; i++) table.offend(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    assert.equal(table.size, 65_536);
  });

  await t.step("a base of 0 disables it", () => {
    const table = new PenaltyTable({ baseMs: 0, maxMs: 60_000, capacity: 3 });
    assert.equal(table.offend("a"), 0);
    assert.equal(table.remaining("a"), 0);
    assert.equal(table.size, 0);
  });
});

Deno.test("Admission.admit() caps unauthenticated connections per source", () => {
  const adm = new Admission({ ...NO_PENALTY, startupsPerSource: 3 });
  const held = [1, 2, 3].map(() => admitted(adm.admit("127.0.0.1")));
  assert.equal(
    refused(adm.admit("127.0.0.1")),
    "3 unauthenticated connections from 127.0.0.1 already",
  );
  assert.ok(admitted(adm.admit("127.0.0.2")), "another source is unaffected");
  // One IPv6 host holds a whole /64: its addresses share one count.
  for (const a of ["2001:db8::1", "2001:db8::2", "2001:db8::3"]) admitted(adm.admit(a));
  assert.match(refused(adm.admit("2001:db8::ffff")), /from 2001:db8:0:0::\/64 already/);
  held[0]!.release();
  assert.ok(admitted(adm.admit("127.0.0.1")), "a freed slot is usable again");
});

Deno.test("Admission.admit() drops early between start and full, like sshd's MaxStartups", async (t) => {
  const limits = {
    ...NO_PENALTY,
    startups: { start: 2, rate: 30, full: 6 },
    startupsPerSource: 99,
  };
  /** Fill `adm` with `n` unauthenticated connections from distinct sources. */
  const fill = (adm: Admission, n: number) => {
    for (let i = 0; i < n; i++) admitted(adm.admit(`10.0.0.${i}`));
  };

  await t.step("below start nothing is dropped, whatever the dice", () => {
    const adm = new Admission(limits, { random: () => 0 });
    fill(adm, 2);
    assert.equal(adm.unauthenticated, 2);
  });

  await t.step("at start the drop chance is the rate", () => {
    const at = (roll: number) => {
      const adm = new Admission(limits, { random: () => roll });
      fill(adm, 2);
      return adm.admit("192.0.2.1");
    };
    assert.equal(refused(at(0.2999)), "2 unauthenticated connections: dropped early");
    assert.ok(admitted(at(0.30)));
  });

  await t.step("the chance rises linearly to 100 % at full", () => {
    // 4 of 6: 30 + 70 * (4 - 2) / (6 - 2) = 65 %.
    const at = (roll: number) => {
      const adm = new Admission(limits, { random: () => roll });
      fill(adm, 4);
      return adm.admit("192.0.2.1");
    };
    assert.ok("refused" in at(0.6499));
    assert.ok(!("refused" in at(0.65)));
  });

  await t.step("at full everything is refused", () => {
    const adm = new Admission(limits, { random: () => 0.999999 });
    fill(adm, 6);
    assert.equal(refused(adm.admit("192.0.2.1")), "6 unauthenticated connections already");
  });
});

Deno.test("Admission tickets move connections from unauthenticated to authenticated", async (t) => {
  await t.step("promote() frees the unauthenticated slot and counts an authenticated one", () => {
    const adm = new Admission({ ...NO_PENALTY, startupsPerSource: 1 });
    const ticket = admitted(adm.admit("127.0.0.1"));
    assert.equal(ticket.promote(), null);
    assert.equal(adm.unauthenticated, 0);
    assert.equal(adm.authenticated, 1);
    assert.ok(admitted(adm.admit("127.0.0.1")), "the source may start another handshake");
    ticket.release();
    ticket.release();
    assert.equal(adm.authenticated, 0, "release() is idempotent");
  });

  await t.step(
    "the authenticated cap refuses at accept and, if reached meanwhile, at promote",
    () => {
      const adm = new Admission({ ...NO_PENALTY, maxConnections: 1 });
      const a = admitted(adm.admit("127.0.0.1"));
      const b = admitted(adm.admit("127.0.0.1"));
      assert.equal(a.promote(), null);
      assert.equal(refused(adm.admit("127.0.0.1")), "1 connections already");
      assert.equal(b.promote(), "1 connections already");
      b.release();
      assert.equal(adm.unauthenticated, 0);
      assert.equal(adm.authenticated, 1);
    },
  );

  await t.step("a failed handshake penalises its source, which is then refused at accept", () => {
    const clock = fakeClock();
    const adm = new Admission(DEFAULT_ADMISSION, clock);
    const t1 = admitted(adm.admit("127.0.0.1"));
    assert.equal(t1.penalise(), 1_000);
    t1.release();
    assert.equal(refused(adm.admit("127.0.0.1")), "penalised for 1000 ms more");
    assert.ok(admitted(adm.admit("127.0.0.2")), "another source is unaffected");
    clock.advance(1_000);
    const t2 = admitted(adm.admit("127.0.0.1"));
    assert.equal(t2.penalise(), 2_000, "the second offence doubles");
    assert.equal(adm.penalisedSources, 1);
  });
});
