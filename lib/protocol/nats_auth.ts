/**
 * How an rmon program signs in to NATS (not to rmon: that is the fleet token
 * or an operator key), for the agent and the client alike: nothing, a creds
 * file (JWT and seed, or a bare nkey seed), or a NATS token; and the connect
 * options that say so. Protocol layer. Imports the NATS client by its full
 * specifier, as the server (run with `--no-config`) must.
 * @module
 */

import {
  type Authenticator,
  credsAuthenticator,
  nkeyAuthenticator,
} from "npm:@nats-io/transport-node@3.4.0";
import { natsCredsKind } from "./nats_url.ts";

/** A NATS sign-in: none, a creds file's bytes, or a token. */
export type NatsAuth =
  | { kind: "none" }
  | { kind: "creds"; creds: Uint8Array }
  | { kind: "token"; token: string };

/** The part of NATS's connect options that carries `auth` (empty for none). */
export function natsAuthOptions(
  auth: NatsAuth | undefined,
): { authenticator: Authenticator } | { token: string } | Record<never, never> {
  if (auth?.kind === "creds") return { authenticator: credsAuthenticatorFor(auth.creds) };
  if (auth?.kind === "token") return { token: auth.token };
  return {};
}

/** The authenticator of a creds file: JWT and seed, or a bare nkey seed (see nats_url.ts). */
function credsAuthenticatorFor(creds: Uint8Array): Authenticator {
  const what = natsCredsKind(new TextDecoder().decode(creds));
  return what.kind === "jwt"
    ? credsAuthenticator(creds)
    : nkeyAuthenticator(new TextEncoder().encode(what.seed));
}
