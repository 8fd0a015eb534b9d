/**
 * `vitals`: the few figures the console's `watch` draws (CPU, RAM, load, root
 * disk, network traffic, uptime), one small flat object per host instead of the
 * whole `info` answer. Wire-only (no console word): `watch` asks it of servers
 * that list the feature `vitals` in their hello, and `info` of older ones,
 * whose answer {@linkcode vitalsOf} turns into the same figures. The server
 * answers it from the same shared collection as `info`, through the same
 * function, so both paths show the same numbers. Grammar layer, pure.
 * @module
 */

import type { FullInfo, MountUsage } from "../../protocol/messages.ts";
import { type Check, nullable, num, object } from "../result_check.ts";
import type { CommandInput, WireSpec } from "../spec.ts";

/**
 * One host's `watch` figures. About 150 bytes on the wire against 1–3 KB for
 * `info`: at 10,000 hosts a round is that much less to encode, read, parse
 * and check.
 */
export type Vitals = {
  /** Busy percent of all cores over the server's short sample. */
  cpuPercent: number;
  ramPercent: number;
  /** The 1-minute load average (0 where the OS has none). */
  load1: number;
  /** Used percent of the root file system (`/`, else a drive root, else the first mount); null when none was measured. */
  diskPercent: number | null;
  /**
   * Bytes per second received and sent over every interface but loopback
   * (which carries rmon's own traffic on a test machine; counted only when it
   * is the only one); null where the server measures no traffic (not Linux).
   */
  rxBytesPerSec: number | null;
  txBytesPerSec: number | null;
  uptimeSeconds: number;
};

/** Wire-only: no params. */
export type VitalsCommand = { kind: "vitals" };

/** The `vitals` result. */
export const VITALS_RESULT: Check<Vitals> = object<Vitals>({
  cpuPercent: num,
  ramPercent: num,
  load1: num,
  diskPercent: nullable(num),
  rxBytesPerSec: nullable(num),
  txBytesPerSec: nullable(num),
  uptimeSeconds: num,
});

/** The root file system of a `disk` answer: `/`, else a Windows drive root, else the first. */
export function rootMount(mounts: readonly MountUsage[]): MountUsage | undefined {
  return mounts.find((m) => m.mount === "/") ??
    mounts.find((m) => /^[A-Za-z]:\\?$/.test(m.mount)) ??
    mounts[0];
}

/** A sum that is a number only when every part is one (a server's NaN is not a rate). */
function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

/** The `watch` figures of an `info` answer (checked by its validator first). */
export function vitalsOf(info: FullInfo): Vitals {
  const all = info.net?.interfaces;
  let rx: number | null = null;
  let tx: number | null = null;
  if (all !== undefined) {
    const external = all.filter((i) => i.name !== "lo");
    const shown = external.length > 0 ? external : all;
    rx = finiteOrNull(shown.reduce((n, i) => n + i.rxBytesPerSec, 0));
    tx = finiteOrNull(shown.reduce((n, i) => n + i.txBytesPerSec, 0));
    if (rx === null || tx === null) rx = tx = null;
  }
  return {
    cpuPercent: info.cpu.usagePercent,
    ramPercent: info.ram.usedPercent,
    load1: info.cpu.loadAvg[0],
    diskPercent: rootMount(info.disk.mounts)?.usedPercent ?? null,
    rxBytesPerSec: rx,
    txBytesPerSec: tx,
    uptimeSeconds: info.uptime.uptimeSeconds,
  };
}

/** No console word: a person types `watch`, which asks this; the parser is never reached. */
function wireOnly(input: CommandInput): never {
  return input.fail("this command is only used on the wire");
}

/** `vitals`: no params; asked only of servers whose hello lists the feature `vitals`. */
export const VITALS: WireSpec<VitalsCommand, Vitals> = {
  name: "vitals",
  words: [],
  form: "word",
  usage: "vitals",
  summary: "Wire method of watch",
  detail: "",
  targeted: true,
  kind: "vitals",
  method: "vitals",
  fields: [],
  parse: wireOnly,
  toParams: () => ({}),
  fromParams: () => ({ kind: "vitals" }),
  result: VITALS_RESULT,
};
