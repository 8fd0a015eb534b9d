/**
 * The metric commands `ram`, `cpu`, `os`, `name`, `ip`, `disk`, `uptime`,
 * `net` and `info`, and `metric()`, which makes a spec of one: one word with
 * no arguments and a request with empty params.
 * Grammar layer.
 * @module
 */

import type {
  CpuInfo,
  DiskInfo,
  FullInfo,
  InterfaceAddress,
  InterfaceTraffic,
  IpInfo,
  MountUsage,
  NameInfo,
  NetInfo,
  OsInfo,
  RamInfo,
  UptimeInfo,
} from "../../protocol/messages.ts";
import {
  arrayOf,
  bool,
  type Check,
  num,
  numbers,
  object,
  oneOf,
  optional,
  str,
} from "../result_check.ts";
import type { Command } from "../command.ts";
import type { MetricSpec } from "../spec.ts";
import { noArgs } from "./_args.ts";

const RAM_RESULT: Check<RamInfo> = object<RamInfo>({
  usedPercent: num,
  totalBytes: num,
  availableBytes: num,
  swapTotalBytes: num,
  swapFreeBytes: num,
});
const CPU_RESULT: Check<CpuInfo> = object<CpuInfo>({
  usagePercent: num,
  cores: num,
  model: str,
  loadAvg: numbers(3) as Check<CpuInfo["loadAvg"]>,
});
const OS_RESULT: Check<OsInfo> = object<OsInfo>({
  platform: str,
  release: str,
  arch: str,
  name: str,
});
const NAME_RESULT: Check<NameInfo> = object<NameInfo>({ hostname: str });
const IP_RESULT: Check<IpInfo> = object<IpInfo>({
  addresses: arrayOf(object<InterfaceAddress>({
    name: str,
    family: oneOf("IPv4", "IPv6"),
    address: str,
    cidr: str,
    mac: str,
    internal: bool,
  })),
});
const DISK_RESULT: Check<DiskInfo> = object<DiskInfo>({
  mounts: arrayOf(object<MountUsage>({
    mount: str,
    device: str,
    fsType: str,
    sizeBytes: num,
    usedBytes: num,
    freeBytes: num,
    usedPercent: num,
  })),
});
const UPTIME_RESULT: Check<UptimeInfo> = object<UptimeInfo>({ uptimeSeconds: num, bootTime: num });
const NET_RESULT: Check<NetInfo> = object<NetInfo>({
  sampleMs: num,
  interfaces: arrayOf(object<InterfaceTraffic>({
    name: str,
    rxBytesPerSec: num,
    txBytesPerSec: num,
    rxPacketsPerSec: num,
    txPacketsPerSec: num,
    rxErrors: num,
    txErrors: num,
    rxDrops: num,
    txDrops: num,
  })),
});
const INFO_RESULT: Check<FullInfo> = object<FullInfo>({
  ram: RAM_RESULT,
  cpu: CPU_RESULT,
  os: OS_RESULT,
  name: NAME_RESULT,
  ip: IP_RESULT,
  disk: DISK_RESULT,
  uptime: UPTIME_RESULT,
  net: optional(NET_RESULT),
});

/** A metric command: its tag alone, no arguments. */
export type MetricCommand<K extends string> = { kind: K };

/** The spec of a metric `kind` that takes no arguments and answers with a checked `R`. */
export function metric<K extends string, R>(
  kind: K,
  summary: string,
  detail: string,
  result: Check<R>,
): MetricSpec<MetricCommand<K>, R> {
  return {
    name: kind,
    words: [kind],
    form: "word",
    usage: kind,
    summary,
    detail,
    targeted: true,
    kind,
    // Every command's method is its kind.
    method: kind,
    metric: true,
    fields: [],
    parse(input) {
      noArgs(input);
      // Listed in remote_table.ts, `{ kind }` is a `RemoteCommand`; TS cannot see that through K.
      return { kind } as MetricCommand<string> as Command;
    },
    toParams: () => ({}),
    fromParams: () => ({ kind }),
    result,
  };
}

/** `ram`: memory use. */
export const RAM: MetricSpec<MetricCommand<"ram">, RamInfo> = metric(
  "ram",
  "Memory use: used percent, total, available and swap",
  "Shows each server's used memory in percent, total and available RAM, and swap.",
  RAM_RESULT,
);

/** `cpu`: processor load. */
export const CPU: MetricSpec<MetricCommand<"cpu">, CpuInfo> = metric(
  "cpu",
  "Processor use: busy percent, cores, model and load averages",
  "Samples each server's processors briefly and shows how busy they were, the\n" +
    "number of cores, the model, and the 1, 5 and 15 minute load averages.",
  CPU_RESULT,
);

/** `os`: operating system. */
export const OS: MetricSpec<MetricCommand<"os">, OsInfo> = metric(
  "os",
  "Operating system: name, platform, release and architecture",
  "Shows each server's operating system name, platform, kernel release and\nCPU architecture.",
  OS_RESULT,
);

/** `name`: host name. */
export const NAME: MetricSpec<MetricCommand<"name">, NameInfo> = metric(
  "name",
  "Host name of each server",
  "Shows the host name each server reports for itself.",
  NAME_RESULT,
);

/** `ip`: network addresses. */
export const IP: MetricSpec<MetricCommand<"ip">, IpInfo> = metric(
  "ip",
  "Network interfaces and their addresses",
  "Lists each server's network interfaces with their IPv4 and IPv6 addresses,\n" +
    "prefix lengths and MAC addresses.",
  IP_RESULT,
);

/** `disk`: file system use. */
export const DISK: MetricSpec<MetricCommand<"disk">, DiskInfo> = metric(
  "disk",
  "Mounted file systems: size, used and free space",
  "Lists each server's mounted file systems with their device, type, size,\n" +
    "used and free space.",
  DISK_RESULT,
);

/** `uptime`: time since boot. */
export const UPTIME: MetricSpec<MetricCommand<"uptime">, UptimeInfo> = metric(
  "uptime",
  "Time since each server booted",
  "Shows how long each server has been up and when it booted.",
  UPTIME_RESULT,
);

/** `net`: traffic per interface. */
export const NET: MetricSpec<MetricCommand<"net">, NetInfo> = metric(
  "net",
  "Network traffic: bytes and packets per second per interface, errors",
  "Samples each server's network interfaces for a tenth of a second and shows\n" +
    "bytes and packets per second received and sent, and the error and drop\n" +
    "counts since boot. Linux servers only (read from /proc/net/dev).",
  NET_RESULT,
);

/** `info`: every metric at once. */
export const INFO: MetricSpec<MetricCommand<"info">, FullInfo> = metric(
  "info",
  "Every metric above in one answer",
  "Asks for ram, cpu, os, name, ip, disk, uptime and net in a single request.",
  INFO_RESULT,
);
