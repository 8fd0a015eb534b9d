/**
 * The guard in front of `rmon web`: which `Host` headers and `Origin`s are
 * this server (no DNS rebinding, no cross-site requests), the one-time start
 * token exchanged for a session cookie (as Jupyter does), and the headers
 * every answer carries (a strict Content-Security-Policy among them). Client
 * web layer; pure apart from the random numbers.
 * @module
 */

import { constantTimeEqual } from "../../protocol/auth.ts";
import { generateToken } from "../../token_file.ts";
import { type Endpoint, formatEndpoint, isLoopbackHost } from "../../protocol/transport.ts";

/** The session cookie's name. */
export const SESSION_COOKIE = "rmon_session";

/** How many sessions are kept at most (each page load with the token makes one; oldest go first). */
export const MAX_SESSIONS = 64;

/**
 * The policy every answer carries: scripts, styles, images and connections
 * from this origin only, no inline code, no frames, no plugins, no forms
 * posting elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers on every answer, pages and refusals alike. */
export function securityHeaders(): Record<string, string> {
  return {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    // The start URL carries the token: never let it leak in a Referer.
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}

/** Whether `hostname` is an IP literal (IPv4, or IPv6 with or without brackets). */
function isIpLiteral(hostname: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.replace(/^\[|\]$/g, "").includes(":");
}

/** Whether `hostname` is the any-address (listen on every interface). */
export function isWildcard(hostname: string): boolean {
  return hostname === "0.0.0.0" || hostname === "::" || hostname === "[::]";
}

/**
 * Decides which `Host` header values (and so which origins) name this server:
 * the listen address itself; on loopback also `localhost` and the other
 * loopback spellings; on the any-address any IP literal (a DNS name other than
 * `localhost` or `extraNames` could be an attacker's, pointed here by rebinding).
 */
export class HostCheck {
  #port: number;
  #exact = new Set<string>();
  #anyIp: boolean;

  /** The check for a server listening on `listen`; `extraNames` are DNS names to accept too. */
  constructor(listen: Endpoint, extraNames: readonly string[] = []) {
    this.#port = listen.port;
    this.#anyIp = isWildcard(listen.hostname);
    const add = (hostname: string) =>
      this.#exact.add(formatEndpoint({ hostname, port: listen.port }).toLowerCase());
    if (!this.#anyIp) add(listen.hostname.replace(/^\[|\]$/g, ""));
    if (this.#anyIp || isLoopbackHost(listen.hostname)) {
      for (const h of ["localhost", "127.0.0.1", "::1"]) add(h);
    }
    for (const name of extraNames) add(name);
  }

  /** Whether a `Host` header value (`127.0.0.1:8090`) names this server. */
  allows(host: string | null): boolean {
    if (host === null) return false;
    const h = host.trim().toLowerCase();
    if (this.#exact.has(h)) return true;
    if (!this.#anyIp) return false;
    const m = /^(\[[0-9a-f:.]+\]|[\d.]+):(\d+)$/.exec(h);
    return m !== null && Number(m[2]) === this.#port && isIpLiteral(m[1]!);
  }

  /**
   * Whether an `Origin` header is this server as the page sees it: the same
   * scheme and an allowed host. Browsers send it on every WebSocket upgrade
   * and every POST, so a missing one is refused too.
   */
  allowsOrigin(origin: string | null, scheme: "http" | "https"): boolean {
    if (origin === null) return false;
    const prefix = `${scheme}://`;
    return origin.startsWith(prefix) && this.allows(origin.slice(prefix.length));
  }
}

/** A cookie's value from a `Cookie` header, or null. */
export function cookieValue(header: string | null, name: string): string | null {
  if (header === null) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * The start token and the sessions made from it. The token works once: the
 * first request that brings it gets a session cookie, and the token is spent,
 * so a URL left in a shell history or a screenshot opens nothing later.
 */
export class WebSessions {
  #token: string | null = generateToken();
  #sessions: string[] = [];

  /** The one-time start token (null once spent). */
  get startToken(): string | null {
    return this.#token;
  }

  /** Spend the start token: a new session id when `token` is it, else null. */
  exchange(token: string): string | null {
    const expected = this.#token;
    if (expected === null || !constantTimeEqual(expected, token)) return null;
    this.#token = null;
    const id = generateToken();
    this.#sessions.push(id);
    if (this.#sessions.length > MAX_SESSIONS) this.#sessions.shift();
    return id;
  }

  /** Whether a `Cookie` header carries a live session. */
  valid(cookieHeader: string | null): boolean {
    const id = cookieValue(cookieHeader, SESSION_COOKIE);
    if (id === null) return false;
    // Every session is compared, so the time taken does not say which one nearly matched.
    let found = false;
    for (const s of this.#sessions) found = constantTimeEqual(s, id) || found;
    return found;
  }

  /** A fresh one-time token (`rmon web` prints a new URL on request); the old one stops working. */
  renew(): string {
    this.#token = generateToken();
    return this.#token;
  }
}

/** The `Set-Cookie` value of a session: HttpOnly, SameSite=Strict, Secure over TLS. */
export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}
