/**
 * Turns `rmon`'s options into a fleet: inventory hosts plus hosts named on
 * the command line, each with its resolved token (one HMAC key per distinct
 * token, shared by every host that uses it) and its dialer: plain TCP on
 * loopback, TLS elsewhere, verified by a pinned fingerprint, a CA file or
 * the known-hosts file (trust on first use).
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { UsageError } from "../usage.ts";
import { TokenKey } from "../protocol/auth.ts";
import { dialTcp } from "../protocol/tcp_transport.ts";
import { tlsDialer, type TlsVerify } from "../protocol/tls_transport.ts";
import { type Dialer, isLoopbackHost } from "../protocol/transport.ts";
import { Fleet, type FleetHost } from "./fleet.ts";
import {
  DEFAULT_TOKEN_ENV,
  expandHome,
  type HostSpec,
  hostSpecFromAddress,
  type InventoryDefaults,
  loadInventoryFile,
  NO_DEFAULTS,
  resolveToken,
  type TokenSource,
} from "./inventory.ts";
import { KnownHosts, knownHostsPath } from "./known_hosts.ts";
import type { ClientOptions } from "./options.ts";
import {
  defaultIdentityPath,
  type Identity,
  loadIdentity,
  type PassphraseSource,
} from "./identity.ts";
import { askPassphrase } from "./passphrase.ts";
import { checkToken } from "../token_file.ts";
import { SPECS_BY_PREFIX, SPECS_BY_WORD } from "../grammar/command_table.ts";
import { serverKey } from "./server_key.ts";
import { parseHostFile } from "../grammar/host_range.ts";

/** The token source for hosts that name none, from the command line. */
export function fallbackTokenSource(opts: ClientOptions): TokenSource {
  if (opts.tokenFile !== undefined) return { kind: "file", path: opts.tokenFile };
  if (opts.token !== undefined) return { kind: "inline", value: opts.token };
  return { kind: "env", name: opts.tokenEnv ?? DEFAULT_TOKEN_ENV };
}

/** Keys by token text, so a thousand hosts sharing a token import one key. */
export class KeyCache {
  #keys = new Map<string, TokenKey>();

  /** The key for `token`. */
  get(token: string): TokenKey {
    let key = this.#keys.get(token);
    if (!key) {
      key = new TokenKey(token);
      this.#keys.set(token, key);
    }
    return key;
  }
}

/**
 * The hosts to start with, and how to make one from an address typed later:
 * with `--port`, else the inventory's `[defaults]` port, else 5050, and the
 * inventory's default token source, TLS settings and operator key.
 */
export interface HostBook {
  /** The inventory's hosts, then the addresses of the command line. */
  hosts: HostSpec[];
  /** A host for `address` as `connect` (or the command line) gives it; `UsageError` for junk. */
  typed(address: string): HostSpec;
}

/** Read the inventory (if any) and the addresses; throws `UsageError` on bad input. */
export async function collectHosts(opts: ClientOptions): Promise<HostBook> {
  const specs: HostSpec[] = [];
  let defaults: InventoryDefaults = NO_DEFAULTS;
  if (opts.inventory !== undefined) {
    try {
      const inventory = await loadInventoryFile(opts.inventory);
      specs.push(...inventory.hosts);
      defaults = inventory.defaults;
    } catch (err) {
      throw new UsageError(describeError(err), undefined, { cause: err });
    }
  }
  const hint = forgottenDashes(opts.addresses, specs.map((s) => s.name));
  if (hint !== null) throw new UsageError(hint);
  // An explicit --port beats the inventory's default port, as options beat files everywhere.
  const port = opts.port ?? defaults.port;
  const typed = (address: string) => addressSpec(address, port, defaults);
  for (const path of opts.hostFiles) {
    for (const address of await readHostFile(path)) specs.push(typed(address));
  }
  for (const address of opts.addresses) specs.push(typed(address));
  const names = new Set<string>();
  const servers = new Map<string, string>();
  for (const s of specs) {
    if (names.has(s.name)) throw new UsageError(`Invalid hosts: "${s.name}" is given twice`);
    names.add(s.name);
    // An address typed again, or typed for an inventory host, would run every command twice.
    const key = serverKey(s);
    const same = servers.get(key);
    if (same !== undefined) {
      throw new UsageError(
        `Invalid hosts: "${s.name}" is the same server as "${same}" (both are ${key})`,
      );
    }
    servers.set(key, s.name);
  }
  return { hosts: specs, typed };
}

/** The addresses of a `--hosts @FILE` file (host_range.ts), with a usage error naming the file. */
async function readHostFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(expandHome(path));
  } catch (err) {
    throw new UsageError(`Cannot read host file "${path}": ${describeError(err)}`, undefined, {
      cause: err,
    });
  }
  try {
    return parseHostFile(text);
  } catch (err) {
    if (!(err instanceof SyntaxError || err instanceof RangeError)) throw err;
    throw new UsageError(`Invalid host file "${path}": ${err.message}`, undefined, { cause: err });
  }
}

/**
 * The advice for a command typed without `--` before it (`rmon web1 ram`), or
 * null: the first address that is a command word (the grammar's table: `ram`,
 * `ping`, `sh:`…) or a target (`@web*`) and is not an inventory host's name.
 * The advice quotes everything from there on: `did you mean "-- sh: uptime"?`.
 */
export function forgottenDashes(
  addresses: readonly string[],
  inventoryNames: readonly string[],
): string | null {
  const known = new Set(inventoryNames.map((n) => n.toLowerCase()));
  const index = addresses.findIndex((text) => {
    const word = text.toLowerCase();
    if (known.has(word)) return false;
    const prefix = [...SPECS_BY_PREFIX.keys()].some((p) => p.endsWith(":") && word.startsWith(p));
    return SPECS_BY_WORD.has(word) || prefix || word.startsWith("@");
  });
  if (index === -1) return null;
  const what = addresses[index]!.startsWith("@") ? "a target" : "a command";
  const rest = addresses.slice(index).join(" ");
  return `Invalid host "${
    addresses[index]
  }": it is ${what}, not a server; did you mean "-- ${rest}"?`;
}

/** A host typed by the user (`connect` or argv), with a usage error for junk. */
export function addressSpec(
  address: string,
  defaultPort: number,
  defaults: InventoryDefaults = NO_DEFAULTS,
): HostSpec {
  try {
    return hostSpecFromAddress(address, defaultPort, defaults);
  } catch (err) {
    throw new UsageError(`Invalid host "${address}": ${describeError(err)}`, undefined, {
      cause: err,
    });
  }
}

/** How a refusal names a token source: the variable, the quoted file, or "the inline token". */
function sourceName(src: TokenSource, fallback: TokenSource): string {
  const from = src.kind === "default" ? fallback : src;
  if (from.kind === "env") return from.name;
  if (from.kind === "file") return `"${from.path}"`;
  return "the inline token";
}

/**
 * What it takes to reach hosts as the command line says: tokens (one key per
 * distinct token), operator keys (each file loaded once, its passphrase asked
 * once), CA files (read once) and the known-hosts file (read on the first TLS
 * host that needs it).
 */
export class HostCredentials {
  #opts: ClientOptions;
  #keys = new KeyCache();
  #identities = new Map<string, Promise<Identity>>();
  #passphrase: PassphraseSource;
  #cas = new Map<string, string>();
  #knownHosts: KnownHosts | null = null;
  #plain: Dialer = dialTcp;
  #tofu: Dialer | null = null;
  /** Token sources already resolved (by their JSON), with their key or their failure. */
  #tokens = new Map<string, { key: TokenKey } | { err: unknown }>();
  /** The default operator key file, if it exists, once asked. */
  #defaultKey: { path: string | undefined } | undefined;

  /** Credentials for hosts as `opts` describes them; `passphrase` unseals sealed keys. */
  constructor(
    opts: ClientOptions,
    passphrase: PassphraseSource = (path) => askPassphrase(`Passphrase for ${path}: `),
  ) {
    this.#opts = opts;
    this.#passphrase = passphrase;
  }

  /**
   * The fleet entry for `spec`: its operator key (the host's `identity`, else
   * `--identity`, else the default file if it exists) and its token. A host
   * with a key needs no token; a token source named explicitly must work.
   * Anything unreadable, or a token too weak for the servers, is a usage error.
   */
  async fleetHost(spec: HostSpec): Promise<FleetHost> {
    try {
      const identity = await this.#identityFor(spec);
      const fallback = fallbackTokenSource(this.#opts);
      const explicit = spec.token.kind !== "default" || this.#opts.tokenFile !== undefined ||
        this.#opts.token !== undefined || this.#opts.tokenEnv !== undefined;
      let token: TokenKey | null = null;
      try {
        // A token the servers would refuse as too weak is refused here, before connecting.
        token = this.#tokenFor(spec.token, fallback);
      } catch (err) {
        if (identity === null || explicit) throw err;
      }
      return {
        name: spec.name,
        endpoint: { hostname: spec.hostname, port: spec.port },
        groups: spec.groups,
        token,
        identity,
        dial: this.#dialerFor(spec),
      };
    } catch (err) {
      throw new UsageError(
        `Cannot connect to "${spec.name}": ${describeError(err)}`,
        undefined,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * Plain TCP or TLS, and how to verify: the host's own settings, else the
   * command line's; a pin or CA means TLS; without any, TLS off loopback only.
   */
  #dialerFor(spec: HostSpec): Dialer {
    const own = spec.tls;
    const opts = this.#opts;
    const ownVerify = own.fingerprint !== undefined || own.caFile !== undefined;
    const fingerprint = ownVerify ? own.fingerprint : opts.fingerprint;
    const caFile = ownVerify ? own.caFile : opts.caFile;
    const verified = fingerprint !== undefined || caFile !== undefined;
    const useTls = own.tls ??
      (verified || opts.tls
        ? true
        : opts.insecurePlaintext
        ? false
        : !isLoopbackHost(spec.hostname));
    if (!useTls) return this.#plain;
    if (fingerprint !== undefined) return tlsDialer({ kind: "fingerprint", fingerprint });
    if (caFile !== undefined) return tlsDialer({ kind: "ca", caPem: this.#ca(caFile) });
    this.#tofu ??= tlsDialer(this.#tofuVerify());
    return this.#tofu;
  }

  /**
   * The key of a token source, resolved and checked once per source (10,000
   * hosts sharing one token read and judge it once); a failure is kept too.
   */
  #tokenFor(source: TokenSource, fallback: TokenSource): TokenKey {
    const id = JSON.stringify(source);
    let known = this.#tokens.get(id);
    if (known === undefined) {
      try {
        const text = checkToken(resolveToken(source, fallback), sourceName(source, fallback));
        known = { key: this.#keys.get(text) };
      } catch (err) {
        known = { err };
      }
      this.#tokens.set(id, known);
    }
    if ("err" in known) throw known.err;
    return known.key;
  }

  /** The host's operator key, loaded once per file; null when none is named or found. */
  async #identityFor(spec: HostSpec): Promise<Identity | null> {
    const named = spec.identity ?? this.#opts.identity;
    let path = named;
    if (path === undefined) {
      // Found once, not once per host (environment reads and a stat each for 10,000 hosts).
      this.#defaultKey ??= findDefaultKey();
      if (this.#defaultKey.path === undefined) return null;
      path = this.#defaultKey.path;
    }
    let loading = this.#identities.get(path);
    if (loading === undefined) {
      loading = loadIdentity(expandHome(path), this.#passphrase);
      this.#identities.set(path, loading);
    }
    return await loading;
  }

  #ca(path: string): string {
    let pem = this.#cas.get(path);
    if (pem === undefined) {
      try {
        pem = Deno.readTextFileSync(expandHome(path));
      } catch (err) {
        throw new Error(`Cannot read CA file "${path}": ${describeError(err)}`, { cause: err });
      }
      this.#cas.set(path, pem);
    }
    return pem;
  }

  #tofuVerify(): TlsVerify {
    return {
      kind: "tofu",
      check: (address, fingerprint) => {
        this.#knownHosts ??= KnownHosts.load(this.#opts.knownHosts ?? knownHostsPath());
        this.#knownHosts.check(address, fingerprint);
      },
    };
  }
}

/** The default operator key file when it exists (`path` undefined when not, or when there is no home). */
function findDefaultKey(): { path: string | undefined } {
  // No home to look in (a bare service environment) just means no default key.
  const env = (n: string) => Deno.env.get(n);
  const fallback = env("HOME") || env("APPDATA") || env("XDG_CONFIG_HOME")
    ? defaultIdentityPath(env)
    : undefined;
  return { path: fallback !== undefined && existsQuietly(fallback) ? fallback : undefined };
}

/** Add hosts to a fleet with their credentials and dialers; see {@linkcode HostCredentials}. */
export async function addHosts(
  fleet: Fleet,
  specs: readonly HostSpec[],
  credentials: HostCredentials,
): Promise<void> {
  for (const spec of specs) fleet.add(await credentials.fleetHost(spec));
}

/** Whether a file exists (a default path that is simply absent is no error). */
export function existsQuietly(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
