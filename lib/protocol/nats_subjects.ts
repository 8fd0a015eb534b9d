/**
 * The NATS subjects of rmon's message-bus mode, versioned under one prefix
 * per fleet: `rmon.v1.<fleet>.host.<name>`, `….group.<g>`, `….all` (requests),
 * `….ctl.<name>` (flow-control acks to one host), `….call.<nonce>` (cancel of
 * one call, on every host it went to), `….presence.<name>` (an agent's
 * heartbeats), `….reply.<id>` (answers to one requester). Names become single subject tokens: characters outside
 * `[A-Za-z0-9_-]` are written `%XX` (UTF-8), so `web1.example.com` cannot split
 * into several tokens or match a wildcard. Protocol layer; pure.
 * @module
 */

/** The subject version; a change of the message formats bumps it. */
export const BUS_VERSION = "v1";

/** The fleet name used when none is given. */
export const DEFAULT_FLEET = "default";

/** Longest name token (before encoding) accepted for a fleet, host or group. */
const MAX_NAME = 128;

/** One name as a subject token: `[A-Za-z0-9_-]` kept, every other UTF-8 byte as `%XX`. */
export function subjectToken(name: string): string {
  if (name.length === 0) throw new RangeError("Cannot use an empty name in a NATS subject");
  if (name.length > MAX_NAME) {
    throw new RangeError(
      `Cannot use "${name.slice(0, 32)}…" in a NATS subject: over ${MAX_NAME} characters`,
    );
  }
  let out = "";
  for (const byte of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The subjects of one fleet. */
export class FleetSubjects {
  /** `rmon.v1.<fleet>`. */
  readonly prefix: string;

  /** Subjects for the fleet named `fleet`. */
  constructor(fleet: string = DEFAULT_FLEET) {
    this.prefix = `rmon.${BUS_VERSION}.${subjectToken(fleet)}`;
  }

  /** Requests to one host. */
  host(name: string): string {
    return `${this.prefix}.host.${subjectToken(name)}`;
  }

  /** Requests to every member of a group. */
  group(name: string): string {
    return `${this.prefix}.group.${subjectToken(name)}`;
  }

  /** Requests to every host (and the presence query). */
  get all(): string {
    return `${this.prefix}.all`;
  }

  /** Control messages (flow-control acks) for calls running on one host. */
  ctl(name: string): string {
    return `${this.prefix}.ctl.${subjectToken(name)}`;
  }

  /**
   * The cancel subject of one call (its request's nonce): one message reaches
   * every host the request went to, however many that is.
   */
  call(nonce: string): string {
    return `${this.prefix}.call.${subjectToken(nonce)}`;
  }

  /** Where the agent called `name` announces itself (heartbeats, and its leaving). */
  presence(name: string): string {
    return `${this.prefix}.presence.${subjectToken(name)}`;
  }

  /** Every agent's announcements (a subscription's wildcard). */
  get presenceAll(): string {
    return `${this.prefix}.presence.*`;
  }

  /** A requester's private reply subject; `id` is a random token. */
  reply(id: string): string {
    return `${this.prefix}.reply.${subjectToken(id)}`;
  }

  /** Whether `subject` is a reply subject of this fleet (the only place agents publish). */
  isReply(subject: string): boolean {
    const head = `${this.prefix}.reply.`;
    return subject.startsWith(head) && /^[A-Za-z0-9_%-]+$/.test(subject.slice(head.length));
  }
}

/** The method a requester asks every agent on `….all` to announce itself with. */
export const PRESENCE_METHOD = "presence";

/** The method on `….call.<nonce>` that cancels that call (params `{call: <nonce>}`). */
export const CANCEL_METHOD = "cancel";

/**
 * The method on `….ctl.<name>` that lets a call's output flow on (params
 * `{call: <nonce>, bytes: N}`: the requester has taken N characters of it).
 */
export const ACK_METHOD = "ack";

/**
 * Flow control of streamed output: an agent sends at most this many
 * characters of one call's output beyond what the requester has acknowledged,
 * then waits (the child blocks on its pipe). The requester acknowledges every
 * half window, so a slow client slows the commands, and is not cut off by
 * NATS as a slow consumer.
 */
export const FLOW_WINDOW_CHARS = 256 * 1024;

/** What an agent announces about itself in answer to the presence query. */
export interface Presence {
  name: string;
  groups: string[];
  version: string;
  /** Where it runs, for the `address` of records (its host name). */
  address: string;
  /** Whether it refuses exec (`--read-only`). */
  readOnly: boolean;
  /** Its heartbeat interval, ms (absent: {@linkcode DEFAULT_HEARTBEAT_MS}). */
  heartbeatMs?: number;
}

/**
 * How often an agent announces itself on `….presence.<name>` by default. The
 * client takes a host for gone after {@linkcode HEARTBEAT_MISSES} announcements
 * missed (each announcement says its own interval).
 */
export const DEFAULT_HEARTBEAT_MS = 5_000;

/** Announcements a host may miss before the client counts it lost. */
export const HEARTBEAT_MISSES = 3;

/**
 * The MAC "nonce" of announcements: they answer no request, so the subject
 * they are published on and the time they carry are what bind them (see
 * docs/protocol.md §12).
 */
export const ANNOUNCE_NONCE = "announce";

/** An agent's announcement: who it is, when it said so, and when it will say it again. */
export interface Announcement {
  presence: Presence;
  /** When it was sent (ms since the epoch): outside the clock window it is refused. */
  ts: number;
  /** The agent's heartbeat interval, ms. */
  intervalMs: number;
  /** Set on the last announcement of an agent that is stopping or leaving the bus. */
  leaving?: "stop" | "kill" | "reset";
}
