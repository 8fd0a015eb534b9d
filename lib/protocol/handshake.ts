/**
 * The handshake, both sides: `hello` → `auth` → proof check, before any command.
 *
 * Server: send `hello` with a fresh nonce, then accept exactly one frame, which
 * must be a valid `auth` request (one empty line before it is skipped: the
 * plain client's probe, see tcp_transport.ts). Any other request (known
 * method or not), unknown auth fields and a wrong MAC get the same
 * `unauthorized` answer, so methods look alike to a stranger; a frame that is
 * not a request, or the absolute deadline, closes the connection without one.
 * Client: check the server's proof before it sends a single command.
 *
 * Both proofs cover the transport's channel binding (`channelBinding`), so a
 * proof made for one TLS certificate is worthless over another.
 * @module
 */

import {
  AuthError,
  ConnectionClosedError,
  ProtocolError,
  ProtocolMismatchError,
  RemoteError,
  TimeoutError,
} from "./errors.ts";
import { type Direction, type HandshakeFacts, isValidNonce, newNonce, TokenKey } from "./auth.ts";
import type * as KeyAuth from "./key_auth.ts";

let keyAuth: Promise<typeof KeyAuth> | undefined;
/** Key signatures, loaded on first use: most connections of most servers use the token. */
function loadKeyAuth(): Promise<typeof KeyAuth> {
  return keyAuth ??= import("./key_auth.ts");
}
import {
  decodeMessage,
  encodeError,
  encodeNotification,
  encodeRequest,
  encodeResult,
  isJsonObject,
} from "./codec.ts";
import {
  ERROR_CODES,
  FEATURES,
  FRAME_LIMITS,
  METHODS,
  NOTIFICATIONS,
  PROTOCOL_VERSION,
  RMON_VERSION,
} from "./constants.ts";
import { deadline } from "../async.ts";
import { FrameReader, FrameWriter } from "./framing.ts";
import { RpcPeer } from "./connection.ts";
import type { AuthResult, HelloParams } from "./messages.ts";
import { channelBinding, closeQuietly, type Transport } from "./transport.ts";

export { TokenKey };
export type { Direction };

/** Run `work` against an absolute deadline; on expiry close the socket and throw. */
async function withDeadline<T>(
  conn: { close(): void },
  timeoutMs: number,
  what: string,
  work: Promise<T>,
): Promise<T> {
  try {
    return await deadline(work, timeoutMs, () => {
      throw new TimeoutError(`${what}: no answer within ${timeoutMs} ms`);
    });
  } catch (err) {
    closeQuietly(conn);
    // Let the abandoned read settle so it is not reported as unhandled.
    work.catch(() => {/* superseded by the error thrown here */});
    throw err;
  }
}

/** Who a connection authenticated as, and what it may do. */
export interface ClientIdentity {
  /** How it proved itself: the shared token, or an operator key. */
  kind: "token" | "key";
  /** The operator key's name, or `token`. */
  user: string;
  role: Role;
  /** The key (standard base64) and its short id, for key identities. */
  publicKey?: string;
  keyId?: string;
}

/** An operator key the server knows: how to verify it and what it grants. */
export interface KnownKey {
  name: string;
  role: Role;
  id: string;
  publicKey: CryptoKey;
  /** Whether this key may connect from `peerAddress` (its `from=` blocks). */
  allows(peerAddress: string): boolean;
}

/** What a connection may do: everything, or look but never act. */
export type Role = "admin" | "read-only";

/** Options of the server side. */
export interface ServerHandshakeOptions {
  /** The shared token's key, or null when tokens are refused (`--no-token`). */
  key: TokenKey | null;
  /** Looks up an operator key by its public key (standard base64); absent: keys are refused. */
  findKey?: (publicKey: string) => KnownKey | undefined;
  /** The whole server is read-only: every identity gets the read-only role. */
  readOnly: boolean;
  /** Absolute time allowed for the whole handshake; default 10 s. */
  deadlineMs: number;
  /** Frame limit once authenticated. */
  maxFrameBytes: number;
  /** Optional abilities listed in `hello` (protocol.md §3.1); default all of `FEATURES`. */
  features?: readonly string[];
  /** The idle timeout stated in `hello` (ms, 0: never); left out when not given. */
  idleMs?: number;
}

/**
 * Check the credentials of an `auth` request: an operator key (`key` + `sig`)
 * first, then the token (`mac`). Returns the identity, or null with the
 * reason (for the server log only: the client is told `Unauthorized` alike).
 */
async function checkCredentials(
  params: Record<string, unknown>,
  facts: HandshakeFacts,
  peerAddress: string,
  opts: ServerHandshakeOptions,
): Promise<{ identity: ClientIdentity | null; tokenProved: boolean; reason: string }> {
  let reason = "no credentials";
  let identity: ClientIdentity | null = null;
  if (params.key !== undefined) {
    const known = typeof params.key === "string" ? opts.findKey?.(params.key) : undefined;
    if (known === undefined) reason = "unknown key";
    else if (!known.allows(peerAddress)) {
      reason = `key "${known.name}" not allowed from ${peerAddress}`;
    } else if (!await (await loadKeyAuth()).verifyHandshake(known.publicKey, params.sig, facts)) {
      reason = `bad signature for key "${known.name}"`;
    } else {
      identity = {
        kind: "key",
        user: known.name,
        role: known.role,
        publicKey: params.key as string,
        keyId: known.id,
      };
    }
  }
  let tokenProved = false;
  if (params.mac !== undefined) {
    tokenProved = opts.key !== null && await opts.key.verify(params.mac, "client", facts);
    if (!tokenProved && identity === null) {
      reason = opts.key === null ? "tokens refused" : "wrong token";
    }
  }
  if (identity === null && tokenProved) identity = { kind: "token", user: "token", role: "admin" };
  return { identity, tokenProved, reason };
}

/**
 * Authenticate an accepted connection. Resolves with the reader/writer ready for
 * commands and who the client is; throws `AuthError` (after answering
 * `unauthorized`), `TimeoutError` or `ProtocolError`, having closed the socket
 * in every failure case.
 */
export async function serverHandshake(
  transport: Transport,
  opts: ServerHandshakeOptions,
): Promise<{ reader: FrameReader; writer: FrameWriter; identity: ClientIdentity }> {
  const reader = new FrameReader(transport, FRAME_LIMITS.preAuth);
  const writer = new FrameWriter(transport);
  const serverNonce = newNonce();
  const binding = channelBinding(transport.protection);
  const hello: HelloParams = {
    protocol: PROTOCOL_VERSION,
    server: RMON_VERSION,
    nonce: serverNonce,
    features: [...(opts.features ?? Object.values(FEATURES))],
    ...(opts.idleMs === undefined ? {} : { idleMs: opts.idleMs }),
  };
  const work = (async () => {
    await writer.write(encodeNotification(NOTIFICATIONS.hello, { ...hello }));
    let text = await reader.read();
    if (text === "") text = await reader.read(); // the plain client's probe line
    if (text === null) throw new AuthError("Authentication failed: connection closed before auth");
    let msg;
    try {
      msg = decodeMessage(text);
    } catch (err) {
      throw new AuthError("Authentication failed: malformed first frame", { cause: err });
    }
    // One answer for every kind of wrong first frame, so methods cannot be probed.
    if (
      msg.kind !== "request" || msg.msg.method !== METHODS.auth || !isJsonObject(msg.msg.params)
    ) {
      await writer.write(encodeError(msg.kind === "request" ? msg.msg.id : null, unauthorized()));
      throw new AuthError("Authentication failed: first request was not auth");
    }
    const { id, params } = msg.msg;
    const clientNonce = params.nonce;
    // Unknown fields get the same answer as a wrong MAC: nothing to learn from the difference.
    const onlyKnownFields = Object.keys(params).every((k) => AUTH_FIELDS.has(k));
    const facts: HandshakeFacts | null = isValidNonce(clientNonce) && clientNonce !== serverNonce
      ? { protocolVersion: PROTOCOL_VERSION, binding, clientNonce, serverNonce }
      : null;
    const checked = onlyKnownFields && facts !== null
      ? await checkCredentials(params, facts, transport.peerAddress, opts)
      : { identity: null, tokenProved: false, reason: "malformed auth" };
    if (checked.identity === null || facts === null) {
      await writer.write(encodeError(id, unauthorized()));
      throw new AuthError(`Authentication failed: ${checked.reason}`);
    }
    const identity = checked.identity;
    if (opts.readOnly) identity.role = "read-only";
    const result: AuthResult = {
      server: RMON_VERSION,
      readOnly: identity.role === "read-only",
      role: identity.role,
      user: identity.user,
    };
    // Only a client that proved the token can check a token proof in return.
    if (checked.tokenProved && opts.key) result.mac = await opts.key.prove("server", facts);
    await writer.write(encodeResult(id, { ...result }));
    reader.maxFrameBytes = opts.maxFrameBytes;
    return { reader, writer, identity };
  })();
  try {
    return await withDeadline(transport, opts.deadlineMs, "Authentication failed", work);
  } catch (err) {
    closeQuietly(transport);
    throw err;
  }
}

/** The fields an `auth` request may carry. */
const AUTH_FIELDS: ReadonlySet<string> = new Set(["nonce", "mac", "key", "sig"]);

function unauthorized() {
  return { code: ERROR_CODES.unauthorized, message: "Unauthorized" };
}

/** An authenticated client session with one server. */
export interface ClientSession {
  peer: RpcPeer;
  hello: HelloParams;
  auth: AuthResult;
  /** Time from connect to verified server proof, in ms. */
  handshakeMs: number;
}

/** An operator's signing key, as the client offers it. */
export interface SigningIdentity {
  privateKey: CryptoKey;
  /** Standard base64 of the raw public key. */
  publicKey: string;
}

/** Options of the client side: a token, an operator key, or both (at least one). */
export interface ClientHandshakeOptions {
  key: TokenKey | null;
  identity?: SigningIdentity | null;
  /** Time allowed for hello + auth. */
  timeoutMs: number;
  /** Frame limit for what the server sends. */
  maxFrameBytes?: number;
  /**
   * Calls to send in the same write as the `auth` request, before the
   * server's answer (protocol.md §3.5): called once, after `hello` is checked,
   * with the peer that carries them (its read loop not yet running). The
   * server runs them only after the auth succeeded, in order; when the
   * handshake fails they fail too, and its own error says why. Only for
   * requests that reveal and change nothing (metric queries): they leave
   * before the server has proved who it is.
   */
  pipeline?: (peer: RpcPeer, hello: HelloParams) => void;
}

/**
 * Authenticate to a server over `transport`. Resolves with a peer whose read
 * loop is NOT yet running (call `peer.run()`); throws `AuthError` for a wrong
 * token on either side, `ProtocolError` for a version mismatch or garbage,
 * `TimeoutError` when the server is silent. Closes the socket on failure.
 */
export async function clientHandshake(
  transport: Transport,
  opts: ClientHandshakeOptions,
): Promise<ClientSession> {
  const started = performance.now();
  const reader = new FrameReader(transport, opts.maxFrameBytes ?? FRAME_LIMITS.postAuth);
  const writer = new FrameWriter(transport);
  const binding = channelBinding(transport.protection);
  // Made before the auth request so pipelined calls can be queued behind it.
  const peer = new RpcPeer(transport, reader, writer);
  const work = (async (): Promise<ClientSession> => {
    const first = await reader.read();
    // A silent hang-up (server full, resetting) is transient, unlike a refusal.
    if (first === null) {
      // Admission refuses before any byte (cheaper than a greeting), so name its likely reasons.
      throw new ConnectionClosedError(
        "Cannot authenticate: server hung up before its greeting (busy, or refusing this address for a while after failed sign-ins)",
      );
    }
    const m = decodeMessage(first);
    if (m.kind !== "notification" || m.msg.method !== NOTIFICATIONS.hello || !m.msg.params) {
      throw new ProtocolError("Cannot authenticate: server did not say hello");
    }
    const hello = m.msg.params as unknown as HelloParams;
    if (hello.protocol !== PROTOCOL_VERSION) {
      throw new ProtocolMismatchError(
        `Cannot authenticate: protocol mismatch (server speaks ${hello.protocol}, client ${PROTOCOL_VERSION})`,
      );
    }
    if (!isValidNonce(hello.nonce)) {
      throw new ProtocolError("Cannot authenticate: bad server nonce");
    }
    const clientNonce = newNonce();
    const facts: HandshakeFacts = {
      protocolVersion: PROTOCOL_VERSION,
      binding,
      clientNonce,
      serverNonce: hello.nonce,
    };
    const params: Record<string, string> = { nonce: clientNonce };
    if (opts.identity) {
      params.key = opts.identity.publicKey;
      params.sig = await (await loadKeyAuth()).signHandshake(opts.identity.privateKey, facts);
    }
    if (opts.key) params.mac = await opts.key.prove("client", facts);
    const authSent = writer.write(encodeRequest(0, METHODS.auth, params));
    // Queued in the same tick, so the writer sends them in the auth request's write.
    opts.pipeline?.(peer, hello);
    await authSent;
    const answerText = await reader.read();
    if (answerText === null) {
      // A wrong token is always answered with "unauthorized" first; a bare close is not a verdict.
      throw new ConnectionClosedError("Cannot authenticate: server closed the connection");
    }
    const answer = decodeMessage(answerText);
    if (answer.kind === "error") {
      const offered = [opts.identity ? "key" : "", opts.key ? "token" : ""].filter((s) => s)
        .join(" and ");
      // The server's own answer is the cause: it marks a refusal, as opposed to a bad proof.
      throw answer.msg.error.code === ERROR_CODES.unauthorized
        ? new AuthError(`Authentication failed: server rejected the ${offered}`, {
          cause: new RemoteError(answer.msg.error),
        })
        : new ProtocolError(`Cannot authenticate: ${answer.msg.error.message}`);
    }
    if (answer.kind !== "success" || answer.msg.id !== 0 || !isJsonObject(answer.msg.result)) {
      throw new ProtocolError("Cannot authenticate: unexpected answer to auth");
    }
    const auth = answer.msg.result as unknown as AuthResult;
    // A token proof, when given, must be right. Over plain TCP it is the only proof of
    // the server: a client holding the token insists on it (TLS has the certificate).
    const mustProve = opts.key !== null && transport.protection.kind === "plain";
    if (auth.mac !== undefined || mustProve) {
      if (opts.key === null || !await opts.key.verify(auth.mac, "server", facts)) {
        throw new AuthError("Authentication failed: server could not prove it holds the token");
      }
    }
    // Servers before roles sent only readOnly.
    auth.role ??= auth.readOnly ? "read-only" : "admin";
    auth.user ??= "token";
    return { peer, hello, auth, handshakeMs: performance.now() - started };
  })();
  try {
    return await withDeadline(transport, opts.timeoutMs, "Cannot authenticate", work);
  } catch (err) {
    // Fails the pipelined calls (their answers, if any, are never read) and closes the socket.
    peer.close(err instanceof Error ? err : undefined);
    closeQuietly(transport);
    throw err;
  }
}
