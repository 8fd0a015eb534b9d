/**
 * The inventory: which servers the client knows, how to reach them, which
 * groups they are in and where each one's token comes from. Client layer; the
 * parser is pure, only {@linkcode loadInventory} and {@linkcode resolveToken}
 * touch the file system and the environment.
 *
 * The file is TOML:
 *
 * ```toml
 * [defaults]                          # optional
 * port = 5050                         # default 5050
 * token_file = "~/.config/rmon/token" # or token_env = "RMON_TOKEN", or token = "..."
 *
 * [[host]]
 * name = "web1"                       # optional: defaults to address
 * address = "10.0.0.11"               # optional: defaults to name; host, host:port, [v6]:port, bare v6
 * groups = ["web", "prod"]            # optional
 * port = 5051                         # optional; not together with a port in address
 * token_env = "RMON_TOKEN_WEB"        # optional: token_env, token_file or token, at most one
 * fingerprint = "sha256:…"            # optional: pin the server's TLS certificate
 * ca_file = "ca.pem"                  # optional instead: verify it against this CA
 * tls = true                          # optional: false allows plain TCP off loopback
 * identity = "~/.config/rmon/id_ed25519" # optional: the operator key to sign in with
 * ```
 *
 * `tls`, `fingerprint`, `ca_file` and `identity` may also stand in
 * `[defaults]`; a host's own setting wins. The defaults (port included) also
 * apply to hosts typed on the command line or with `connect` next to the
 * inventory (see {@linkcode hostSpecFromAddress}). Without either, the first certificate seen is recorded in
 * the known-hosts file (trust on first use).
 *
 * A host's token source is its own, else the one in `[defaults]`, else the
 * caller's fallback (`RMON_TOKEN` unless told otherwise). A relative
 * `token_file` is relative to the inventory's directory; a leading `~/` means
 * the home directory. Token files must not be readable by group or others,
 * and neither may an inventory that holds a token itself (`token = "..."`).
 * Unknown keys are errors, so a typo never silently drops a setting, and two
 * entries of the same server (by address and port, see server_key.ts) are
 * refused, so no command runs twice on one machine.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { dirname, isAbsolute, join } from "node:path";
import { parse, TomlError } from "smol-toml";
import { DEFAULT_PORT } from "../protocol/constants.ts";
import { parseAddress as parseHostPort } from "../grammar/address.ts";
import { hostNameProblem } from "../grammar/host_name.ts";
import { fsDetail, openMode, readTokenFile } from "../token_file.ts";
import { parseFingerprint } from "../protocol/fingerprint.ts";
import { serverKey } from "./server_key.ts";
import { type NatsSettings, parseNatsTable } from "./inventory_nats.ts";

/** Where a host's token comes from. `default` defers to the caller's fallback. */
export type TokenSource =
  | { kind: "env"; name: string }
  | { kind: "file"; path: string }
  | { kind: "inline"; value: string }
  | { kind: "default" };

/** One server as the client knows it. */
export interface HostSpec {
  /** What the user calls it in targets and output; unique in an inventory. */
  name: string;
  /** DNS name or IP address to connect to (IPv6 without brackets). */
  hostname: string;
  port: number;
  groups: string[];
  token: TokenSource;
  /** TLS settings the host (or `[defaults]`) gives; unset fields defer to the command line. */
  tls: TlsSettings;
  /** The operator key file the host (or `[defaults]`) names, if any. */
  identity?: string;
}

/** How to protect and verify one host's connection; every field optional. */
export interface TlsSettings {
  /** true: TLS even on loopback; false: plain TCP even off loopback (insecure). */
  tls?: boolean;
  /** Pinned server certificate, bare hex SHA-256. */
  fingerprint?: string;
  /** CA certificate file to verify the server against. */
  caFile?: string;
}

/**
 * What an inventory's `[defaults]` give every host without its own setting,
 * including hosts typed later on the command line or with `connect`.
 */
export interface InventoryDefaults {
  /** Port of an address written without one (default 5050). */
  port: number;
  /** Token source; `default` defers to the command line, then `RMON_TOKEN`. */
  token: TokenSource;
  tls: TlsSettings;
  identity?: string;
}

/** The defaults of no inventory at all: everything defers to the command line. */
export const NO_DEFAULTS: InventoryDefaults = {
  port: DEFAULT_PORT,
  token: { kind: "default" },
  tls: {},
};

/** A parsed inventory: its `[defaults]` and its hosts, in file order. */
export interface Inventory {
  defaults: InventoryDefaults;
  hosts: HostSpec[];
  /** `[nats]`: reach these hosts through NATS (see inventory_nats.ts). */
  nats?: NatsSettings;
}

/** The environment variable read when nothing else names a token source. */
export const DEFAULT_TOKEN_ENV = "RMON_TOKEN";

const TOP_KEYS = ["defaults", "host", "nats"];
const TLS_KEYS = ["tls", "fingerprint", "ca_file"];
const DEFAULTS_KEYS = ["port", "token_env", "token_file", "token", "identity", ...TLS_KEYS];
const HOST_KEYS = [
  "name",
  "address",
  "port",
  "groups",
  "token_env",
  "token_file",
  "token",
  "identity",
  ...TLS_KEYS,
];
const TOKEN_KEYS = ["token_env", "token_file", "token"];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Parse `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address
 * (`::1`, which then takes `defaultPort`). Throws SyntaxError for anything
 * else and RangeError for a port outside 1-65535.
 */
export function parseAddress(
  text: string,
  defaultPort: number,
): { hostname: string; port: number } {
  const { hostname, port } = parseHostPort(text);
  return { hostname, port: port ?? defaultPort };
}

/**
 * A host typed on the command line or with `connect` rather than found in an
 * inventory; named as typed, less IPv6 brackets (`[::1]:5051` is `::1:5051`).
 * The inventory's `defaults` (none unless given) supply its token source, TLS
 * settings and operator key; `defaultPort` the port of an address written
 * without one. Throws SyntaxError for an address that is no host name either.
 */
export function hostSpecFromAddress(
  text: string,
  defaultPort: number = DEFAULT_PORT,
  defaults: InventoryDefaults = NO_DEFAULTS,
): HostSpec {
  const { hostname, port } = parseAddress(text, defaultPort);
  const name = addressName(text);
  const problem = hostNameProblem(name);
  if (problem) throw new SyntaxError(`Cannot name host "${text}": ${problem.detail}`);
  return {
    name,
    hostname,
    port,
    groups: [],
    token: defaults.token,
    tls: { ...defaults.tls },
    ...withIdentity(defaults.identity),
  };
}

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

/** Reject keys the format does not know; `where` names the table in the message. */
function checkKeys(table: Table, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(table)) {
    if (!allowed.includes(key)) {
      throw new SyntaxError(
        `${where}: unknown key "${key}" (expected one of ${allowed.join(", ")})`,
      );
    }
  }
}

function getString(table: Table, key: string, where: string): string | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new SyntaxError(`${where}: "${key}" must be a non-empty string`);
  }
  return value;
}

function getPort(table: Table, where: string): number | undefined {
  const value = table.port;
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new SyntaxError(`${where}: "port" must be an integer`);
  }
  if (value < 1 || value > 65535) {
    throw new RangeError(`${where}: port "${value}" is out of range 1-65535`);
  }
  return value;
}

/** The token source a table names, if any; relative files resolve against `baseDir`. */
function getTokenSource(table: Table, where: string, baseDir: string): TokenSource | undefined {
  const present = TOKEN_KEYS.filter((k) => table[k] !== undefined);
  if (present.length > 1) {
    throw new SyntaxError(`${where}: set only one of ${present.map((k) => `"${k}"`).join(", ")}`);
  }
  const env = getString(table, "token_env", where);
  if (env !== undefined) {
    if (!ENV_NAME.test(env)) {
      throw new SyntaxError(`${where}: "token_env" is not a variable name: "${env}"`);
    }
    return { kind: "env", name: env };
  }
  const file = getString(table, "token_file", where);
  if (file !== undefined) {
    // `~/` stays for resolveToken to expand, keeping this parser free of the environment.
    const path = file.startsWith("~") || isAbsolute(file) ? file : join(baseDir, file);
    return { kind: "file", path };
  }
  const inline = getString(table, "token", where);
  if (inline !== undefined) return { kind: "inline", value: inline };
  return undefined;
}

/** The TLS settings a table names; relative `ca_file` paths resolve against `baseDir`. */
function getTlsSettings(table: Table, where: string, baseDir: string): TlsSettings {
  const out: TlsSettings = {};
  if (table.tls !== undefined) {
    if (typeof table.tls !== "boolean") {
      throw new SyntaxError(`${where}: "tls" must be true or false`);
    }
    out.tls = table.tls;
  }
  if (table.fingerprint !== undefined && table.ca_file !== undefined) {
    throw new SyntaxError(`${where}: set only one of "fingerprint", "ca_file"`);
  }
  const fingerprint = getString(table, "fingerprint", where);
  if (fingerprint !== undefined) {
    try {
      out.fingerprint = parseFingerprint(fingerprint);
    } catch (err) {
      throw new SyntaxError(`${where}: ${describeError(err)}`, { cause: err });
    }
  }
  const caFile = getString(table, "ca_file", where);
  if (caFile !== undefined) {
    out.caFile = caFile.startsWith("~") || isAbsolute(caFile) ? caFile : join(baseDir, caFile);
  }
  return out;
}

/** The identity file a table names; relative paths resolve against `baseDir`. */
function getIdentity(table: Table, where: string, baseDir: string): string | undefined {
  const path = getString(table, "identity", where);
  if (path === undefined) return undefined;
  return path.startsWith("~") || isAbsolute(path) ? path : join(baseDir, path);
}

/** A host's TLS settings over the defaults': its own verification wins as a whole. */
function mergeTls(own: TlsSettings, defaults: TlsSettings): TlsSettings {
  const verify = own.fingerprint !== undefined || own.caFile !== undefined ? own : defaults;
  const out: TlsSettings = {};
  const tls = own.tls ?? defaults.tls;
  if (tls !== undefined) out.tls = tls;
  if (verify.fingerprint !== undefined) out.fingerprint = verify.fingerprint;
  if (verify.caFile !== undefined) out.caFile = verify.caFile;
  return out;
}

/** Check a host name is usable in target expressions. */
/** Refuse a name `hostNameProblem()` refuses, so every host can be targeted. */
function checkName(name: string, where: string): void {
  const problem = hostNameProblem(name);
  if (problem) throw new SyntaxError(`${where}: bad name "${name}": ${problem.detail}`);
}

/**
 * The name of a host known only by its address: the address as typed, less
 * the brackets of an IPv6 literal (`[::1]:5051` is `::1:5051`), which a
 * target would read as a glob.
 */
function addressName(address: string): string {
  return address.replace(/^\[([^\]]*)\]/, "$1");
}

function parseHost(
  entry: unknown,
  index: number,
  defaults: InventoryDefaults,
  baseDir: string,
): HostSpec {
  let where = `host ${index}`;
  if (!isTable(entry)) throw new SyntaxError(`${where}: expected a table`);
  const name0 = typeof entry.name === "string" && entry.name !== "" ? entry.name : undefined;
  if (name0 !== undefined) where = `host ${index} ("${name0}")`;
  checkKeys(entry, HOST_KEYS, where);

  const address = getString(entry, "address", where);
  const given = getString(entry, "name", where);
  const name = given ?? (address === undefined ? undefined : addressName(address));
  if (name === undefined) throw new SyntaxError(`${where}: set "name" or "address"`);
  checkName(name, where);

  let split: ReturnType<typeof parseHostPort>;
  try {
    split = parseHostPort(address ?? name);
  } catch (err) {
    const detail = err instanceof Error ? err.message.replace(/^Cannot parse address /, "") : "";
    throw new SyntaxError(`${where}: bad address ${detail}`, { cause: err });
  }
  const port = getPort(entry, where);
  if (port !== undefined && split.port !== undefined) {
    throw new SyntaxError(`${where}: set the port in "address" or in "port", not both`);
  }

  const groupsValue = entry.groups ?? [];
  if (!Array.isArray(groupsValue)) {
    throw new SyntaxError(`${where}: "groups" must be an array of strings`);
  }
  const groups: string[] = [];
  for (const g of groupsValue) {
    if (typeof g !== "string" || !GROUP_NAME.test(g)) {
      throw new SyntaxError(
        `${where}: bad group ${JSON.stringify(g)}: use letters, digits, ".", "_", "-"`,
      );
    }
    if (!groups.includes(g)) groups.push(g);
  }

  return {
    name,
    hostname: split.hostname,
    port: split.port ?? port ?? defaults.port,
    groups,
    token: getTokenSource(entry, where, baseDir) ?? defaults.token,
    tls: mergeTls(getTlsSettings(entry, where, baseDir), defaults.tls),
    ...withIdentity(getIdentity(entry, where, baseDir) ?? defaults.identity),
  };
}

/** `{ identity }` when there is one: hosts without stay free of the key. */
function withIdentity(identity: string | undefined): { identity?: string } {
  return identity === undefined ? {} : { identity };
}

/** Parse inventory text; errors say where, without the `Cannot parse inventory` prefix. */
function parseInventoryBody(text: string, baseDir: string): Inventory {
  let doc: Table;
  try {
    doc = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split("\n")[0]?.replace(/^Invalid TOML document: /, "") ?? "";
      throw new SyntaxError(`line ${err.line}, column ${err.column}: ${first}`, { cause: err });
    }
    throw err;
  }
  checkKeys(doc, TOP_KEYS, "top level");

  const defaultsTable = doc.defaults ?? {};
  if (!isTable(defaultsTable)) throw new SyntaxError(`"defaults" must be a table`);
  checkKeys(defaultsTable, DEFAULTS_KEYS, "[defaults]");
  const defaults: InventoryDefaults = {
    port: getPort(defaultsTable, "[defaults]") ?? DEFAULT_PORT,
    token: getTokenSource(defaultsTable, "[defaults]", baseDir) ?? { kind: "default" },
    tls: getTlsSettings(defaultsTable, "[defaults]", baseDir),
    ...withIdentity(getIdentity(defaultsTable, "[defaults]", baseDir)),
  };

  const entries = doc.host ?? [];
  if (!Array.isArray(entries)) {
    throw new SyntaxError(`"host" must be an array of tables: write [[host]], not [host]`);
  }
  const hosts: HostSpec[] = [];
  const seen = new Map<string, number>();
  const servers = new Map<string, number>();
  entries.forEach((entry, i) => {
    const host = parseHost(entry, i + 1, defaults, baseDir);
    // Targets match names case-insensitively, so `Web1` and `web1` would be one host.
    const first = seen.get(host.name.toLowerCase());
    if (first !== undefined) {
      throw new SyntaxError(
        `host ${i + 1} ("${host.name}"): duplicate name "${host.name}" (also host ${first})`,
      );
    }
    // Two entries of one server would run every command on it twice.
    const key = serverKey(host);
    const same = servers.get(key);
    if (same !== undefined) {
      throw new SyntaxError(
        `host ${i + 1} ("${host.name}"): same server as host ${same} ` +
          `("${hosts[same - 1]!.name}"): both are ${key}`,
      );
    }
    seen.set(host.name.toLowerCase(), i + 1);
    servers.set(key, i + 1);
    hosts.push(host);
  });
  const nats = doc.nats === undefined ? undefined : parseNatsTable(doc.nats, baseDir);
  return nats === undefined ? { defaults, hosts } : { defaults, hosts, nats };
}

/**
 * Parse inventory text (format in the module doc) into hosts, in file order.
 * Relative `token_file` paths resolve against `baseDir`. Throws SyntaxError
 * (RangeError for an out-of-range port) naming the host by its 1-based index
 * and name: `Cannot parse inventory: host 2 ("web1"): unknown key "adress" ...`.
 */
export function parseInventory(text: string, baseDir: string): HostSpec[] {
  try {
    return parseInventoryBody(text, baseDir).hosts;
  } catch (err) {
    throw rewrap(err, "Cannot parse inventory");
  }
}

/** Prefix an error's message while keeping its class and the original as the cause. */
function rewrap(err: unknown, prefix: string): unknown {
  if (err instanceof RangeError) return new RangeError(`${prefix}: ${err.message}`, { cause: err });
  if (err instanceof SyntaxError) {
    return new SyntaxError(`${prefix}: ${err.message}`, { cause: err });
  }
  return err;
}

/** The hosts of an inventory file; see {@linkcode loadInventoryFile}. */
export async function loadInventory(path: string): Promise<HostSpec[]> {
  return (await loadInventoryFile(path)).hosts;
}

/** Read and parse an inventory file; a leading `~/` in `path` means the home directory. */
export async function loadInventoryFile(path: string): Promise<Inventory> {
  const full = expandHome(path);
  let text: string;
  let mode: number | null;
  try {
    mode = (await Deno.stat(full)).mode;
    text = await Deno.readTextFile(full);
  } catch (err) {
    throw new Error(`Cannot read inventory "${path}": ${fsDetail(err)}`, { cause: err });
  }
  let inventory: Inventory;
  try {
    inventory = parseInventoryBody(text, dirname(full));
  } catch (err) {
    throw rewrap(err, `Cannot parse inventory "${path}"`);
  }
  // A token written into the file makes the file a secret, held to a token file's rule.
  const inline = [inventory.defaults, ...inventory.hosts].some((h) => h.token.kind === "inline");
  const open = inline ? openMode(mode) : null;
  if (open !== null) {
    throw new Error(
      `Cannot use inventory "${path}": it holds a token (token = "...") and mode ${open} lets ` +
        `group or others read it; run "chmod 600 ${full}", or move the token to a token_file`,
    );
  }
  return inventory;
}

/**
 * Expand a leading `~/` (or a lone `~`) to the home directory: `HOME`, or
 * `USERPROFILE` on Windows. Other paths come back unchanged.
 */
export function expandHome(path: string): string {
  const windows = Deno.build.os === "windows";
  const tilde = path === "~" || path.startsWith("~/") || (windows && path.startsWith("~\\"));
  if (!tilde) return path;
  const home = Deno.env.get("HOME") ?? (windows ? Deno.env.get("USERPROFILE") : undefined);
  if (home === undefined || home === "") {
    throw new Error(`Cannot expand "${path}": ${windows ? "USERPROFILE" : "HOME"} is not set`);
  }
  return path === "~" ? home : join(home, path.slice(2));
}

/**
 * Read the token a source names: an environment variable, a file (trailing
 * whitespace trimmed; on Unix refused when group or others can access it), or
 * the inline value. `default` uses `fallback`, which defaults to the
 * `RMON_TOKEN` environment variable. Throws Error with the reason when the
 * token is missing, empty or unsafe.
 */
export function resolveToken(
  src: TokenSource,
  fallback: TokenSource = { kind: "env", name: DEFAULT_TOKEN_ENV },
): string {
  switch (src.kind) {
    case "env": {
      const value = Deno.env.get(src.name);
      if (value === undefined || value.trim() === "") {
        throw new Error(`Cannot read token: environment variable "${src.name}" is not set`);
      }
      return value.trim();
    }
    case "file":
      return readTokenFile(expandHome(src.path), src.path);
    case "inline":
      return src.value;
    case "default":
      if (fallback.kind === "default") {
        throw new TypeError(`Cannot read token: the fallback source must not be "default"`);
      }
      return resolveToken(fallback, fallback);
    default: {
      const never: never = src;
      throw new TypeError(`Cannot read token: unknown source ${JSON.stringify(never)}`);
    }
  }
}
