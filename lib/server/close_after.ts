/**
 * The call-level `last` field (protocol.md §3.5, feature `closeAfter`): a
 * client whose connection exists for one call marks it, and the server
 * closes the connection once that call is answered, instead of waiting for
 * the client to close (one wake-up of the server fewer per one-shot
 * connection). Only a metric query may carry it: it needs nothing more from
 * the client, so the server reads nothing more after it. Server layer, used
 * by session.ts.
 * @module
 */

import type { Request } from "../protocol/messages.ts";
import { isJsonObject } from "../protocol/codec.ts";
import { SPECS_BY_METHOD } from "../grammar/remote_table.ts";

/**
 * Take the call-level `last` field out of a request's params, leaving the
 * command's own fields for the command parser (which refuses unknown ones).
 * Only `true` and `false` are taken, only from a metric query, and only when
 * the server offers the feature: otherwise the field stays, and the parser refuses it as an
 * unexpected field, exactly as a server before the feature does.
 */
export function takeLast(req: Request, offered: boolean): { req: Request; last: boolean } {
  const params = req.params;
  if (
    !offered || !isJsonObject(params) || typeof params.last !== "boolean" ||
    SPECS_BY_METHOD.get(req.method)?.metric !== true
  ) {
    return { req, last: false };
  }
  const { last, ...rest } = params;
  return { req: { ...req, params: rest }, last };
}
