/**
 * Protocol constants: version, frame limits, method names and error codes.
 *
 * This is the single source of truth that `docs/protocol.md` describes; the
 * framing, codec, server and client layers all import from here.
 * @module
 */

// A JSON module import: embedded by `deno compile`, needing no read permission at run time.
import denoConfig from "../../deno.json" with { type: "json" };

/** Wire protocol version, sent in `hello` and bound into the auth transcript. */
export const PROTOCOL_VERSION = 2;

/**
 * Server and client software version: deno.json's `version`, its one home (the
 * release names its folder after it, `--version` prints it, `hello` sends it).
 */
export const RMON_VERSION: string = denoConfig.version;

/**
 * Optional abilities a server lists in its `hello` (`features`, protocol.md
 * §3.1). A client uses one only when listed, so old peers on either side keep
 * working unchanged.
 */
export const FEATURES = {
  /** exec/ping output as `chunk` frames of raw bytes, when a call asks (`rawOutput`, §5). */
  rawOutput: "rawOutput",
  /**
   * The server closes the connection once it has answered a call marked
   * `last` (§3.5): a one-shot client's connection ends without the server
   * waiting for the client's close.
   */
  closeAfter: "closeAfter",
  /** The `vitals` method: the few figures `watch` draws, instead of all of `info` (§4). */
  vitals: "vitals",
} as const;

/** Default TCP port: unprivileged (the seed's port 50 needs root on Linux). */
export const DEFAULT_PORT = 5050;

/** Default bind address: loopback only; anything else must be asked for. */
export const DEFAULT_HOST = "127.0.0.1";

/** Frame size limits in bytes, excluding the terminating `\n`. */
export const FRAME_LIMITS = {
  /** Before authentication succeeds: small, so strangers cannot make us buffer much. */
  preAuth: 4 * 1024,
  /** After authentication (configurable with `--max-frame`). */
  postAuth: 1024 * 1024,
} as const;

/** Timing defaults in milliseconds. */
export const TIMEOUTS = {
  /** Absolute deadline for the handshake; traffic does not extend it. */
  authDeadlineMs: 10_000,
  /** Default per-call timeout of exec. */
  execTimeoutMs: 60_000,
  /** Upper bound a client may ask for an exec timeout. */
  execMaxTimeoutMs: 24 * 60 * 60 * 1000,
  /** Time between SIGTERM and SIGKILL when stopping a process group. */
  killGraceMs: 2_000,
  /** Extra time a ping gets beyond one second per echo request. */
  pingSlackMs: 3_000,
  /** A write the peer does not drain within this closes the connection (`--write-timeout`). */
  writeMs: 10_000,
  /** An authenticated peer silent this long with no call in flight is closed (`--idle-timeout`). */
  idleMs: 60_000,
  /** How long a closing connection gets to take its `bye` and queued answers. */
  closeGraceMs: 2_000,
} as const;

/** Output and concurrency limits. */
export const LIMITS = {
  /** Default cap of exec output per call (stdout + stderr), in bytes. */
  execOutputBytes: 16 * 1024 * 1024,
  /** Largest chunk of child output sent in one notification, in bytes. */
  outputChunkBytes: 64 * 1024,
  /** `top` lists at most this many processes. */
  topCountMax: 50,
  /** Ping count is clamped to this range. */
  pingCountMin: 1,
  pingCountMax: 10,
  /** Calls in flight per connection before `busy` is answered. */
  callsPerConnection: 64,
  /** Concurrent authenticated connections before new ones are refused. */
  connections: 1024,
  /**
   * Unauthenticated connections: from `start` on, new ones are dropped with
   * probability `rate` %, rising linearly to 100 % at `full` (sshd's MaxStartups).
   */
  startups: { start: 10, rate: 30, full: 64 },
  /** Unauthenticated connections from one source (an IPv4 address or an IPv6 /64). */
  startupsPerSource: 8,
  /** First penalty of a source after a failed handshake; doubles with each repeat. */
  penaltyMs: 1_000,
  /** Longest penalty of a source. */
  maxPenaltyMs: 10 * 60 * 1000,
  /** Sources remembered by the penalty table; the oldest is forgotten first. */
  penaltySources: 65_536,
  /** Longest command line accepted for exec, in bytes. */
  commandBytes: 64 * 1024,
  /** Largest file a server accepts by upload, in bytes (`--max-upload`): 1 GiB. */
  uploadBytes: 1024 * 1024 * 1024,
  /**
   * Largest data chunk of a stream (upload, download, exec input), before base64:
   * 256 KiB is 349,528 bytes of base64, well inside the 1 MiB frame limit.
   */
  streamChunkBytes: 256 * 1024,
  /**
   * Chunks a sender may have sent but not yet seen acknowledged. With the chunk
   * size this bounds what either side buffers per stream (2 MiB).
   */
  streamWindow: 8,
  /** Longest file path accepted by upload and download, in bytes of UTF-8. */
  pathBytes: 4096,
} as const;

/** Nonce length in bytes (256 bits; the spec asks for at least 128). */
export const NONCE_BYTES = 32;

/**
 * The session's own JSON-RPC methods. Every command is a method too, named by
 * its kind: the table of command specs (lib/grammar/remote_table.ts) is their
 * one list. Notifications are marked in {@linkcode NOTIFICATIONS}.
 */
export const METHODS = {
  auth: "auth",
  cancel: "cancel",
  heartbeat: "heartbeat",
} as const;

/** Server-to-client notification names. */
export const NOTIFICATIONS = {
  /** First frame on every connection: version and the server's nonce. */
  hello: "hello",
  /** A chunk of output of a running call, tagged with the call's request id. */
  output: "output",
  /** The server is closing this connection (disconnect, reset, kill, shutdown). */
  bye: "bye",
  /** Server → client: a stream (upload, download, exec input) is open, with its window. */
  ready: "ready",
  /** Either way: one chunk of a stream's data, base64, tagged with the call id and a sequence number. */
  chunk: "chunk",
  /** Either way: the receiver has consumed chunk `seq` (written it), opening the window by one. */
  ack: "ack",
} as const;

/** Error codes: JSON-RPC 2.0 standard ones and rmon's application range. */
export const ERROR_CODES = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** Missing, wrong or late authentication; also any request before auth. */
  unauthorized: -32001,
  /** The call ran past its deadline and was stopped. */
  timeout: -32002,
  /** The call was cancelled by `cancel` or by the connection closing. */
  cancelled: -32003,
  /** Too many calls or connections; try later. */
  busy: -32004,
  /** A frame or an argument exceeded a size limit. */
  tooLarge: -32005,
  /** The server runs `--read-only` and refuses exec and lifecycle commands. */
  forbidden: -32006,
  /** A required tool (e.g. `ping`) is missing or failed to start on the server. */
  unavailable: -32007,
  /** upload: the destination exists with other content, and `force` was not given. */
  exists: -32008,
  /** upload: the bytes received do not have the SHA-256 the client announced. */
  checksumMismatch: -32009,
  /** upload: the server's file system is full (ENOSPC, EDQUOT). */
  noSpace: -32010,
  /** upload, download: the server's user may not read or write the path. */
  permissionDenied: -32011,
  /** download: no such file; upload: the destination's folder does not exist. */
  notFound: -32012,
  /** upload, download: any other file-system failure (not a regular file, a folder...). */
  fileError: -32013,
} as const;

/** A numeric error code carried on the wire. */
export type ErrorCode = typeof ERROR_CODES[keyof typeof ERROR_CODES];
