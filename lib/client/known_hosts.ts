/**
 * Trust on first use for TLS hosts, as ssh's known_hosts: the first
 * certificate fingerprint seen for an address is recorded in a private file
 * (`$XDG_STATE_HOME/rmon/known_hosts`, mode 0600), and a later mismatch is
 * refused, naming both fingerprints and the line to delete. Client layer.
 *
 * The file has one host a line, `ADDRESS sha256:HEX`, where ADDRESS is
 * `host:port` as dialed (`[v6]:port` for IPv6); `#` starts a comment. Lines
 * that do not parse are kept and ignored, so a hand edit never loses records.
 * @module
 */

import { describeError, TrustError } from "../protocol/errors.ts";
import { formatFingerprint, parseFingerprint } from "../protocol/fingerprint.ts";
import { stateFilePath } from "../token_file.ts";

/** Where the known-hosts file lives by default (see `stateFilePath`). */
export function knownHostsPath(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): string {
  return stateFilePath("known_hosts", env);
}

interface Record {
  fingerprint: string;
  /** 1-based line in the file, for the "delete line N" advice. */
  line: number;
}

/** A known-hosts file, read once and appended to; see the module doc. */
export class KnownHosts {
  readonly path: string;
  #records = new Map<string, Record>();
  #lines: number;
  /** The file ends without a newline: the first record appended starts a line. */
  #needsNewline: boolean;

  private constructor(path: string, text: string) {
    this.path = path;
    this.#needsNewline = text !== "" && !text.endsWith("\n");
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    this.#lines = lines.length;
    lines.forEach((raw, i) => {
      const line = raw.replace(/#.*/, "").trim();
      if (line === "") return;
      const [address, fp] = line.split(/\s+/);
      if (address === undefined || fp === undefined) return;
      try {
        // The first record of an address wins, as in ssh.
        if (!this.#records.has(address)) {
          this.#records.set(address, { fingerprint: parseFingerprint(fp), line: i + 1 });
        }
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err; // a malformed line is ignored, not fatal
      }
    });
  }

  /** Read `path` (a missing file is an empty store). */
  static load(path: string): KnownHosts {
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new Error(`Cannot read known hosts "${path}": ${describeError(err)}`, {
          cause: err,
        });
      }
    }
    return new KnownHosts(path, text);
  }

  /** The recorded fingerprint (bare hex) of `address`, if any. */
  get(address: string): string | undefined {
    return this.#records.get(address)?.fingerprint;
  }

  /**
   * Accept `fingerprint` for `address`: record it if the address is new,
   * pass if it matches, throw `TrustError` if it differs.
   */
  check(address: string, fingerprint: string): void {
    const known = this.#records.get(address);
    if (known === undefined) {
      this.#record(address, fingerprint);
      return;
    }
    if (known.fingerprint === fingerprint) return;
    throw new TrustError(
      `Cannot connect to ${address}: ITS TLS CERTIFICATE HAS CHANGED to ` +
        `${formatFingerprint(fingerprint)}, but ${this.path} line ${known.line} records ` +
        `${formatFingerprint(known.fingerprint)}; someone may be intercepting the connection. ` +
        `If the server's certificate was replaced on purpose, delete line ${known.line} of ${this.path}`,
    );
  }

  #record(address: string, fingerprint: string): void {
    const sep = Deno.build.os === "windows" ? "\\" : "/";
    const dir = this.path.slice(0, this.path.lastIndexOf(sep));
    if (dir) Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lead = this.#needsNewline ? "\n" : "";
    this.#needsNewline = false;
    Deno.writeTextFileSync(this.path, `${lead}${address} ${formatFingerprint(fingerprint)}\n`, {
      append: true,
      create: true,
      mode: 0o600,
    });
    this.#lines++;
    this.#records.set(address, { fingerprint, line: this.#lines });
  }
}
