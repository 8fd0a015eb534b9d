/**
 * Server addresses as typed in `connect ADDR...` and on the command line:
 * `host`, `host:port`, `[v6]:port`, or a bare IPv6 literal. Grammar layer, pure.
 * @module
 */

import { quote } from "./_quote.ts";
import { isHostname, isIPv4, isIPv6 } from "./ping_host.ts";

/** A parsed address; `port` is absent when none was written (use the default). */
export interface HostPort {
  hostname: string;
  port?: number;
}

type Analysis =
  | { ok: true; value: HostPort }
  | { ok: false; problem: string; range: boolean };

/**
 * Parse `host[:port]`, `[v6]` or `[v6]:port`; a bare IPv6 literal (two or more
 * colons, no brackets) is taken whole, without a port.
 *
 * @throws {SyntaxError} The text is not an address.
 * @throws {RangeError} The port is outside 1-65535.
 */
export function parseAddress(text: string): HostPort {
  const result = analyze(text);
  if (result.ok) return result.value;
  const message = `Cannot parse address ${quote(text)}: ${result.problem}`;
  throw result.range ? new RangeError(message) : new SyntaxError(message);
}

/** Why `text` is not a valid address (a lower-case detail), or undefined if it is. */
export function addressProblem(text: string): string | undefined {
  const result = analyze(text);
  return result.ok ? undefined : result.problem;
}

function analyze(text: string): Analysis {
  const fail = (problem: string, range = false): Analysis => ({ ok: false, problem, range });
  if (text === "") return fail("it is empty");
  let hostname: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) return fail('"[" is never closed');
    hostname = text.slice(1, close);
    if (!isIPv6(hostname)) return fail(`${quote(hostname)} is not an IPv6 address`);
    const after = text.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) return fail(`expected ":PORT" after "]"`);
      portText = after.slice(1);
    }
  } else {
    const colons = text.split(":").length - 1;
    if (colons >= 2) {
      if (!isIPv6(text)) return fail("not an IPv6 address; write [v6]:port to give a port");
      return { ok: true, value: { hostname: text } };
    }
    [hostname, portText] = colons === 1 ? text.split(":") as [string, string] : [text, undefined];
    if (!isIPv4(hostname) && !isHostname(hostname)) {
      return fail(`${quote(hostname)} is not a host name or address`);
    }
  }
  if (portText === undefined) return { ok: true, value: { hostname } };
  if (!/^[0-9]{1,5}$/.test(portText)) return fail(`port ${quote(portText)} is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) return fail(`port ${port} is outside 1-65535`, true);
  return { ok: true, value: { hostname, port } };
}
