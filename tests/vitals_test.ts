/**
 * `vitals`, the figures `watch` draws: `vitalsOf()` picks them out of an
 * `info` answer as the watch table always did; a real server offers the method
 * in its hello and answers it from the same collection as `info`; a server
 * without the feature refuses it as an older one does, and the client's fleet
 * then asks `info` and shows the same figures. Real servers on loopback.
 * @module
 */

import assert from "node:assert/strict";
import { ERROR_CODES, FEATURES } from "../lib/protocol/constants.ts";
import { RemoteError } from "../lib/protocol/errors.ts";
import type { FullInfo, MountUsage } from "../lib/protocol/messages.ts";
import { TokenKey } from "../lib/protocol/auth.ts";
import { dialTcp } from "../lib/protocol/tcp_transport.ts";
import { INFO } from "../lib/grammar/commands/metrics.ts";
import { type Vitals, VITALS_RESULT, vitalsOf } from "../lib/grammar/commands/vitals.ts";
import { parseParams } from "../lib/grammar/params.ts";
import { Fleet } from "../lib/client/fleet.ts";
import { connect, startInProcessServer, TEST_TOKEN } from "./helpers.ts";

function mount(path: string, usedPercent: number): MountUsage {
  return {
    mount: path,
    device: "/dev/x",
    fsType: "ext4",
    sizeBytes: 100,
    usedBytes: usedPercent,
    freeBytes: 100 - usedPercent,
    usedPercent,
  };
}

function traffic(name: string, rx: number, tx: number) {
  return {
    name,
    rxBytesPerSec: rx,
    txBytesPerSec: tx,
    rxPacketsPerSec: 1,
    txPacketsPerSec: 1,
    rxErrors: 0,
    txErrors: 0,
    rxDrops: 0,
    txDrops: 0,
  };
}

/** An `info` answer with the given mounts and interfaces (none: no `net` at all). */
function info(mounts: MountUsage[], net?: ReturnType<typeof traffic>[]): FullInfo {
  const full: FullInfo = {
    ram: {
      usedPercent: 40,
      totalBytes: 8,
      availableBytes: 4,
      swapTotalBytes: 0,
      swapFreeBytes: 0,
    },
    cpu: { usagePercent: 12.5, cores: 4, model: "x", loadAvg: [0.5, 0.25, 0.125] },
    os: { platform: "linux", release: "6", arch: "x86_64", name: "Linux" },
    name: { hostname: "h" },
    ip: { addresses: [] },
    disk: { mounts },
    uptime: { uptimeSeconds: 90_061, bootTime: 1 },
  };
  if (net) full.net = { sampleMs: 100, interfaces: net };
  return full;
}

Deno.test("vitalsOf() takes the watch figures out of an info answer", async (t) => {
  await t.step("the plain figures, the root mount and traffic without loopback", () => {
    const v = vitalsOf(
      info([mount("/boot", 10), mount("/", 55), mount("/home", 70)], [
        traffic("lo", 1e9, 1e9),
        traffic("eth0", 2048, 1024),
        traffic("eth1", 2, 1),
      ]),
    );
    assert.deepEqual(v, {
      cpuPercent: 12.5,
      ramPercent: 40,
      load1: 0.5,
      diskPercent: 55,
      rxBytesPerSec: 2050,
      txBytesPerSec: 1025,
      uptimeSeconds: 90_061,
    });
    assert.deepEqual(VITALS_RESULT(v, "result"), v, "its own validator accepts it");
  });
  await t.step("a drive root without /, else the first mount, else none", () => {
    assert.equal(vitalsOf(info([mount("D:\\", 5), mount("C:\\", 30)])).diskPercent, 5);
    assert.equal(vitalsOf(info([mount("/data", 80), mount("/srv", 20)])).diskPercent, 80);
    assert.equal(vitalsOf(info([])).diskPercent, null);
  });
  await t.step("loopback counts only when alone; no net means no traffic", () => {
    const alone = vitalsOf(info([], [traffic("lo", 300, 200)]));
    assert.deepEqual([alone.rxBytesPerSec, alone.txBytesPerSec], [300, 200]);
    const none = vitalsOf(info([]));
    assert.deepEqual([none.rxBytesPerSec, none.txBytesPerSec], [null, null]);
    const empty = vitalsOf(info([], []));
    assert.deepEqual([empty.rxBytesPerSec, empty.txBytesPerSec], [0, 0]);
  });
});

Deno.test("VITALS_RESULT refuses what is not a vitals answer", () => {
  const good: Vitals = vitalsOf(info([mount("/", 1)]));
  assert.throws(() => VITALS_RESULT({ ...good, load1: "high" }, "result"), /result\.load1/);
  assert.throws(() => VITALS_RESULT({ ...good, diskPercent: undefined }, "result"), /diskPercent/);
  assert.throws(() => parseParams("vitals", { fields: ["cpu"] }), /unexpected field "fields"/);
});

Deno.test("vitals on the wire", async (t) => {
  await using server = await startInProcessServer();
  await using older = await startInProcessServer({ features: [FEATURES.rawOutput] });

  await t.step("listed in the hello, answered from the collection info shares", async () => {
    await using s = await connect(server);
    assert.ok(s.hello.features?.includes(FEATURES.vitals), `${s.hello.features}`);
    // Asked together, both come from one shared collection: the same figures exactly.
    const [full, vitals] = await Promise.all([
      s.peer.call("info", {}),
      s.peer.call("vitals", {}),
    ]);
    assert.deepEqual(VITALS_RESULT(vitals, "result"), vitalsOf(INFO.result(full, "result")));
    const encoded = JSON.stringify(vitals).length;
    assert.ok(encoded * 3 < JSON.stringify(full).length, `vitals ${encoded} bytes`);
  });

  await t.step("a server without the feature refuses the method as an older one", async () => {
    await using s = await connect(older);
    assert.equal(s.hello.features?.includes(FEATURES.vitals), false);
    const err = await s.peer.call("vitals", {}).then(() => null, (e) => e);
    assert.ok(err instanceof RemoteError);
    assert.equal(err.code, ERROR_CODES.methodNotFound);
  });

  await t.step("the fleet asks vitals where offered and info elsewhere", async () => {
    const fleet = new Fleet({ reconnect: false });
    const key = new TokenKey(TEST_TOKEN);
    for (const [name, s] of [["new", server], ["old", older]] as const) {
      fleet.add({
        name,
        endpoint: { hostname: s.hostname, port: s.port },
        groups: [],
        token: key,
        dial: dialTcp,
      });
    }
    try {
      await fleet.connect();
      server.log.length = 0;
      older.log.length = 0;
      const results = await fleet.run(["new", "old"], { kind: "vitals" });
      for (const r of results) {
        assert.equal(r.status, "ok", `${r.host}: ${r.error}`);
        const v = VITALS_RESULT(r.data, "result");
        assert.ok(v.uptimeSeconds > 0 && v.cpuPercent >= 0 && v.ramPercent > 0, r.host);
      }
      assert.ok(server.log.some((l) => / vitals: ok /.test(l)), server.log.join("\n"));
      assert.ok(older.log.some((l) => / info: ok /.test(l)), older.log.join("\n"));
      assert.ok(!older.log.some((l) => / vitals/.test(l)), older.log.join("\n"));
    } finally {
      await fleet.close();
    }
  });
});
