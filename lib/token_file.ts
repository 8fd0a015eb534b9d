/**
 * Token files, shared by server and client: where the per-user state file
 * lives on each OS, reading a token file safely, and generating a token.
 * @module
 */

import { toBase64Url } from "./protocol/auth.ts";

/**
 * Shortest token accepted, in characters: 22 characters of base64 carry 132
 * bits, the least that reaches the 128 bits a shared secret needs.
 */
export const MIN_TOKEN_LENGTH = 22;

/**
 * Fewest distinct characters a token must have: length alone says nothing of
 * `aaaa...` or `abcabc...`, which no random generator makes.
 */
export const MIN_TOKEN_DISTINCT = 8;

/** How to get a good token, for every refusal of a weak one. */
const TOKEN_ADVICE = 'generate one with "rmon token new FILE" or "openssl rand -base64 32", or ' +
  "leave out RMON_TOKEN and --token-file to let rmon-server generate one";

/** A fresh 256-bit URL-safe token; never starting with "-", so it is never mistaken for an option. */
export function generateToken(): string {
  while (true) {
    const token = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    if (!token.startsWith("-")) return token;
  }
}

/** Reads an environment variable; injected so path logic is testable as a pure function. */
export type EnvLookup = (name: string) => string | undefined;

/**
 * A per-user state file of rmon, `name` under the OS's state directory:
 * Linux `$XDG_STATE_HOME/rmon/NAME` (else `~/.local/state/rmon/NAME`; a relative
 * XDG_STATE_HOME is ignored, as the XDG spec asks), macOS
 * `~/Library/Application Support/rmon/NAME`, Windows `%APPDATA%\rmon\NAME`.
 * Pure: the environment and OS are injected.
 */
export function stateFilePath(
  name: string,
  env: EnvLookup,
  os: typeof Deno.build.os = Deno.build.os,
): string {
  if (os === "windows") {
    const base = env("APPDATA") ??
      (env("USERPROFILE") && `${env("USERPROFILE")}\\AppData\\Roaming`);
    if (!base) throw new Error("Cannot locate the state directory: APPDATA is not set");
    return `${base}\\rmon\\${name}`;
  }
  const home = env("HOME");
  if (os === "darwin") {
    if (!home) throw new Error("Cannot locate the state directory: HOME is not set");
    return `${home}/Library/Application Support/rmon/${name}`;
  }
  const xdg = env("XDG_STATE_HOME");
  if (xdg && xdg.startsWith("/")) return `${xdg}/rmon/${name}`;
  if (!home) throw new Error("Cannot locate the state directory: HOME is not set");
  return `${home}/.local/state/rmon/${name}`;
}

/** Where `rmon-server` keeps its generated token: the state file `token` (see stateFilePath). */
export function tokenStatePath(env: EnvLookup, os: typeof Deno.build.os = Deno.build.os): string {
  return stateFilePath("token", env, os);
}

/**
 * Check a token's text; returns it trimmed of the trailing newline. A token
 * must have no white space, at least `MIN_TOKEN_LENGTH` characters and at least
 * `MIN_TOKEN_DISTINCT` distinct ones (a cheap floor for "about 128 bits of
 * entropy": it cannot measure randomness, only refuse what is plainly not random).
 * @throws {Error} The token is refused; the message says why and how to make a good one.
 */
export function checkToken(text: string, where: string): string {
  const token = text.replace(/\r?\n$/, "");
  if (/\s/.test(token) || token.length === 0) {
    throw new Error(`Cannot use token from ${where}: it is empty or contains white space`);
  }
  const chars = [...token];
  if (chars.length < MIN_TOKEN_LENGTH) {
    throw new Error(
      `Cannot use token from ${where}: it is ${chars.length} characters, fewer than ` +
        `${MIN_TOKEN_LENGTH} (under 128 bits); ${TOKEN_ADVICE}`,
    );
  }
  const distinct = new Set(chars).size;
  if (distinct < MIN_TOKEN_DISTINCT) {
    throw new Error(
      `Cannot use token from ${where}: it has only ${distinct} distinct ` +
        `character${distinct === 1 ? "" : "s"}, fewer than ${MIN_TOKEN_DISTINCT} (too easy to ` +
        `guess); ${TOKEN_ADVICE}`,
    );
  }
  return token;
}

/** Describe a file system error briefly: `file not found` or the system's message. */
export function fsDetail(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "file not found";
  return err instanceof Error ? err.message : String(err);
}

/**
 * Read a file that must stay private (`what` names it in messages, `shownAs`
 * is the path as the user wrote it). On Unix a file that group or others can
 * access is refused: a secret others can read is no secret. A missing file
 * throws an Error whose `cause` is `Deno.errors.NotFound`.
 */
export function readPrivateFile(path: string, what: string, shownAs: string = path): string {
  let mode: number | null;
  let text: string;
  try {
    mode = Deno.statSync(path).mode;
    text = Deno.readTextFileSync(path);
  } catch (err) {
    throw new Error(`Cannot read ${what} "${shownAs}": ${fsDetail(err)}`, { cause: err });
  }
  const open = openMode(mode);
  if (open !== null) {
    throw new Error(
      `Cannot use ${what} "${shownAs}": mode ${open} lets group or others access it; run "chmod 600 ${path}"`,
    );
  }
  return text;
}

/**
 * A file mode (as `Deno.stat` gives it) that lets group or others in, as octal
 * text (`0644`), or null when the file is private. Windows reports no Unix
 * mode (null); its ACLs are the user's business there.
 */
export function openMode(mode: number | null): string | null {
  if (Deno.build.os === "windows" || mode === null || (mode & 0o077) === 0) return null;
  return (mode & 0o777).toString(8).padStart(4, "0");
}

/**
 * Read a token file (see {@linkcode readPrivateFile}). Trailing white space is
 * trimmed; an empty file is an error.
 */
export function readTokenFile(path: string, shownAs: string = path): string {
  const token = readPrivateFile(path, "token file", shownAs).trimEnd();
  if (token === "") throw new Error(`Cannot use token file "${shownAs}": it is empty`);
  return token;
}

/** Save a private file (0600), creating its directory (0700) if needed; never overwrites. */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  const sep = Deno.build.os === "windows" ? "\\" : "/";
  // A bare file name has no directory to make ("token", not "toke").
  const cut = path.lastIndexOf(sep);
  const dir = cut > 0 ? path.slice(0, cut) : "";
  if (dir) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  // createNew: never overwrite a secret someone else may already rely on.
  await Deno.writeTextFile(path, text, { mode: 0o600, createNew: true });
  if (Deno.build.os !== "windows") await Deno.chmod(path, 0o600);
}

/** Save a token with owner-only permissions (see {@linkcode writePrivateFile}). */
export async function writeTokenFile(path: string, token: string): Promise<void> {
  await writePrivateFile(path, token + "\n");
}

/**
 * Write a fresh 256-bit token to `path` (mode 0600), for `rmon token new` and
 * `rmon-server --gen-token`. Never overwrites: an existing file is an Error
 * saying so (its `cause` is `Deno.errors.AlreadyExists`).
 */
export async function createTokenFile(path: string): Promise<void> {
  try {
    await writeTokenFile(path, generateToken());
  } catch (err) {
    const why = err instanceof Deno.errors.AlreadyExists
      ? "it exists already (a token is never overwritten; remove the file to make a new one)"
      : fsDetail(err);
    throw new Error(`Cannot write token file "${path}": ${why}`, { cause: err });
  }
}
