/**
 * Where `rmon-server` gets its token, by the rule both programs follow: an
 * explicit option (`--token-file`) beats the environment (`RMON_TOKEN`), which
 * beats the per-user state file (generated on first start).
 * @module
 */

import {
  checkToken,
  generateToken,
  readTokenFile,
  tokenStatePath,
  writeTokenFile,
} from "../token_file.ts";

/** The token and where it came from (the source is logged; the token never is). */
export interface LoadedToken {
  token: string;
  source: "env" | "file" | "state" | "generated";
  /** The file it came from or was saved to, if any. */
  path?: string;
  /** Set when `RMON_TOKEN` was set too but `--token-file` won: worth saying at start. */
  envIgnored?: boolean;
}

/** Environment variable holding the token; removed from the server's env once read. */
export const TOKEN_ENV = "RMON_TOKEN";

/** Load (or on first start generate and save) the server's token. */
export async function loadServerToken(tokenFile?: string): Promise<LoadedToken> {
  const fromEnv = Deno.env.get(TOKEN_ENV);
  // Children must not inherit the secret, whether or not it is the one used.
  if (fromEnv !== undefined) Deno.env.delete(TOKEN_ENV);
  if (tokenFile !== undefined) {
    return {
      token: checkToken(readTokenFile(tokenFile), `"${tokenFile}"`),
      source: "file",
      path: tokenFile,
      ...(fromEnv !== undefined ? { envIgnored: true } : {}),
    };
  }
  if (fromEnv !== undefined) return { token: checkToken(fromEnv, TOKEN_ENV), source: "env" };
  const path = tokenStatePath((name) => Deno.env.get(name));
  try {
    return { token: checkToken(readTokenFile(path), `"${path}"`), source: "state", path };
  } catch (err) {
    if (!(err instanceof Error && err.cause instanceof Deno.errors.NotFound)) throw err;
  }
  const token = generateToken();
  await writeTokenFile(path, token);
  return { token, source: "generated", path };
}
