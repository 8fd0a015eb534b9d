/**
 * What the console says when a host's link changes: `Cannot connect to web1
 * (…): refused` while it is being connected, then `web1 lost: …`, `web1 is
 * back after 12 s`, `Connected to web1`. Remembers what each host was last
 * announced as, so a link that retries quietly is not announced again. Client
 * layer; pure apart from the clock it is given.
 * @module
 */

import type { LinkState, LinkStatus } from "./host_link.ts";
import { paint } from "./views/color.ts";
import { formatDuration } from "./views/format.ts";

/** A link's coarse state for notices: up, down (lost or refused), or neither. */
type Presence = "up" | "down";

function presence(state: LinkState): Presence | null {
  if (state === "up") return "up";
  if (state === "lost" || state === "auth_failed" || state === "error") return "down";
  // connecting is a passing state; closed is the user's own doing and reported by its command.
  return null;
}

/** A host as messages name it: `web1 (10.0.0.1:5050)`, or just the address when that is its name. */
export function labelOf(s: { name: string; address: string }): string {
  return s.name === s.address ? s.name : `${s.name} (${s.address})`;
}

/** Decides the one-line notice for each link change; see the module doc. */
export class LinkNotices {
  #color: boolean;
  #now: () => number;
  /** What each host was last announced as. */
  #announced = new Map<string, Presence>();
  /** Hosts that have been up at least once: a later "up" is a comeback. */
  #everUp = new Set<string>();
  /** When each host went down, for "back after ..." notices. */
  #downSince = new Map<string, number>();
  /** Hosts being connected by `connect` (or at start): their command reports them. */
  #connecting = new Set<string>();

  /** Notices painted when `color`; `now` is the clock (default `Date.now`). */
  constructor(color: boolean, now: () => number = Date.now) {
    this.#color = color;
    this.#now = now;
  }

  /**
   * The notice for a link now in `status`, or null when there is nothing new
   * to say (the prompt's counts may still have changed). While a host is being
   * connected only its failure is announced: its command reports the rest.
   */
  changed(status: LinkStatus): string | null {
    const name = status.name;
    if (status.state === "closed") {
      this.#announced.delete(name);
      this.#downSince.delete(name);
    }
    const now = presence(status.state);
    if (now === null || now === this.#announced.get(name)) return null;
    this.#announced.set(name, now);
    if (now === "down") this.#downSince.set(name, status.since);
    const comeback = now === "up" && this.#everUp.has(name);
    if (now === "up") this.#everUp.add(name);
    if (this.#connecting.has(name)) {
      // The first failure is reported at once, so a slow host never hides the others' news.
      return now === "down"
        ? `Cannot connect to ${labelOf(status)}: ${status.reason ?? "failed"}`
        : null;
    }
    if (now === "down") {
      return paint(this.#color, "red", `${name} lost: ${status.reason ?? status.state}`);
    }
    if (comeback) {
      const since = this.#downSince.get(name);
      const after = since === undefined ? "" : ` after ${formatDuration(this.#now() - since)}`;
      return paint(this.#color, "green", `${name} is back${after}`);
    }
    return paint(this.#color, "green", `Connected to ${labelOf(status)}`);
  }

  /** Run `connect` for `names` with their notices held to failures only. */
  async connecting<T>(names: readonly string[], connect: () => Promise<T>): Promise<T> {
    for (const name of names) this.#connecting.add(name);
    try {
      return await connect();
    } finally {
      for (const name of names) this.#connecting.delete(name);
    }
  }

  /** When `name` first went down (its link's own `since` restarts at every retry). */
  downSince(name: string): number | undefined {
    return this.#downSince.get(name);
  }

  /** Drop all memory of hosts removed from the fleet. */
  forget(names: readonly string[]): void {
    for (const name of names) {
      this.#announced.delete(name);
      this.#everUp.delete(name);
      this.#downSince.delete(name);
    }
  }
}
