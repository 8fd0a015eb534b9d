/**
 * Target resolution: which inventory hosts a target expression (`web*,-web3`,
 * `group:db`, `web*&group:prod`, `all`) names, and the console's current selection. Client layer;
 * pure — the grammar parses the text, this module only matches names. Names,
 * globs and groups match case-insensitively, like DNS names.
 * @module
 */

import type { TargetExpr, TargetItem } from "../grammar/command.ts";
import { compileGlob } from "../grammar/glob.ts";
import { compactHosts } from "./hostlist.ts";

export type { TargetExpr, TargetItem };
/** Glob matching lives with the glob syntax, in `lib/grammar/glob.ts`. */
export { compileGlob };

/** What target matching needs to know about a host. */
export interface TargetHost {
  name: string;
  groups: readonly string[];
}

/** How an item reads in messages: `all`, `group:db`, `web*`. */
function itemText(item: TargetItem): string {
  switch (item.kind) {
    case "all":
      return "all";
    case "group":
      return `group:${item.value}`;
    case "name":
    case "glob":
      return item.value;
    default: {
      const never: never = item.kind;
      return String(never);
    }
  }
}

/** A predicate choosing the hosts one item names. */
function itemMatcher(item: TargetItem): (host: TargetHost) => boolean {
  const wanted = item.value.toLowerCase();
  switch (item.kind) {
    case "all":
      return () => true;
    case "group":
      return (host) => host.groups.some((g) => g.toLowerCase() === wanted);
    case "name":
      return (host) => host.name.toLowerCase() === wanted;
    case "glob": {
      const test = compileGlob(item.value);
      return (host) => test(host.name);
    }
    default: {
      const never: never = item.kind;
      throw new TypeError(`Cannot match target: unknown kind "${String(never)}"`);
    }
  }
}

/**
 * The host names a target expression selects, in inventory order. Items apply
 * left to right, clush/pdsh style: a plain item adds its hosts, a `-item`
 * removes them, so `web*,-web3` is every web host but web3, and an `&item`
 * keeps only hosts it also names (Ansible's `:&`), so `web*&group:prod` is the
 * web hosts in group prod. An expression that starts with an exclusion or an
 * intersection starts from all hosts (`-db1` = all but db1). An item that
 * matches no host at all is a typo rather than an empty set, so it throws
 * RangeError `No host matches "db9"`.
 */
export function resolveTargets(expr: TargetExpr, hosts: readonly TargetHost[]): string[] {
  const startFromAll = (expr.items[0]?.op ?? "add") !== "add";
  const chosen = new Set<string>(startFromAll ? hosts.map((h) => h.name) : []);
  for (const item of expr.items) {
    const match = itemMatcher(item);
    const matched = hosts.filter(match);
    if (matched.length === 0) throw new RangeError(`No host matches "${itemText(item)}"`);
    switch (item.op) {
      case "add":
        for (const h of matched) chosen.add(h.name);
        break;
      case "exclude":
        for (const h of matched) chosen.delete(h.name);
        break;
      case "intersect": {
        const keep = new Set(matched.map((h) => h.name));
        for (const name of chosen) if (!keep.has(name)) chosen.delete(name);
        break;
      }
      default: {
        const never: never = item.op;
        throw new TypeError(`Cannot resolve target: unknown item op "${String(never)}"`);
      }
    }
  }
  return hosts.filter((h) => chosen.has(h.name)).map((h) => h.name);
}

/**
 * The console's current selection: which hosts the next command goes to.
 *
 * It starts as "every connected host" and keeps following the connections, so
 * hosts that connect later join it; `+HOST` and `-HOST` adjust it without
 * freezing it. `use TARGET` replaces it with a fixed set of hosts, which stays
 * put whether or not they are connected (a disconnected one then reports as
 * unreachable, which is what the user asked to see). `reset()` goes back to
 * following the connections.
 */
export class Selection {
  /** Explicit names after `use`; null while following the connected hosts. */
  #fixed: Set<string> | null = null;
  /** Hosts added with `+` while following the connected hosts. */
  #added = new Set<string>();
  /** Hosts removed with `-` while following the connected hosts. */
  #removed = new Set<string>();

  /** True while the selection follows the connected hosts (no `use` since the last reset). */
  get followsConnected(): boolean {
    return this.#fixed === null;
  }

  /** Replace the selection with the hosts `expr` names; returns them. */
  use(expr: TargetExpr, hosts: readonly TargetHost[]): string[] {
    const names = resolveTargets(expr, hosts);
    this.#fixed = new Set(names);
    this.#added.clear();
    this.#removed.clear();
    return names;
  }

  /** Add the hosts `expr` names (`+HOST`); returns the new selection. */
  add(expr: TargetExpr, hosts: readonly TargetHost[], connected: Iterable<string>): string[] {
    for (const name of resolveTargets(expr, hosts)) {
      if (this.#fixed === null) {
        this.#removed.delete(name);
        this.#added.add(name);
      } else {
        this.#fixed.add(name);
      }
    }
    return this.names(hosts, connected);
  }

  /** Remove the hosts `expr` names (`-HOST`); returns the new selection. */
  remove(expr: TargetExpr, hosts: readonly TargetHost[], connected: Iterable<string>): string[] {
    for (const name of resolveTargets(expr, hosts)) {
      if (this.#fixed === null) {
        this.#added.delete(name);
        this.#removed.add(name);
      } else {
        this.#fixed.delete(name);
      }
    }
    return this.names(hosts, connected);
  }

  /** Drop hosts that left the fleet (`forget`), wherever the selection names them. */
  forget(names: Iterable<string>): void {
    for (const name of names) {
      this.#fixed?.delete(name);
      this.#added.delete(name);
      this.#removed.delete(name);
    }
  }

  /** Go back to the default: every connected host. */
  reset(): void {
    this.#fixed = null;
    this.#added.clear();
    this.#removed.clear();
  }

  /** The selected names in inventory order, given which hosts are connected now. */
  names(hosts: readonly TargetHost[], connected: Iterable<string>): string[] {
    const live = new Set(connected);
    const fixed = this.#fixed;
    const pick = fixed === null
      ? (name: string) => (live.has(name) || this.#added.has(name)) && !this.#removed.has(name)
      : (name: string) => fixed.has(name);
    return hosts.filter((h) => pick(h.name)).map((h) => h.name);
  }

  /** A short description for the prompt or `use` echo: `web[1-3],db1 (4)`. */
  describe(hosts: readonly TargetHost[], connected: Iterable<string>): string {
    const names = this.names(hosts, connected);
    const list = names.length === 0 ? "no hosts" : `${compactHosts(names)} (${names.length})`;
    const untouched = this.#fixed === null && this.#added.size === 0 && this.#removed.size === 0;
    return untouched ? `all connected: ${list}` : list;
  }
}
