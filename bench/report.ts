/**
 * Benchmark results: the figure record every measurement produces (median of
 * its repetitions, range, the floor measured in the same run and the ratio to
 * it, the target and whether it was met), the JSON document, and the table.
 * @module
 */

import type { Summary } from "./stats.ts";

/** A target: the figure's value (or its ratio to the floor) compared with a bound. */
export interface Target {
  /** What is compared: the median value, or the median ratio to the floor. */
  of: "value" | "ratio";
  op: "<=" | ">=" | "<";
  bound: number;
}

/** One benchmark figure. */
export interface Figure {
  /** What was measured, for the table. */
  label: string;
  unit: string;
  /** Whether a bigger value is better (throughput) or worse (time, memory). */
  higherIsBetter: boolean;
  /** Median over repetitions. */
  value: number;
  min: number;
  max: number;
  /** The 99th percentile within the repetitions, where a figure has one. */
  p99?: number;
  reps: number;
  samples: number[];
  /** What the floor is. */
  floorLabel: string;
  /** Median of the floor, measured in the same run, interleaved with the figure's repetitions. */
  floor: number;
  /** Median of the per-repetition ratios figure / floor. */
  ratio: number;
  target?: Target;
  met?: boolean;
  /** Anything a reader must know to read the figure right. */
  note?: string;
}

/** Everything one run measured. */
export interface BenchResults {
  /** When the run started (ISO 8601). */
  startedAt: string;
  quick: boolean;
  machine: { cores: number; denoVersion: string; os: string; memTotalBytes: number };
  /** The sizes that name figures, so a reader (and the smoke test) knows which keys exist. */
  config: BenchConfig;
  figures: Record<string, Figure>;
  /** Sections that could not run here, with why (`scale: unshare -n failed ...`). */
  skipped?: string[];
  /** Wall time of the whole run, in seconds. */
  durationSeconds: number;
}

/** The sizes of one run; `--quick` shrinks them all. */
export interface BenchConfig {
  /** Repetitions of each measurement after the warm-up. */
  reps: number;
  /** Serial `ram` calls per repetition. */
  serialCalls: number;
  /** Pipelined `ram` calls per repetition, and how many are in flight. */
  pipelinedCalls: number;
  window: number;
  /** Server counts of the fan-out figures (each server is its own process). */
  fanoutSizes: number[];
  /** Repetitions of warm and cold fan-out. */
  fanoutWarmReps: number;
  fanoutColdReps: number;
  /** Bytes of zeros base64-encoded through exec. */
  execZeroBytes: number;
  execReps: number;
  /** Connections opened for the server's RSS figure. */
  serverConnections: number;
  /** Seconds the idle CPU figure is sampled over. */
  idleSeconds: number;
  /** Link counts of the client footprint figures, and the servers they are spread over. */
  clientLinks: number[];
  clientServers: number;
  /** Cold connects (TLS and plain each) per repetition of the TLS cold-connect figure. */
  coldConnects: number;
  /** Simulated hosts on the `rmon web` page, rounds per update figure, rounds for "an hour". */
  webHosts: number;
  webUpdateRounds: number;
  webHourRounds: number;
  /** Size of the file pushed and pulled, and the servers it goes to. */
  fileBytes: number;
  fileServers: number;
  /** Bytes of zeros base64-encoded for the client CLI streaming figures. */
  clientStreamZeroBytes: number;
  /** Hosts (server processes) and bytes of output each for the many-outputs RSS figure. */
  clientOutputHosts: number;
  clientOutputBytesPerHost: number;
  /** The fleet-size section (bench/scale.ts), in a private network namespace. */
  scale: ScaleConfig;
}

/** Sizes of the fleet-size section. */
export interface ScaleConfig {
  /** Host counts of the cold one-shot figures. */
  sizes: number[];
  /** Server processes the hosts are spread over. */
  servers: number;
  /** Repetitions of each cold one-shot. */
  reps: number;
  /** Link counts a process holds for warm fan-out, RSS and idle CPU. */
  hold: number[];
  warmReps: number;
  /** Rounds of the console's `watch` (info to all, table drawn) per held size. */
  watchRounds: number;
  /** Idle CPU is sampled over this long, after settling this long. */
  idleSeconds: number;
  idleWait: number;
  /** Host count of the TLS-against-plain figures; 0 for none. */
  tlsSize: number;
  /** False-timeout checks: runs of a cold one-shot to n healthy hosts at a fan-out. */
  checks: { n: number; fanout: number; runs: number }[];
}

/** The keys of the fleet-size figures of `s`. */
function scaleKeys(s: ScaleConfig): string[] {
  return [
    ...s.sizes.flatMap((n) => [`scale.cold.n${n}`, `scale.first.n${n}`, `scale.rss.oneshot.n${n}`]),
    ...s.hold.flatMap((n) => [
      `scale.warm.n${n}`,
      `scale.watch.n${n}`,
      `scale.rss.links.n${n}`,
      `scale.rss.idle.links.n${n}`,
      `scale.cpu.idle.n${n}`,
    ]),
    ...(s.tlsSize > 0
      ? ["cold", "rss.oneshot", "warm", "rss.links"].map((f) => `scale.tls.${f}.n${s.tlsSize}`)
      : []),
    ...s.checks.map((c) => `scale.false_timeouts.n${c.n}.f${c.fanout}`),
  ];
}

/**
 * The keys of every figure a run with `config` produces, but for sections it
 * `skipped` (named by their first word: `scale: ...`).
 */
export function figureKeys(config: BenchConfig, skipped: readonly string[] = []): string[] {
  const scaleSkipped = skipped.some((s) => s.startsWith("scale"));
  return [
    "latency.serial.p50",
    "latency.serial.p99",
    "throughput.pipelined",
    ...config.fanoutSizes.map((n) => `fanout.warm.n${n}`),
    ...config.fanoutSizes.map((n) => `fanout.cold.n${n}`),
    "exec.stream",
    "exec.first_line",
    "server.start",
    "server.rss.start",
    `server.rss.conns${config.serverConnections}`,
    "server.rss.after_stream",
    "server.cpu.idle",
    ...config.clientLinks.map((n) => `client.rss.links${n}`),
    "client.stream.no_prefix",
    "client.stream.prefixed",
    "client.stream.rss",
    `client.outputs.n${config.clientOutputHosts}`,
    "tls.latency.serial.p50",
    "tls.latency.serial.p99",
    "tls.connect.cold",
    "tls.exec.stream",
    "tls.server.rss.start",
    `web.load.n${config.webHosts}`,
    `web.update.n${config.webHosts}`,
    `web.heap.hour.n${config.webHosts}`,
    "files.push.aggregate",
    "files.push.per_host",
    "files.pull.aggregate",
    "files.client.rss",
    ...(scaleSkipped ? [] : scaleKeys(config.scale)),
  ];
}

/** Build a figure from paired repetitions of rmon and its floor. */
export function figure(
  spec: {
    label: string;
    unit: string;
    higherIsBetter?: boolean;
    floorLabel: string;
    target?: Target;
    note?: string;
    p99?: number;
    /** Ratios use max(floor, this), for floors that can measure zero (idle CPU). */
    floorResolution?: number;
  },
  values: Summary,
  floors: Summary,
): Figure {
  const res = spec.floorResolution ?? 0;
  const ratios = values.samples.map((v, i) =>
    v / Math.max(floors.samples[i] ?? floors.median, res)
  );
  const sortedRatios = [...ratios].sort((a, b) => a - b);
  const mid = sortedRatios.length >> 1;
  const ratio = sortedRatios.length % 2
    ? sortedRatios[mid]!
    : (sortedRatios[mid - 1]! + sortedRatios[mid]!) / 2;
  const fig: Figure = {
    label: spec.label,
    unit: spec.unit,
    higherIsBetter: spec.higherIsBetter ?? false,
    value: values.median,
    min: values.min,
    max: values.max,
    reps: values.samples.length,
    samples: values.samples,
    floorLabel: spec.floorLabel,
    floor: floors.median,
    ratio,
  };
  if (spec.p99 !== undefined) fig.p99 = spec.p99;
  if (spec.note !== undefined) fig.note = spec.note;
  if (spec.target) {
    fig.target = spec.target;
    fig.met = meets(spec.target.of === "value" ? fig.value : fig.ratio, spec.target);
  }
  return fig;
}

function meets(x: number, t: Target): boolean {
  switch (t.op) {
    case "<=":
      return x <= t.bound;
    case ">=":
      return x >= t.bound;
    case "<":
      return x < t.bound;
    default: {
      const never: never = t.op;
      throw new TypeError(`Unknown comparison ${never}`);
    }
  }
}

/** A number with about three significant digits. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString("en-US");
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

function targetText(t: Target | undefined, unit: string): string {
  if (!t) return "";
  return t.of === "ratio" ? `${t.op} ${fmt(t.bound)}× floor` : `${t.op} ${fmt(t.bound)} ${unit}`;
}

/** The results as an aligned text table. */
export function formatTable(results: BenchResults): string {
  const head = ["figure", "median", "min–max", "unit", "floor", "ratio", "target", "met"];
  const rows = Object.entries(results.figures).map(([key, f]) => [
    key,
    fmt(f.value) + (f.p99 !== undefined ? ` (p99 ${fmt(f.p99)})` : ""),
    `${fmt(f.min)}–${fmt(f.max)}`,
    f.unit,
    fmt(f.floor),
    `${fmt(f.ratio)}×`,
    targetText(f.target, f.unit),
    f.met === undefined ? "" : f.met ? "yes" : "NO",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join("  ")
      .trimEnd();
  const floors = Object.entries(results.figures).map(([key, f]) =>
    `  ${key}: ${f.floorLabel}${f.note ? `; ${f.note}` : ""}`
  );
  return [
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    "Floors:",
    ...floors,
  ]
    .join("\n");
}
