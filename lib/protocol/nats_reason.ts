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
