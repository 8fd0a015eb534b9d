/**
 * `upload` and `download`: the wire side of `push` and `pull`. They have no
 * console word (a person types `push`/`pull`, which the client turns into one
 * upload per file); the server checks their params here. Both open a stream
 * of chunks with a window (protocol.md §5.1). Grammar layer, pure.
 * @module
 */

import { LIMITS } from "../../protocol/constants.ts";
import type { DownloadResult, JsonObject, UploadResult } from "../../protocol/messages.ts";
import { type Check, num, object, oneOf, str } from "../result_check.ts";
import type { CommandInput, WireSpec } from "../spec.ts";
import type { ParamReader } from "../param_reader.ts";
import { quote } from "../_quote.ts";

const encoder = new TextEncoder();
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Largest uid or gid accepted (32 bits, as on Linux and macOS). */
const MAX_ID = 2 ** 32 - 2;

/**
 * Why `path` cannot name a file on a server, or undefined: it must be
 * absolute (Unix `/…`, or Windows `C:\…`/`\\server\…`), free of NUL and at most
 * `LIMITS.pathBytes` bytes. It is a plain OS path: no shell, no `~`, no globs.
 */
export function remotePathProblem(path: string): string | undefined {
  if (path === "") return "the path is empty";
  if (path.includes("\0")) return "the path contains a NUL character";
  if (encoder.encode(path).length > LIMITS.pathBytes) {
    return `the path is over the ${LIMITS.pathBytes}-byte limit`;
  }
  if (!/^(?:\/|[A-Za-z]:[\\/]|\\\\)/.test(path)) return `path ${quote(path)} is not absolute`;
  return undefined;
}

function readPath(params: ParamReader): string {
  const path = params.string("path");
  const problem = remotePathProblem(path);
  if (problem) throw params.rangeError(problem);
  return path;
}

/** No console word: a person cannot type these, so the parser is never reached. */
function wireOnly(input: CommandInput): never {
  return input.fail("this command is only used on the wire");
}

/** The `upload` result. */
export const UPLOAD_RESULT: Check<UploadResult> = object<UploadResult>({
  status: oneOf("created", "replaced", "unchanged"),
  path: str,
  bytes: num,
  sha256: str,
});

/** The `download` result. */
export const DOWNLOAD_RESULT: Check<DownloadResult> = object<DownloadResult>({
  bytes: num,
  sha256: str,
  mode: num,
});

/** Wire-only (no console word): one file streamed to the server; `push` makes these. */
export type UploadCommand = {
  kind: "upload";
  /** Where the server puts the file: a plain OS path, absolute. */
  path: string;
  size: number;
  /** SHA-256 of the whole content, 64 lowercase hex digits. */
  sha256: string;
  /** Permission bits (0-0o7777); default 0o644. */
  mode?: number;
  /** Replace an existing file with other content. */
  force?: boolean;
  /** Create missing parent folders (a recursive push). */
  mkdirs?: boolean;
  /** Owner and group to set, as numbers (honoured when the server runs as root). */
  uid?: number;
  gid?: number;
};

/** Wire-only: one file streamed from the server; `pull` makes these. */
export type DownloadCommand = { kind: "download"; path: string };

/** `upload {path, size, sha256, mode?, force?, mkdirs?, uid?, gid?}`. */
export const UPLOAD: WireSpec<UploadCommand, UploadResult> = {
  name: "upload",
  words: [],
  form: "word",
  usage: "upload",
  summary: "Wire method of push",
  detail: "",
  targeted: true,
  kind: "upload",
  method: "upload",
  fields: ["path", "size", "sha256", "mode", "force", "mkdirs", "uid", "gid"],
  parse: wireOnly,
  toParams(cmd) {
    const params: JsonObject = { path: cmd.path, size: cmd.size, sha256: cmd.sha256 };
    if (cmd.mode !== undefined) params.mode = cmd.mode;
    if (cmd.force) params.force = true;
    if (cmd.mkdirs) params.mkdirs = true;
    if (cmd.uid !== undefined) params.uid = cmd.uid;
    if (cmd.gid !== undefined) params.gid = cmd.gid;
    return params;
  },
  fromParams(params) {
    const path = readPath(params);
    const size = params.optionalInteger("size", Number.MAX_SAFE_INTEGER, 0);
    if (size === undefined) throw params.typeError(`field "size" is missing`);
    const sha256 = params.string("sha256");
    if (!SHA256_HEX.test(sha256)) {
      throw params.rangeError(`sha256 ${quote(sha256)} is not 64 lowercase hex digits`);
    }
    const mode = params.optionalInteger("mode", 0o7777, 0);
    const force = params.optionalBoolean("force");
    const mkdirs = params.optionalBoolean("mkdirs");
    const uid = params.optionalInteger("uid", MAX_ID, 0);
    const gid = params.optionalInteger("gid", MAX_ID, 0);
    return {
      kind: "upload",
      path,
      size,
      sha256,
      ...(mode === undefined ? {} : { mode }),
      ...(force ? { force } : {}),
      ...(mkdirs ? { mkdirs } : {}),
      ...(uid === undefined ? {} : { uid }),
      ...(gid === undefined ? {} : { gid }),
    };
  },
  result: UPLOAD_RESULT,
};

/** `download {path}`. */
export const DOWNLOAD: WireSpec<DownloadCommand, DownloadResult> = {
  name: "download",
  words: [],
  form: "word",
  usage: "download",
  summary: "Wire method of pull",
  detail: "",
  targeted: true,
  kind: "download",
  method: "download",
  fields: ["path"],
  parse: wireOnly,
  toParams: (cmd) => ({ path: cmd.path }),
  fromParams: (params) => ({ kind: "download", path: readPath(params) }),
  result: DOWNLOAD_RESULT,
};
