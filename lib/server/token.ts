/**
 * Where `rmon-server` gets its token: `RMON_TOKEN`, else `--token-file`, else
 * the per-user state file, generated on first start.
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
}

/** Environment variable holding the token; removed from the server's env once read. */
export const TOKEN_ENV = "RMON_TOKEN";

/** Load (or on first start generate and save) the server's token. */
export async function loadServerToken(tokenFile?: string): Promise<LoadedToken> {
  const fromEnv = Deno.env.get(TOKEN_ENV);
  if (fromEnv !== undefined) {
    // Children must not inherit the secret.
    Deno.env.delete(TOKEN_ENV);
    return { token: checkToken(fromEnv, TOKEN_ENV), source: "env" };
  }
  if (tokenFile !== undefined) {
    return {
      token: checkToken(readTokenFile(tokenFile), `"${tokenFile}"`),
      source: "file",
      path: tokenFile,
    };
  }
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
