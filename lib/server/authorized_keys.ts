/**
 * The server's authorized operator keys (`--authorized-keys FILE`), one key
 * a line as in ssh's authorized_keys, options first:
 *
 * ```
 * role=admin rmon-ed25519 AAAA…= alice@laptop
 * role=read-only,from="10.0.0.0/8,fd00::/8" rmon-ed25519 BBBB…= monitoring
 * ```
 *
 * `role` (admin or read-only) is required; `from` limits the source
 * addresses; the comment is the operator's name in logs and audit records and
 * is required too. Blank lines and `#` comments are skipped; anything else
 * malformed is an error naming its line. The file is re-read when it changes
 * (polled), so deleting a line revokes that key. Server layer.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import type { KnownKey, Role } from "../protocol/handshake.ts";
import { importPublicKey, keyId, parsePublicKey, PUBLIC_KEY_TYPE } from "../protocol/key_auth.ts";
import { type Cidr, cidrContains, parseCidr, parseIp } from "./cidr.ts";

export type { Role };

/** One authorized key. */
export interface AuthorizedKey extends KnownKey {
  /** The operator's name (the line's comment). */
  name: string;
  role: Role;
  /** Source blocks allowed, or null for any source. */
  from: Cidr[] | null;
  /** Standard base64 of the raw public key: how the client names it in `auth`. */
  base64: string;
  /** `SHA256:…` short id, for logs. */
  id: string;
  publicKey: CryptoKey;
  /** 1-based line in the file. */
  line: number;
}

/** One line's parts before the key is imported (pure parse result). */
export interface ParsedKeyLine {
  name: string;
  role: Role;
  from: Cidr[] | null;
  raw: Uint8Array;
  base64: string;
  line: number;
}

/** Split `a=1,from="x,y",b` at the commas outside quotes. */
function splitOptions(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (quoted) throw new SyntaxError("unterminated quote in the options");
  out.push(cur);
  return out;
}

function parseLine(text: string, line: number): ParsedKeyLine {
  const at = text.search(new RegExp(`(^|\\s)${PUBLIC_KEY_TYPE}\\s`));
  if (at < 0) throw new SyntaxError(`no "${PUBLIC_KEY_TYPE}" key`);
  const optionsText = text.slice(0, at).trim();
  const key = parsePublicKey(text.slice(at));
  if (key.comment === "") {
    throw new SyntaxError("no name: end the line with the operator's name (the key's comment)");
  }
  let role: Role | null = null;
  let from: Cidr[] | null = null;
  for (const option of optionsText === "" ? [] : splitOptions(optionsText)) {
    const eq = option.indexOf("=");
    const name = eq < 0 ? option : option.slice(0, eq);
    const value = eq < 0 ? "" : option.slice(eq + 1).replace(/^"(.*)"$/, "$1");
    if (name === "role") {
      if (value !== "admin" && value !== "read-only") {
        throw new SyntaxError(`role must be admin or read-only, not "${value}"`);
      }
      role = value;
    } else if (name === "from") {
      from = value.split(",").map((c) => parseCidr(c.trim()));
    } else {
      throw new SyntaxError(`unknown option "${name}" (expected role=, from=)`);
    }
  }
  if (role === null) {
    throw new SyntaxError("no role: start the line with role=admin or role=read-only");
  }
  return { name: key.comment, role, from, raw: key.raw, base64: key.base64, line };
}

/** Parse the file's text; throws `SyntaxError` naming `path` and the line. Pure. */
export function parseAuthorizedKeys(text: string, path: string): ParsedKeyLine[] {
  const out: ParsedKeyLine[] = [];
  const seen = new Map<string, number>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    let parsed: ParsedKeyLine;
    try {
      parsed = parseLine(line, i + 1);
    } catch (err) {
      throw new SyntaxError(
        `Cannot read authorized keys "${path}" line ${i + 1}: ${describeError(err)}`,
        {
          cause: err,
        },
      );
    }
    const first = seen.get(parsed.base64);
    if (first !== undefined) {
      throw new SyntaxError(
        `Cannot read authorized keys "${path}" line ${i + 1}: the same key as line ${first}`,
      );
    }
    seen.set(parsed.base64, i + 1);
    out.push(parsed);
  });
  return out;
}

/** The loaded keys, looked up by the public key a client sends. */
export class AuthorizedKeys {
  readonly path: string;
  #byKey: Map<string, AuthorizedKey>;

  private constructor(path: string, keys: AuthorizedKey[]) {
    this.path = path;
    this.#byKey = new Map(keys.map((k) => [k.base64, k]));
  }

  /** Read and parse `path`; every error names the file (and the line). */
  static async load(path: string): Promise<AuthorizedKeys> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      throw new Error(`Cannot read authorized keys "${path}": ${describeError(err)}`, {
        cause: err,
      });
    }
    const keys = await Promise.all(
      parseAuthorizedKeys(text, path).map(async (p): Promise<AuthorizedKey> => ({
        name: p.name,
        role: p.role,
        from: p.from,
        base64: p.base64,
        id: await keyId(p.raw),
        publicKey: await importPublicKey(p.raw),
        line: p.line,
        allows: (peerAddress) => allowsSource(p, peerAddress),
      })),
    );
    return new AuthorizedKeys(path, keys);
  }

  /** The entry for a public key (standard base64), if authorized. */
  get(base64: string): AuthorizedKey | undefined {
    return this.#byKey.get(base64);
  }

  /** How many keys are authorized. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Every authorized key. */
  keys(): AuthorizedKey[] {
    return [...this.#byKey.values()];
  }
}

/** Whether `key` may connect from `peerAddress` (its `from=` blocks, if any). */
export function allowsSource(key: Pick<AuthorizedKey, "from">, peerAddress: string): boolean {
  if (key.from === null) return true;
  const ip = parseIp(peerAddress);
  return ip !== null && key.from.some((block) => cidrContains(block, ip));
}

/** How often the file is checked for changes. */
export const AUTHORIZED_KEYS_POLL_MS = 2_000;

/**
 * Re-read the file whenever its modification time, size or inode changes;
 * `onChange` gets the new keys. A file that no longer parses keeps the old
 * keys in force and is reported through `onError`, so a typo never locks
 * every operator out.
 */
export function watchAuthorizedKeys(
  current: AuthorizedKeys,
  onChange: (keys: AuthorizedKeys) => void,
  onError: (err: Error) => void,
  pollMs = AUTHORIZED_KEYS_POLL_MS,
): { close(): void } {
  const stamp = () => {
    try {
      const st = Deno.statSync(current.path);
      return `${st.mtime?.getTime()}:${st.size}:${st.ino}`;
    } catch (err) {
      return `missing:${(err as Error).name}`;
    }
  };
  let last = stamp();
  let busy = false;
  const timer = setInterval(async () => {
    const now = stamp();
    if (now === last || busy) return;
    busy = true;
    last = now;
    try {
      onChange(await AuthorizedKeys.load(current.path));
    } catch (err) {
      onError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      busy = false;
    }
  }, pollMs);
  return { close: () => clearInterval(timer) };
}
