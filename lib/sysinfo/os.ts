/**
 * System-info layer: the `os` collector, from `Deno.build`, `Deno.osRelease()` and
 * the distribution's own description of itself (`/etc/os-release` on Linux,
 * `SystemVersion.plist` on macOS). The name cannot change while we run, so it is
 * read once.
 * @module
 */

import { nodeOs } from "./_node.ts";
import type { OsInfo } from "../protocol/messages.ts";
import type { Collector } from "./collector.ts";

/** Where Linux describes the distribution, in the order systemd documents. */
const OS_RELEASE_FILES = ["/etc/os-release", "/usr/lib/os-release"];
const MACOS_VERSION_FILE = "/System/Library/CoreServices/SystemVersion.plist";

/** Parse os-release text (`KEY=value` lines, values optionally quoted) into fields. */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const eq = line.indexOf("=");
    if (line.startsWith("#") || eq <= 0) continue;
    let value = line.slice(eq + 1);
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      // Inside double quotes the format allows shell-style backslash escapes.
      if (quote === '"') value = value.replace(/\\(["\\$`])/g, "$1");
    }
    fields[line.slice(0, eq)] = value;
  }
  return fields;
}

/** The human name in os-release fields: PRETTY_NAME, else NAME and VERSION, else "". */
export function osReleaseName(fields: Record<string, string>): string {
  if (fields.PRETTY_NAME) return fields.PRETTY_NAME;
  return [fields.NAME, fields.VERSION].filter(Boolean).join(" ");
}

/** The name in a macOS `SystemVersion.plist`, e.g. `macOS 14.4`, or "". */
export function macosName(plist: string): string {
  const field = (key: string) =>
    new RegExp(`<key>${key}</key>\\s*<string>([^<]*)</string>`).exec(plist)?.[1] ?? "";
  return [field("ProductName"), field("ProductVersion")].filter(Boolean).join(" ");
}

/** Read the OS's human name on `platform`; falls back to the platform name. */
export async function readOsName(platform: typeof Deno.build.os = Deno.build.os): Promise<string> {
  let name = "";
  if (platform === "linux" || platform === "android") {
    for (const file of OS_RELEASE_FILES) {
      const text = await readIfPresent(file);
      if (text !== undefined) {
        name = osReleaseName(parseOsRelease(text));
        break;
      }
    }
  } else if (platform === "darwin") {
    name = macosName(await readIfPresent(MACOS_VERSION_FILE) ?? "");
  } else if (platform === "windows") {
    // node:os reads the product name from the registry, e.g. "Windows 11 Pro".
    name = (await nodeOs()).version();
  }
  return name || platform;
}

/** A text file's content, or undefined when it does not exist or may not be read. */
async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    // A missing or unreadable description only costs us the pretty name.
    if (
      err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied ||
      err instanceof Deno.errors.NotCapable
    ) {
      return undefined;
    }
    throw err;
  }
}

let osName: Promise<string> | undefined;

/** The server's `os` collector. */
export const osCollector: Collector<OsInfo> = {
  name: "os",
  async collect(): Promise<OsInfo> {
    // Forget a failed read so the next call tries again.
    osName ??= readOsName().catch((err) => {
      osName = undefined;
      throw err;
    });
    return {
      platform: Deno.build.os,
      release: Deno.osRelease(),
      arch: Deno.build.arch,
      name: await osName,
    };
  },
};
