/**
 * IP addresses and CIDR blocks for `from=` in authorized keys: parse IPv4 and
 * IPv6 (an IPv4-mapped IPv6 peer counts as IPv4) and test membership. Pure.
 * @module
 */

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

/** A block: base address and prefix length in bits. */
export interface Cidr {
  base: IpBytes;
  bits: number;
  /** As written, for messages. */
  text: string;
}

function parseIpv4(text: string): IpBytes | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255 || (p.length > 1 && p.startsWith("0"))) {
      return null;
    }
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(text: string): IpBytes | null {
  let head = text;
  let tail4: IpBytes | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    if (!tail4) return null;
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => s === "" ? [] : s.split(":");
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return null;
  const all = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

/** Parse an IP address; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) comes back as IPv4. */
export function parseIp(text: string): IpBytes | null {
  const t = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const v4 = parseIpv4(t);
  if (v4) return v4;
  const v6 = parseIpv6(t);
  if (!v6) return null;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

/** Parse `a.b.c.d/n`, `v6::/n` or a bare address (a block of one). Throws `SyntaxError`. */
export function parseCidr(text: string): Cidr {
  const [addr, bitsText, extra] = text.split("/");
  const base = addr === undefined ? null : parseIp(addr);
  if (!base || extra !== undefined) throw new SyntaxError(`bad address block "${text}"`);
  const max = base.length * 8;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!/^\d{1,3}$/.test(bitsText ?? "0") || !Number.isInteger(bits) || bits > max) {
    throw new SyntaxError(`bad prefix length in "${text}" (0-${max})`);
  }
  return { base, bits, text };
}

/** Whether `ip` lies in `block` (never across IPv4/IPv6). */
export function cidrContains(block: Cidr, ip: IpBytes): boolean {
  if (ip.length !== block.base.length) return false;
  let bits = block.bits;
  for (let i = 0; i < ip.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (block.base[i]! & mask)) return false;
  }
  return true;
}
