/**
 * Which server an address names: one key per address and port, so that two
 * entries of the same server (`127.0.0.1:7101` and `localhost:7101`, or an
 * inventory host typed again on the command line) are caught instead of
 * connected twice. Client layer; pure, and deliberately without DNS.
 *
 * The rule, as the README states it: IP literals compare by value (IPv6 in
 * its RFC 5952 form, an IPv4-mapped IPv6 address as the IPv4 address),
 * `localhost` and names under `.localhost` count as 127.0.0.1 (RFC 6761), and
 * any other name compares as written, ignoring case and a trailing dot. Names
 * are not resolved: DNS may be slow or absent where rmon starts, and would
 * make the check depend on it; a name and an IP address of one machine are
 * therefore two entries.
 * @module
 */

import { isIPv4, isIPv6 } from "../grammar/ping_host.ts";

/** Where a server listens, as far as the key is concerned. */
export interface ServerAddress {
  hostname: string;
  port: number;
}

/**
 * The canonical form of a host: `127.0.0.1` for `localhost`, `::1` for
 * `0:0:0:0:0:0:0:1`, `10.0.0.1` for `::ffff:10.0.0.1`, a lower-case name
 * without its trailing dot otherwise.
 */
export function canonicalHost(hostname: string): string {
  // A dotted quad is its own canonical form: no brackets, no case, no trailing dot.
  if (isIPv4(hostname)) return hostname;
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return "127.0.0.1";
  if (isIPv4(host)) return host;
  if (isIPv6(host)) return canonicalIPv6(host);
  return host;
}

/** The key of a server: canonical host and port, `127.0.0.1:7101` or `[::1]:7101`. */
export function serverKey(address: ServerAddress): string {
  const host = canonicalHost(address.hostname);
  return host.includes(":") ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

/** An IPv6 literal (already checked) in RFC 5952 form; IPv4-mapped ones as IPv4. */
function canonicalIPv6(text: string): string {
  const percent = text.indexOf("%");
  const zone = percent === -1 ? "" : text.slice(percent);
  const groups = ipv6Groups(percent === -1 ? text : text.slice(0, percent));
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped && zone === "") {
    const [hi, lo] = [groups[6]!, groups[7]!];
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join(".");
  }
  // The longest run of two or more zero groups (the first of equals) becomes "::".
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start === -1) return hex.join(":") + zone;
  const head = hex.slice(0, best.start).join(":");
  const tail = hex.slice(best.start + best.length).join(":");
  return `${head}::${tail}` + zone;
}

/** The eight 16-bit groups of an IPv6 address without zone (an embedded IPv4 counts as two). */
function ipv6Groups(address: string): number[] {
  const parse = (run: string): number[] =>
    run === "" ? [] : run.split(":").flatMap((part) => {
      if (!part.includes(".")) return [parseInt(part, 16)];
      const [a, b, c, d] = part.split(".").map(Number) as [number, number, number, number];
      return [(a << 8) | b, (c << 8) | d];
    });
  const halves = address.split("::");
  if (halves.length === 1) return parse(address);
  const left = parse(halves[0]!);
  const right = parse(halves[1]!);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
