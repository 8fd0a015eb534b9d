/**
 * System-info layer: the `disk` collector. Lists real file systems and measures
 * each with `statfs` (`node:fs`), never with a subprocess such as `df`.
 *
 * On Linux the mount table is `/proc/self/mounts`, but Deno lets only `--allow-all`
 * read `/proc`. Without it, mount points are found the way `mountpoint(1)` does:
 * a directory on another device than its parent is a mount point. Candidates are
 * `/`, its subdirectories, those of `/mnt` and `/media`, and `/etc/fstab` entries.
 *
 * A hung network file system must not hang `info`: each statfs gets a deadline,
 * and a mount whose previous statfs has not returned is not asked again.
 * @module
 */

import { deadline } from "../async.ts";
import { nodeFs } from "./_node.ts";
import type { DiskInfo, MountUsage } from "../protocol/messages.ts";
import type { Collector } from "./collector.ts";
import { percent } from "./_percent.ts";

/** One line of a mount table (`/proc/self/mounts` or `/etc/fstab`). */
export interface MountEntry {
  device: string;
  mount: string;
  fsType: string;
}

/** The `statfs` fields we use; Deno adds `frsize`, which Node's types lack. */
export interface FsStats {
  type: number;
  bsize: number;
  /** Fundamental block size, the unit of the block counts; Deno reports it, Node does not. */
  frsize?: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

/** How long one statfs may take before its mount is left out, in milliseconds. */
export const STATFS_TIMEOUT_MS = 1_000;

/** Kernel and virtual file systems: they hold no user data (after node_exporter's list). */
const PSEUDO_FS_TYPES: ReadonlySet<string> = new Set([
  "autofs",
  "binfmt_misc",
  "bpf",
  "cgroup",
  "cgroup2",
  "configfs",
  "debugfs",
  "devpts",
  "devtmpfs",
  "efivarfs",
  "fusectl",
  "fuse.gvfsd-fuse",
  "fuse.lxcfs",
  "fuse.portal",
  "fuse.snapfuse",
  "hugetlbfs",
  "iso9660",
  "mqueue",
  "nsfs",
  "proc",
  "pstore",
  "ramfs",
  "rpc_pipefs",
  "securityfs",
  "selinuxfs",
  "squashfs",
  "erofs",
  "sysfs",
  "tmpfs",
  "tracefs",
]);

/** Trees whose mounts belong to the kernel or to container runtimes, not to users. */
const HIDDEN_ROOTS = [
  "/proc",
  "/sys",
  "/dev",
  "/run/credentials",
  "/var/lib/docker",
  "/var/lib/containers/storage",
  "/var/lib/kubelet/pods",
];

/** Linux `f_type` magic numbers of the file systems worth naming. */
const FS_MAGIC: ReadonlyMap<number, string> = new Map([
  [0xef53, "ext4"],
  [0x58465342, "xfs"],
  [0x9123683e, "btrfs"],
  [0x2fc12fc1, "zfs"],
  [0xf2f52010, "f2fs"],
  [0xca451a4e, "bcachefs"],
  [0x794c7630, "overlay"],
  [0x01021994, "tmpfs"],
  [0x858458f6, "ramfs"],
  [0x6969, "nfs"],
  [0xff534d42, "cifs"],
  [0xfe534d42, "smb2"],
  [0x00c36400, "ceph"],
  [0x4d44, "vfat"],
  [0x2011bab0, "exfat"],
  [0x5346544e, "ntfs"],
  [0x65735546, "fuse"],
  [0x73717368, "squashfs"],
  [0xe0f5e1e2, "erofs"],
  [0x9660, "iso9660"],
  [0x9fa0, "proc"],
  [0x62656572, "sysfs"],
  [0x1cd1, "devpts"],
  [0x63677270, "cgroup2"],
]);

/** The name of a Linux file system from its `statfs` magic number, or "unknown". */
export function fsTypeName(magic: number): string {
  // Some platforms hand f_type over as a signed 32-bit number.
  return FS_MAGIC.get(magic >>> 0) ?? "unknown";
}

/** Undo the octal escapes (`\040` for a space...) the kernel writes in mount tables. */
function unescapeMountField(field: string): string {
  return field.replace(
    /\\([0-7]{3})/g,
    (_, octal: string) => String.fromCharCode(parseInt(octal, 8)),
  );
}

/** Parse a mount table in `/proc/self/mounts` or `/etc/fstab` format; comments and short lines are skipped. */
export function parseMounts(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const [device, mount, fsType] = fields;
    if (device === undefined || device.startsWith("#") || mount === undefined || !fsType) {
      continue;
    }
    entries.push({
      device: unescapeMountField(device),
      mount: unescapeMountField(mount),
      fsType,
    });
  }
  return entries;
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root + "/");
}

/**
 * The mounts worth reporting, sorted by mount point: `/` always; otherwise no
 * pseudo file system, nothing under kernel or container trees, the last mount on
 * a mount point (it hides the earlier ones), and one mount per block device (the
 * shortest path, as `df` does, so bind mounts do not repeat a disk).
 */
export function selectMounts(entries: readonly MountEntry[]): MountEntry[] {
  const byMount = new Map<string, MountEntry>();
  for (const entry of entries) {
    if (!entry.mount.startsWith("/")) continue;
    byMount.delete(entry.mount);
    byMount.set(entry.mount, entry);
  }
  const byDevice = new Map<string, MountEntry>();
  const kept: MountEntry[] = [];
  for (const entry of byMount.values()) {
    if (entry.mount !== "/") {
      if (PSEUDO_FS_TYPES.has(entry.fsType)) continue;
      if (HIDDEN_ROOTS.some((root) => isUnder(entry.mount, root))) continue;
    }
    if (entry.device.startsWith("/")) {
      const seen = byDevice.get(entry.device);
      if (seen !== undefined && seen.mount.length <= entry.mount.length) continue;
      byDevice.set(entry.device, entry);
    }
    kept.push(entry);
  }
  return kept
    .filter((entry) => !entry.device.startsWith("/") || byDevice.get(entry.device) === entry)
    .sort((a, b) => a.mount < b.mount ? -1 : a.mount > b.mount ? 1 : 0);
}

/**
 * Usage of one file system as `df` reports it: free is what unprivileged users
 * may still write (reserved blocks excluded), and the percentage is used over
 * used plus that, so a full disk reads 100 % even with reserved blocks left.
 */
export function toMountUsage(entry: MountEntry, stat: FsStats): MountUsage {
  const block = stat.frsize !== undefined && stat.frsize > 0 ? stat.frsize : stat.bsize;
  const usedBytes = (stat.blocks - stat.bfree) * block;
  const freeBytes = stat.bavail * block;
  return {
    mount: entry.mount,
    device: entry.device,
    fsType: entry.fsType,
    sizeBytes: stat.blocks * block,
    usedBytes,
    freeBytes,
    usedPercent: percent(usedBytes, usedBytes + freeBytes),
  };
}

/** Options of {@linkcode createDiskCollector}. */
export interface DiskCollectorOptions {
  /** Deadline of one statfs. Default {@linkcode STATFS_TIMEOUT_MS}. */
  statfsTimeoutMs?: number;
  /** The platform whose mount discovery to use. Default `Deno.build.os`. */
  platform?: typeof Deno.build.os;
}

/** Create a `disk` collector (it remembers which statfs calls are still pending). */
export function createDiskCollector(options: DiskCollectorOptions = {}): Collector<DiskInfo> {
  const timeoutMs = options.statfsTimeoutMs ?? STATFS_TIMEOUT_MS;
  const platform = options.platform ?? Deno.build.os;
  const pending = new Map<string, Promise<FsStats>>();
  let procReadable = true;

  /** statfs with a deadline; undefined when the path cannot be measured. */
  async function statfs(path: string): Promise<FsStats | undefined> {
    let call = pending.get(path);
    if (call === undefined) {
      call = nodeFs().then((fs) => fs.promises.statfs(path)).finally(() => pending.delete(path));
      pending.set(path, call);
    }
    try {
      // A hung mount (a dead NFS server) is left out rather than holding the report.
      return await deadline(call, timeoutMs, () => undefined);
    } catch {
      // A mount that vanished or denies access is left out of the report, not an error.
      return undefined;
    }
  }

  async function linuxMounts(): Promise<MountEntry[]> {
    if (procReadable) {
      try {
        return selectMounts(parseMounts(await Deno.readTextFile("/proc/self/mounts")));
      } catch (err) {
        if (
          !(err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.NotFound ||
            err instanceof Deno.errors.PermissionDenied)
        ) {
          throw err;
        }
        // Without --allow-all (or /proc), scan for mount points from now on.
        procReadable = false;
      }
    }
    return selectMounts(await scanMounts(statfs));
  }

  async function mounts(): Promise<MountEntry[]> {
    switch (platform) {
      case "linux":
      case "android":
        return await linuxMounts();
      case "windows":
        return [{ device: "", mount: `${systemDrive()}\\`, fsType: "unknown" }];
      case "darwin":
        return (await existing(["/", "/System/Volumes/Data", ...await subdirs("/Volumes")]))
          .map((mount) => ({ device: "", mount, fsType: "unknown" }));
      default:
        return [{ device: "", mount: "/", fsType: "unknown" }];
    }
  }

  return {
    name: "disk",
    async collect(): Promise<DiskInfo> {
      const entries = await mounts();
      const usages = await Promise.all(entries.map(async (entry) => {
        const stat = await statfs(entry.mount);
        return stat === undefined ? undefined : toMountUsage(entry, stat);
      }));
      return { mounts: usages.filter((usage) => usage !== undefined) };
    },
  };
}

/** Find Linux mount points without the mount table (see the module comment). */
async function scanMounts(
  statfs: (path: string) => Promise<FsStats | undefined>,
): Promise<MountEntry[]> {
  const fstab = new Map<string, MountEntry>();
  for (const entry of parseMounts(await readIfPresent("/etc/fstab"))) {
    fstab.set(entry.mount, entry);
  }
  const candidates = new Set<string>(["/"]);
  for (const parent of ["/", "/mnt", "/media"]) {
    for (const dir of await subdirs(parent)) candidates.add(dir);
  }
  for (const mount of fstab.keys()) if (mount.startsWith("/")) candidates.add(mount);

  const found = await Promise.all([...candidates].map(async (mount) => {
    if (HIDDEN_ROOTS.some((root) => isUnder(mount, root))) return undefined;
    if (mount !== "/" && !await isMountPoint(mount)) return undefined;
    const stat = await statfs(mount);
    if (stat === undefined) return undefined;
    return {
      device: fstab.get(mount)?.device ?? "",
      mount,
      fsType: fsTypeName(stat.type),
    };
  }));
  return found.filter((entry) => entry !== undefined);
}

/** Whether a directory sits on another device than its parent, i.e. something is mounted there. */
async function isMountPoint(path: string): Promise<boolean> {
  const parent = path.slice(0, path.lastIndexOf("/")) || "/";
  try {
    const [self, above] = await Promise.all([Deno.stat(path), Deno.stat(parent)]);
    return self.isDirectory && self.dev !== above.dev;
  } catch {
    // Gone or unreadable since it was listed: nothing we could measure anyway.
    return false;
  }
}

/** The real (non-symlink) subdirectories of `dir`, as absolute paths; none if unreadable. */
async function subdirs(dir: string): Promise<string[]> {
  const paths: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory && !entry.isSymlink) {
        paths.push(dir === "/" ? `/${entry.name}` : `${dir}/${entry.name}`);
      }
    }
  } catch {
    // /mnt or /media may be missing or closed to us; they only add candidates.
  }
  return paths;
}

/** The paths that exist, in order. */
async function existing(paths: string[]): Promise<string[]> {
  const present = await Promise.all(paths.map(async (path) => {
    try {
      await Deno.stat(path);
      return true;
    } catch {
      // Missing on this version of the OS; simply not listed.
      return false;
    }
  }));
  return paths.filter((_, i) => present[i]);
}

/** A text file's content, or "" when it is missing or unreadable (fstab is optional). */
async function readIfPresent(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    // fstab is only a hint for device names and deep mount points.
    return "";
  }
}

function systemDrive(): string {
  try {
    return Deno.env.get("SystemDrive") ?? "C:";
  } catch {
    // Without --allow-env the system drive is almost always C:.
    return "C:";
  }
}

/** The server's `disk` collector. */
export const diskCollector: Collector<DiskInfo> = createDiskCollector();
