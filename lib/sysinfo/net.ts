/**
 * System-info layer: the `ip` collector, from `Deno.networkInterfaces()`.
 * @module
 */

import type { InterfaceAddress, IpInfo } from "../protocol/messages.ts";
import type { Collector } from "./collector.ts";

/** Whether an address is loopback, i.e. only reachable from this machine. */
export function isLoopback(family: "IPv4" | "IPv6", address: string): boolean {
  return family === "IPv4" ? address.startsWith("127.") : address === "::1";
}

/** Build one `ip` entry from one interface address. */
export function toInterfaceAddress(ni: Deno.NetworkInterfaceInfo): InterfaceAddress {
  return {
    name: ni.name,
    family: ni.family,
    address: ni.address,
    cidr: ni.cidr,
    mac: ni.mac,
    internal: isLoopback(ni.family, ni.address),
  };
}

/** The server's `ip` collector. */
export const netCollector: Collector<IpInfo> = {
  name: "network",
  collect(): Promise<IpInfo> {
    return Promise.resolve({ addresses: Deno.networkInterfaces().map(toInterfaceAddress) });
  },
};
