/**
 * How an rmon program signs in to NATS (not to rmon: that is the fleet token
 * or an operator key), for the agent and the client alike: nothing, a creds
 * file (JWT and seed, or a bare nkey seed), or a NATS token; and the fields
 * of NATS's `CONNECT` that say so (a seed signs the server's nonce).
 * Protocol layer; pure apart from WebCrypto.
 * @module
 */

import { type NkeySigner, nkeySigner } from "./nkeys.ts";
import { natsCredsKind } from "./nats_url.ts";

/** A NATS sign-in: none, a creds file's bytes, or a token. */
export type NatsAuth =
  | { kind: "none" }
  | { kind: "creds"; creds: Uint8Array }
  | { kind: "token"; token: string };

/** The fields of `CONNECT` that sign in, for `auth` and the server's `nonce`. */
export async function connectAuthFields(
  auth: NatsAuth | undefined,
  nonce: string | undefined,
  signerOf: (seed: string) => Promise<NkeySigner> = nkeySigner,
): Promise<Record<string, string>> {
  if (auth?.kind === "token") return { auth_token: auth.token };
  if (auth?.kind !== "creds") return {};
  const text = new TextDecoder().decode(auth.creds);
  const what = natsCredsKind(text);
  const seed = what.kind === "seed" ? what.seed : /\bSU[A-Z2-7]{56}\b/.exec(text)?.[0];
  if (seed === undefined) throw new SyntaxError("the creds file holds no user nkey seed (SU…)");
  const signer = await signerOf(seed);
  const sig: Record<string, string> = nonce === undefined ? {} : { sig: await signer.sign(nonce) };
  if (what.kind === "seed") return { nkey: signer.publicKey, ...sig };
  // A JWT is three base64url parts: an empty block's next line ("------END …") is none.
  const jwt = /-{3,}BEGIN NATS USER JWT-{3,}\s+([\w-]+\.[\w-]+\.[\w-]+)(?!\S)/.exec(text)?.[1];
  if (jwt === undefined) throw new SyntaxError("the creds file holds no user JWT");
  return { jwt, ...sig };
}
