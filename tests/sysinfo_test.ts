import assert from "node:assert/strict";
import { hostname } from "node:os";
import { percent } from "../lib/sysinfo/_percent.ts";
import { collectAll, COLLECTORS, isInfoMethod } from "../lib/sysinfo/all.ts";
import { createCpuCollector, sumTimes, usageBetween } from "../lib/sysinfo/cpu.ts";
import {
  createDiskCollector,
  fsTypeName,
  parseMounts,
  selectMounts,
  toMountUsage,
} from "../lib/sysinfo/disk.ts";
import { createMemoryCollector, toRamInfo } from "../lib/sysinfo/memory.ts";
import { isLoopback, netCollector } from "../lib/sysinfo/net.ts";
import {
  macosName,
  osCollector,
  osReleaseName,
  parseOsRelease,
  readOsName,
} from "../lib/sysinfo/os.ts";
import { toUptimeInfo, uptimeCollector } from "../lib/sysinfo/uptime.ts";
import { nameCollector } from "../lib/sysinfo/name.ts";

function assertPercent(value: number, what: string): void {
  assert.ok(Number.isFinite(value) && value >= 0 && value <= 100, `${what} = ${value}`);
}

Deno.test("percent() rounds to one decimal and stays within 0-100", () => {
  const cases: [number, number, number][] = [
    [1, 3, 33.3],
    [2, 3, 66.7],
    [0, 10, 0],
    [10, 10, 100],
    [11, 10, 100],
    [-1, 10, 0],
    [5, 0, 0],
    [Number.NaN, 10, 0],
  ];
  for (const [part, whole, expected] of cases) {
    assert.equal(percent(part, whole), expected, `${part}/${whole}`);
  }
});

// ---- memory ----

const MEM: Deno.SystemMemoryInfo = {
  total: 8_000,
  free: 1_000,
  available: 2_000,
  buffers: 100,
  cached: 500,
  swapTotal: 4_000,
  swapFree: 3_000,
};

Deno.test("toRamInfo() counts used memory as total minus available", () => {
  assert.deepEqual(toRamInfo(MEM), {
    usedPercent: 75,
    totalBytes: 8_000,
    availableBytes: 2_000,
    swapTotalBytes: 4_000,
    swapFreeBytes: 3_000,
  });
});

Deno.test("createMemoryCollector() reuses a reading only while it is fresh", async () => {
  let reads = 0;
  let clock = 0;
  const collector = createMemoryCollector({
    maxAgeMs: 100,
    now: () => clock,
    read: () => ({ ...MEM, available: MEM.available + reads++ }),
  });
  const first = await collector.collect();
  clock = 99;
  const second = await collector.collect();
  assert.equal(reads, 1);
  assert.deepEqual(second, first);
  second.totalBytes = 0;
  assert.equal((await collector.collect()).totalBytes, 8_000, "a caller's edit leaked");
  clock = 100;
  assert.equal((await collector.collect()).availableBytes, 2_001);
  assert.equal(reads, 2);
});

Deno.test("memory collector reads sane numbers on this machine", async () => {
  const ram = await COLLECTORS.ram.collect();
  assert.ok(ram.totalBytes > 0);
  assert.ok(ram.availableBytes > 0 && ram.availableBytes <= ram.totalBytes);
  assert.ok(ram.swapFreeBytes >= 0 && ram.swapFreeBytes <= ram.swapTotalBytes);
  assertPercent(ram.usedPercent, "usedPercent");
});

// ---- cpu ----

Deno.test("sumTimes() and usageBetween() measure the busy share", async (t) => {
  const core = (user: number, sys: number, idle: number) => ({
    times: { user, nice: 0, sys, idle, irq: 0 },
  });
  await t.step("sums all cores, idle excluded from busy", () => {
    assert.deepEqual(sumTimes([core(10, 5, 85), core(20, 0, 80)]), { busy: 35, total: 200 });
  });
  await t.step("delta between readings", () => {
    assert.equal(usageBetween({ busy: 100, total: 1000 }, { busy: 150, total: 1200 }), 25);
  });
  await t.step("no time passed reads 0, not NaN", () => {
    assert.equal(usageBetween({ busy: 100, total: 1000 }, { busy: 100, total: 1000 }), 0);
  });
});

Deno.test("cpu collector samples once, then measures since the last call", async () => {
  const collector = createCpuCollector({ sampleMs: 50 });
  let start = performance.now();
  const first = await collector.collect();
  assert.ok(performance.now() - start >= 45, "the first call did not sample");
  assert.ok(first.cores >= 1);
  assert.ok(first.model.length > 0);
  assertPercent(first.usagePercent, "usagePercent");
  assert.equal(first.loadAvg.length, 3);
  assert.ok(first.loadAvg.every((load) => Number.isFinite(load) && load >= 0));
  start = performance.now();
  const second = await collector.collect();
  assert.ok(performance.now() - start < 45, "a recent reading was not reused");
  assertPercent(second.usagePercent, "usagePercent");
});

Deno.test("cpu collector stops sampling when the signal aborts", async (t) => {
  await t.step("already aborted", async () => {
    await assert.rejects(createCpuCollector().collect(AbortSignal.abort()), {
      name: "AbortError",
    });
  });
  await t.step("aborted during the sample", async () => {
    const controller = new AbortController();
    const reason = new Error("call cancelled");
    const collecting = createCpuCollector({ sampleMs: 10_000 }).collect(controller.signal);
    controller.abort(reason);
    await assert.rejects(collecting, (err) => err === reason);
  });
});

// ---- os ----

Deno.test("parseOsRelease() reads quoted, unquoted and escaped values", () => {
  const fields = parseOsRelease([
    "# comment",
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
    "NAME='Debian'",
    "VERSION_ID=12",
    'QUOTED="say \\"hi\\" \\\\ \\$x"',
    "",
    "not a field",
  ].join("\n"));
  assert.deepEqual(fields, {
    PRETTY_NAME: "Debian GNU/Linux 12 (bookworm)",
    NAME: "Debian",
    VERSION_ID: "12",
    QUOTED: 'say "hi" \\ $x',
  });
});

Deno.test("osReleaseName() prefers PRETTY_NAME, then NAME and VERSION", () => {
  assert.equal(
    osReleaseName({ PRETTY_NAME: "Alpine Linux v3.19", NAME: "Alpine" }),
    "Alpine Linux v3.19",
  );
  assert.equal(osReleaseName({ NAME: "Fedora", VERSION: "40" }), "Fedora 40");
  assert.equal(osReleaseName({}), "");
});

Deno.test("macosName() reads product name and version from the plist", () => {
  const plist = `<dict>
    <key>ProductBuildVersion</key>
    <string>23E214</string>
    <key>ProductName</key>
    <string>macOS</string>
    <key>ProductVersion</key>
    <string>14.4</string>
  </dict>`;
  assert.equal(macosName(plist), "macOS 14.4");
  assert.equal(macosName("<dict/>"), "");
});

Deno.test("readOsName() names this machine's distribution, and falls back to the platform", async () => {
  const fields = parseOsRelease(await Deno.readTextFile("/etc/os-release"));
  assert.equal(await readOsName("linux"), osReleaseName(fields));
  assert.equal(await readOsName("freebsd"), "freebsd");
});

Deno.test("os collector reports this build", async () => {
  const os = await osCollector.collect();
  assert.equal(os.platform, Deno.build.os);
  assert.equal(os.arch, Deno.build.arch);
  assert.ok(os.release.length > 0);
  assert.ok(os.name.length > 0);
});

// ---- name, ip, uptime ----

Deno.test("name collector reports the host name", async () => {
  const { hostname: name } = await nameCollector.collect();
  assert.ok(name.length > 0);
  assert.equal(name, hostname());
});

Deno.test("isLoopback() recognises loopback addresses only", () => {
  assert.equal(isLoopback("IPv4", "127.0.0.1"), true);
  assert.equal(isLoopback("IPv4", "127.1.2.3"), true);
  assert.equal(isLoopback("IPv6", "::1"), true);
  assert.equal(isLoopback("IPv4", "10.0.0.127"), false);
  assert.equal(isLoopback("IPv6", "fe80::1"), false);
});

Deno.test("ip collector lists at least a loopback address", async () => {
  const { addresses } = await netCollector.collect();
  assert.ok(
    addresses.some((a) => a.internal && (a.address === "127.0.0.1" || a.address === "::1")),
  );
  for (const a of addresses) {
    assert.ok(a.name.length > 0);
    assert.ok(a.family === "IPv4" || a.family === "IPv6");
    assert.ok(a.cidr.startsWith(a.address + "/"), a.cidr);
  }
});

Deno.test("toUptimeInfo() derives the boot time to the second", () => {
  assert.deepEqual(toUptimeInfo(100, 1_000_000_400), { uptimeSeconds: 100, bootTime: 999_900_000 });
});

Deno.test("uptime collector reports a boot time in the past", async () => {
  const before = Date.now();
  const { uptimeSeconds, bootTime } = await uptimeCollector.collect();
  assert.ok(uptimeSeconds > 0);
  assert.ok(bootTime <= before + 1000 && bootTime > before - uptimeSeconds * 1000 - 2000);
});

// ---- disk ----

const PROC_MOUNTS = [
  "proc /proc proc rw,relatime 0 0",
  "sysfs /sys sysfs rw,relatime 0 0",
  "devtmpfs /dev devtmpfs rw,relatime 0 0",
  "tmpfs /dev/shm tmpfs rw,relatime 0 0",
  "/dev/vda / ext4 rw,relatime 0 0",
  "/dev/vdb1 /home xfs rw 0 0",
  "/dev/vdb1 /srv/home\\040copy xfs rw 0 0",
  "tmpfs /run tmpfs rw 0 0",
  "overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0",
  "/dev/vdc /data ext4 rw 0 0",
  "server:/export /data nfs4 rw 0 0",
  "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0",
  "/dev/sda1 /mnt/usb\\040stick vfat rw 0 0",
].join("\n");

Deno.test("parseMounts() reads mount tables and undoes octal escapes", () => {
  const entries = parseMounts("# fstab\n\n" + PROC_MOUNTS + "\nshort line\n");
  assert.equal(entries.length, 13);
  assert.deepEqual(entries.at(-1), {
    device: "/dev/sda1",
    mount: "/mnt/usb stick",
    fsType: "vfat",
  });
});

Deno.test("selectMounts() keeps real file systems, once per device, sorted", () => {
  assert.deepEqual(selectMounts(parseMounts(PROC_MOUNTS)).map((e) => `${e.mount} ${e.fsType}`), [
    "/ ext4",
    "/data nfs4", // mounted over /dev/vdc, which it hides
    "/home xfs", // the bind mount at a longer path is the same disk
    "/mnt/usb stick vfat",
  ]);
});

Deno.test("selectMounts() keeps / whatever its type", () => {
  const entries = selectMounts([{ device: "rootfs", mount: "/", fsType: "tmpfs" }]);
  assert.deepEqual(entries, [{ device: "rootfs", mount: "/", fsType: "tmpfs" }]);
});

Deno.test("fsTypeName() names Linux magic numbers, signed or not", () => {
  assert.equal(fsTypeName(0xef53), "ext4");
  assert.equal(fsTypeName(0x9123683e), "btrfs");
  assert.equal(fsTypeName(0x9123683e | 0), "btrfs");
  assert.equal(fsTypeName(0x794c7630), "overlay");
  assert.equal(fsTypeName(12345), "unknown");
});

Deno.test("toMountUsage() reports sizes like df", () => {
  const usage = toMountUsage({ device: "/dev/vda", mount: "/", fsType: "ext4" }, {
    type: 0xef53,
    bsize: 4096,
    frsize: 1024,
    blocks: 1000,
    bfree: 300,
    bavail: 200,
  });
  assert.deepEqual(usage, {
    mount: "/",
    device: "/dev/vda",
    fsType: "ext4",
    sizeBytes: 1_024_000,
    usedBytes: 716_800,
    freeBytes: 204_800,
    usedPercent: 77.8,
  });
});

Deno.test("disk collector reports the root file system on this machine", async () => {
  const { mounts } = await createDiskCollector().collect();
  const root = mounts.find((m) => m.mount === "/");
  assert.ok(root, `no / in ${JSON.stringify(mounts)}`);
  assert.ok(root.sizeBytes > 0);
  assert.ok(root.usedBytes >= 0 && root.usedBytes <= root.sizeBytes);
  assert.ok(root.freeBytes >= 0 && root.freeBytes <= root.sizeBytes);
  assert.notEqual(root.fsType, "unknown");
  for (const m of mounts) assertPercent(m.usedPercent, `${m.mount} usedPercent`);
  assert.equal(new Set(mounts.map((m) => m.mount)).size, mounts.length, "a mount is listed twice");
});

// ---- all ----

Deno.test("COLLECTORS has one collector per single-metric method", () => {
  assert.deepEqual(Object.keys(COLLECTORS).sort(), [
    "cpu",
    "disk",
    "ip",
    "name",
    "net",
    "os",
    "ram",
    "uptime",
  ]);
  assert.equal(isInfoMethod("ram"), true);
  assert.equal(isInfoMethod("exec"), false);
  assert.equal(isInfoMethod("toString"), false);
});

Deno.test("collectAll() gathers every metric concurrently", async () => {
  const start = performance.now();
  const info = await collectAll();
  assert.ok(performance.now() - start < 2_000);
  assert.ok(info.ram.totalBytes > 0);
  assert.ok(info.cpu.cores >= 1);
  assert.equal(info.os.platform, Deno.build.os);
  assert.ok(info.name.hostname.length > 0);
  assert.ok(info.ip.addresses.length > 0);
  assert.ok(info.disk.mounts.some((m) => m.mount === "/"));
  assert.ok(info.uptime.uptimeSeconds > 0);
  // Without --allow-all (this test process) /proc cannot be read: net is left out, not an error.
  assert.equal(info.net, undefined);
  // The wire carries JSON: every value must survive a round trip unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(info)), info);
});
