/**
 * Exec streaming: throughput of `head -c N /dev/zero | base64` through exec
 * (MB/s of output delivered to the client) and the time from a child writing
 * its first line to the client receiving it. The floor runs the same command
 * as a local child of the benchmark process and reads its stdout pipe directly.
 * @module
 */

import type { HostLink } from "../lib/client/host_link.ts";
import { toRequest } from "../lib/grammar/params.ts";
import type { CallEnd } from "../lib/protocol/messages.ts";
import { type BenchConfig, type Figure, figure } from "./report.ts";
import { now, summarize } from "./stats.ts";

/** Output size of `base64` (76-column lines) for `n` input bytes. */
export function base64OutputBytes(n: number): number {
  const chars = 4 * Math.ceil(n / 3);
  return chars + Math.ceil(chars / 76);
}

/** The exec command whose output is streamed. */
export function streamCommand(bytes: number): string {
  return `head -c ${bytes} /dev/zero | base64`;
}

const FIRST_LINE_COMMAND = "date +%s%N; sleep 0.2";
const EXEC_TIMEOUT_MS = 10 * 60_000;

/** Wall clock in milliseconds with sub-millisecond resolution, comparable with `date +%s%N`. */
function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

function execParams(command: string, maxOutputBytes: number) {
  return toRequest({
    kind: "exec",
    shell: "sh",
    command,
    timeoutMs: EXEC_TIMEOUT_MS,
    maxOutputBytes,
  });
}

/** Stream `bytes` of zeros through exec; returns MB/s of output at the client. */
export async function execStream(link: HostLink, bytes: number): Promise<number> {
  const expected = base64OutputBytes(bytes);
  const { method, params } = execParams(streamCommand(bytes), expected + 1024);
  let got = 0;
  const t0 = now();
  const end = await link.call(method, params, {
    timeoutMs: EXEC_TIMEOUT_MS,
    onOutput: (o) => {
      got += o.data.length;
    },
  }) as unknown as CallEnd;
  const ms = now() - t0;
  if (end.exitCode !== 0 || end.truncated || got !== expected) {
    throw new Error(
      `Cannot stream through exec: exit ${end.exitCode}, truncated ${end.truncated}, ${got} of ${expected} bytes`,
    );
  }
  return got / 1e6 / (ms / 1000);
}

/** The floor: the same command run locally, its stdout pipe read by this process; MB/s. */
export async function localStream(bytes: number): Promise<number> {
  const t0 = now();
  const child = new Deno.Command("sh", {
    args: ["-c", streamCommand(bytes)],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let got = 0;
  for await (const chunk of child.stdout) got += chunk.length;
  await child.status;
  return got / 1e6 / ((now() - t0) / 1000);
}

/** Milliseconds from the child printing its clock to the client receiving that line via exec. */
export async function execFirstLine(link: HostLink): Promise<number> {
  const { method, params } = execParams(FIRST_LINE_COMMAND, 1024);
  let latency = NaN;
  let text = "";
  await link.call(method, params, {
    timeoutMs: EXEC_TIMEOUT_MS,
    onOutput: (o) => {
      const at = wallMs();
      if (!Number.isNaN(latency) || o.stream !== "stdout") return;
      text += o.data;
      const nl = text.indexOf("\n");
      if (nl >= 0) latency = at - Number(text.slice(0, nl)) / 1e6;
    },
  });
  if (Number.isNaN(latency)) throw new Error(`Cannot time first line: got "${text}"`);
  return latency;
}

/** The floor: the same for a local child's stdout pipe. */
export async function localFirstLine(): Promise<number> {
  const child = new Deno.Command("sh", {
    args: ["-c", FIRST_LINE_COMMAND],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const decoder = new TextDecoder();
  let latency = NaN;
  let text = "";
  for await (const chunk of child.stdout) {
    const at = wallMs();
    if (!Number.isNaN(latency)) continue;
    text += decoder.decode(chunk, { stream: true });
    const nl = text.indexOf("\n");
    if (nl >= 0) latency = at - Number(text.slice(0, nl)) / 1e6;
  }
  await child.status;
  if (Number.isNaN(latency)) throw new Error(`Cannot time first line: got "${text}"`);
  return latency;
}

/** Exec streaming and first-line figures against the server behind `link`. */
export async function measureExec(
  link: HostLink,
  cfg: BenchConfig,
): Promise<Record<string, Figure>> {
  // Warm-up with a tenth of the size: JIT, pipe and socket buffers.
  const warmBytes = Math.max(1_000_000, Math.floor(cfg.execZeroBytes / 10));
  await localStream(warmBytes);
  await execStream(link, warmBytes);
  await localFirstLine();
  await execFirstLine(link);
  const mbps = { rmon: [] as number[], local: [] as number[] };
  for (let rep = 0; rep < cfg.execReps; rep++) {
    mbps.local.push(await localStream(cfg.execZeroBytes));
    mbps.rmon.push(await execStream(link, cfg.execZeroBytes));
  }
  const first = { rmon: [] as number[], local: [] as number[] };
  const firstReps = Math.max(cfg.reps, 5);
  for (let rep = 0; rep < firstReps; rep++) {
    first.local.push(await localFirstLine());
    first.rmon.push(await execFirstLine(link));
  }
  const outMB = (base64OutputBytes(cfg.execZeroBytes) / 1e6).toFixed(0);
  return {
    "exec.stream": figure(
      {
        label: `exec "${streamCommand(cfg.execZeroBytes)}" (${outMB} MB of output)`,
        unit: "MB/s",
        higherIsBetter: true,
        floorLabel: "the same command as a local child, its stdout pipe read by the benchmark",
        target: { of: "value", op: ">=", bound: 200 },
        note: "MB = 10^6 bytes of output text received by the client, send to final answer",
      },
      summarize(mbps.rmon),
      summarize(mbps.local),
    ),
    "exec.first_line": figure(
      {
        label: `first output line of exec "${FIRST_LINE_COMMAND}"`,
        unit: "ms",
        floorLabel: "the same command as a local child, read from its stdout pipe",
        target: { of: "value", op: "<=", bound: 10 },
        note: "child's clock (date +%s%N) to the client's receipt, same machine",
      },
      summarize(first.rmon),
      summarize(first.local),
    ),
  };
}
