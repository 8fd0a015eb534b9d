/**
 * Which strings may be handed to `ping` (and to `connect`): IP literals and
 * RFC 1123 host names, nothing that could be read as an option or a shell
 * word. Grammar layer, shared by the client's parser and the server's checks.
 * @module
 */

/** One host-name label: 1-63 letters, digits or hyphens, no hyphen at either end. */
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** One IPv4 octet in decimal, 0-255, without leading zeros (some resolvers read those as octal). */
const OCTET_TEXT = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])";
/** A dotted quad, tested at once: host files of thousands of addresses call this per line. */
const IPV4 = new RegExp(`^${OCTET_TEXT}(?:\\.${OCTET_TEXT}){3}$`);
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
/** An IPv6 zone (`%eth0`, `%12`): an interface name or index. */
const ZONE = /^[A-Za-z0-9_.]{1,32}$/;

/**
 * Whether `host` is safe and well-formed for `ping HOST`: an IPv4 or IPv6 literal
 * (with an optional `%zone`) or an RFC 1123 host name. Never true for a string
 * starting with `-`, containing spaces or shell characters.
 */
export function isValidPingHost(host: string): boolean {
  return isIPv4(host) || isIPv6(host) || isHostname(host);
}

/** Whether `text` is a dotted-quad IPv4 address such as `192.0.2.1`. */
export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/** Whether `text` is an IPv6 address such as `::1` or `fe80::1%eth0` (no brackets). */
export function isIPv6(text: string): boolean {
  let address = text;
  const percent = text.indexOf("%");
  if (percent !== -1) {
    if (!ZONE.test(text.slice(percent + 1))) return false;
    address = text.slice(0, percent);
  }
  if (!address.includes(":")) return false;
  const halves = address.split("::");
  if (halves.length > 2) return false;
  if (halves.length === 1) return countGroups(address, true) === 8;
  // An embedded IPv4 may only end the address, so only the right half may hold one.
  const left = countGroups(halves[0]!, false);
  const right = countGroups(halves[1]!, true);
  // "::" stands for at least one zero group.
  return left !== null && right !== null && left + right <= 7;
}

/**
 * Whether `text` is an RFC 1123 host name: dot-separated labels, at most 253
 * characters (plus an optional trailing dot). The last label may not be all
 * digits, so a mistyped IPv4 address such as `10.0.0.256` is not taken for a name.
 */
export function isHostname(text: string): boolean {
  const name = text.endsWith(".") ? text.slice(0, -1) : text;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  if (!labels.every((label) => LABEL.test(label))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

/** How many 16-bit groups a colon-separated run of IPv6 groups holds, or null if malformed. */
function countGroups(run: string, allowIPv4: boolean): number | null {
  if (run === "") return 0;
  const parts = run.split(":");
  let groups = 0;
  for (const [i, part] of parts.entries()) {
    if (allowIPv4 && i === parts.length - 1 && part.includes(".")) {
      if (!isIPv4(part)) return null;
      groups += 2;
    } else if (HEX_GROUP.test(part)) {
      groups += 1;
    } else {
      return null;
    }
  }
  return groups;
}
