/**
 * A NATS client error in a few words for a one-line message (`connection
 * refused`, `credentials refused`…): what both the agent's log and the
 * client's error say, never a stack. Protocol layer; pure.
 * @module
 */

import { describeError } from "./errors.ts";

/** Why talking to NATS failed, briefly. */
export function natsReason(err: unknown): string {
  const text = describeError(err);
  if (/authorization|authentication/i.test(text)) return "credentials refused";
  if (/ECONNREFUSED|connection refused/i.test(text)) return "connection refused";
  if (/timeout/i.test(text)) return "timed out";
  return text;
}

/** Socket error codes the NATS client's transport can leave unhandled while it reconnects. */
const STRAY_SOCKET_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNREFUSED", "ETIMEDOUT"]);

/**
 * Keep a process alive through a socket error the NATS client's Node
 * transport lets escape (seen: `read ECONNRESET` after NATS refused the
 * credentials and closed): the client reconnects by itself, so such an error
 * is reported through `warn` and nothing else. Every other uncaught error
 * still ends the process as before. Returns a function that removes the guard.
 */
export function guardStraySocketErrors(warn: (message: string) => void): () => void {
  const onError = (e: ErrorEvent) => {
    const code = (e.error as { code?: unknown } | null)?.code;
    if (typeof code === "string" && STRAY_SOCKET_CODES.has(code)) {
      e.preventDefault();
      warn(`NATS connection: ${describeError(e.error)}; reconnecting`);
    }
  };
  globalThis.addEventListener("error", onError);
  return () => globalThis.removeEventListener("error", onError);
}
