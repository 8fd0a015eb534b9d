/**
 * Message types of the wire protocol: JSON-RPC 2.0 envelopes and the typed
 * params and results of every method. Codec layer: no I/O here.
 * @module
 */

import type { ErrorCode } from "./constants.ts";

/** A request id: the client picks it; the server echoes it on the response. */
export type RequestId = number | string;

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** A call that expects a response. */
export interface Request {
  jsonrpc: "2.0";
  id: RequestId;
  method: string;
  params?: JsonObject;
}

/** A one-way message (no id, no response). */
export interface Notification {
  jsonrpc: "2.0";
  method: string;
  params?: JsonObject;
}

/** The error object of a failed call. */
export interface RpcErrorObject {
  code: ErrorCode | number;
  message: string;
  data?: Json;
}

/** The answer to a request that succeeded. */
export interface SuccessResponse {
  jsonrpc: "2.0";
  id: RequestId;
  result: Json;
}

/** The answer to a request that failed; `id` is null when it could not be read. */
export interface ErrorResponse {
  jsonrpc: "2.0";
  id: RequestId | null;
  error: RpcErrorObject;
}

/** Any message on the wire, tagged by `kind` once decoded. */
export type Message =
  | { kind: "request"; msg: Request }
  | { kind: "notification"; msg: Notification }
  | { kind: "success"; msg: SuccessResponse }
  | { kind: "error"; msg: ErrorResponse };

// ---- Notifications sent by the server ----

/** `hello`: the first frame on a connection. */
export interface HelloParams {
  protocol: number;
  server: string;
  /** Base64url of NONCE_BYTES random bytes. */
  nonce: string;
  /** Optional abilities (`FEATURES`); servers before it leave it out. */
  features?: string[];
  /**
   * The server's idle timeout in ms (0: never), so a client paces its
   * heartbeats under it; servers before it leave it out.
   */
  idleMs?: number;
}

/** `output`: a chunk of a running call's output. */
export interface OutputParams {
  /** The id of the request this output belongs to. */
  id: RequestId;
  stream: "stdout" | "stderr";
  data: string;
}

/**
 * `chunk` of output, for a call that asked for `rawOutput`: the `bytes` raw
 * bytes after its frame are the data (protocol.md §5).
 */
export interface OutputChunkParams {
  id: RequestId;
  stream: "stdout" | "stderr";
  bytes: number;
}

/** `bye`: the server is closing the connection, and why. */
export interface ByeParams {
  reason: "disconnect" | "reset" | "kill" | "shutdown" | "error" | "revoked";
  message?: string;
}

// ---- Requests and their results ----
// Results are plain JSON data, so they are type aliases: TypeScript lets an
// alias (not an interface) stand where a `Json` value is expected.

/** `auth` result: the server's proof and who it is. */
export interface AuthResult {
  /** The server's token proof; present when the client proved the token (see §3.2). */
  mac?: string;
  server: string;
  /** The granted role is `read-only` (kept for clients that read only this). */
  readOnly: boolean;
  /** What this connection may do: `admin`, or `read-only` (metrics, ping, disconnect). */
  role: "admin" | "read-only";
  /** Who the server took the client for: an operator key's name, or `token`. */
  user: string;
}

/** `ram` result. */
export type RamInfo = {
  usedPercent: number;
  totalBytes: number;
  availableBytes: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
};

/** `cpu` result. */
export type CpuInfo = {
  /** Busy share of all cores over a short sample, 0-100. */
  usagePercent: number;
  cores: number;
  model: string;
  /** 1, 5 and 15 minute load averages (zeros where the OS has none). */
  loadAvg: [number, number, number];
};

/** `os` result. */
export type OsInfo = {
  platform: string;
  release: string;
  arch: string;
  /** Human name of the OS where known (e.g. `Debian GNU/Linux 12`). */
  name: string;
};

/** `name` result. */
export type NameInfo = {
  hostname: string;
};

/** One address of one interface. */
export type InterfaceAddress = {
  name: string;
  family: "IPv4" | "IPv6";
  address: string;
  cidr: string;
  mac: string;
  internal: boolean;
};

/** `ip` result. */
export type IpInfo = {
  addresses: InterfaceAddress[];
};

/** One mounted file system. */
export type MountUsage = {
  mount: string;
  device: string;
  fsType: string;
  sizeBytes: number;
  usedBytes: number;
  freeBytes: number;
  usedPercent: number;
};

/** `disk` result. */
export type DiskInfo = {
  mounts: MountUsage[];
};

/** `uptime` result. */
export type UptimeInfo = {
  uptimeSeconds: number;
  /** Boot time, milliseconds since the epoch. */
  bootTime: number;
};

/** One interface's traffic over the sample, and its error and drop counts since boot. */
export type InterfaceTraffic = {
  name: string;
  rxBytesPerSec: number;
  txBytesPerSec: number;
  rxPacketsPerSec: number;
  txPacketsPerSec: number;
  rxErrors: number;
  txErrors: number;
  rxDrops: number;
  txDrops: number;
};

/** `net` result: traffic per interface over a short sample. */
export type NetInfo = {
  /** How long the sample was, ms. */
  sampleMs: number;
  interfaces: InterfaceTraffic[];
};

/** One process of `top`. */
export type ProcessUsage = {
  pid: number;
  user: string;
  /** Share of one core over the sample (100 = one core busy). */
  cpuPercent: number;
  rssBytes: number;
  command: string;
};

/** `top` result: the busiest processes, busiest first. */
export type TopInfo = {
  sampleMs: number;
  processes: ProcessUsage[];
};

/** `info` result: every metric in one object. */
export type FullInfo = {
  ram: RamInfo;
  cpu: CpuInfo;
  os: OsInfo;
  name: NameInfo;
  ip: IpInfo;
  disk: DiskInfo;
  uptime: UptimeInfo;
  /** Traffic per interface; absent from servers without /proc (not Linux) and older ones. */
  net?: NetInfo;
};

/** Which shell runs an exec command line. */
export type ShellKind = "sh" | "cmd" | "ps";

/** The result of a streaming call (`ping`, `exec`) once its process has ended. */
export type CallEnd = {
  /** Exit code, or null when the process ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** True when output went over the cap and was cut. */
  truncated: boolean;
  /** How many bytes of output were not sent. */
  droppedBytes: number;
};

/** The figures of a `ping` run, read from its summary (see lib/exec/ping_output.ts). */
// A type, not an interface: results must be assignable to `Json`, which needs an index signature.
export type PingStats = {
  /** Echo requests sent. */
  sent: number;
  /** Replies received. */
  received: number;
  /** Requests without a reply, in percent (0-100, two decimals). */
  lossPercent: number;
  /** Round-trip times in ms; null when no reply came. */
  rttMinMs: number | null;
  rttAvgMs: number | null;
  rttMaxMs: number | null;
};

/**
 * The result of `ping`: its CallEnd plus `stats`, the parsed figures (null when
 * ping printed no summary; absent from servers older than the field).
 */
export type PingResult = CallEnd & { stats?: PingStats | null };

/** `cancel` params: the id of the call to stop. */
export interface CancelParams {
  id: RequestId;
}

/** `heartbeat` result. */
export interface HeartbeatResult {
  /** Server clock, milliseconds since the epoch. */
  time: number;
}

/** `ready`: a stream of call `id` is open; the sender may have `window` chunks unacknowledged. */
export interface ReadyParams {
  id: RequestId;
  /** Chunks that may be sent before the first `ack`; later, at most this many unacknowledged. */
  window: number;
  /** Largest chunk, in bytes before base64. */
  chunkBytes: number;
  /** download only: the file's size and permission bits. */
  size?: number;
  mode?: number;
}

/** `chunk`: data of call `id`'s stream; `seq` counts from 0 with no gap. */
export interface ChunkParams {
  id: RequestId;
  seq: number;
  /** Standard base64 (with padding) of at most `chunkBytes` bytes; may be empty with `eof`. */
  data: string;
  /** exec input only: the last chunk; the command's stdin is closed after it. */
  eof?: boolean;
}

/** `ack`: the receiver of call `id`'s stream has consumed chunk `seq` (and every one before). */
export interface AckParams {
  id: RequestId;
  seq: number;
}

/** `upload` result: what happened to the destination. */
export type UploadResult = {
  /** `created` (new file), `replaced` (with `force`) or `unchanged` (same content already there). */
  status: "created" | "replaced" | "unchanged";
  /** The destination as written. */
  path: string;
  bytes: number;
  sha256: string;
};

/** `download` result: how much was sent and its checksum. */
export type DownloadResult = {
  bytes: number;
  /** SHA-256 of everything sent, 64 lowercase hex digits. */
  sha256: string;
  /** The file's permission bits on the server. */
  mode: number;
};
