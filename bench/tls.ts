/**
 * TLS against plain TCP: what `rmon-server --tls` costs next to a plain
 * `rmon-server` started the same way (same HOME, same flags but `--tls`), the
 * plain server being the floor. Serial `ram` latency on one connection, a cold
 * connect + handshake + first `ram` (what the one-shot client pays per host),
 * exec streaming, and RSS after start with the certificate already generated.
 * Every repetition measures both servers back to back, alternating which goes
 * first, so drift on a noisy machine moves both alike.
 * @module
 */

import type { HostLink } from "../lib/client/host_link.ts";
import { tlsDialer } from "../lib/protocol/tls_transport.ts";
import type { Dialer } from "../lib/protocol/transport.ts";
import { base64OutputBytes, execStream, streamCommand } from "./exec_stream.ts";
import { coldRound } from "./fanout.ts";
import { SETTLE_MS } from "./footprint.ts";
import { serialRmon } from "./latency.ts";
import { buildFleet, connectAll, keyFor } from "./links.ts";
import {
  BENCH_TOKEN,
  type BenchProcess,
  type RmonServerOptions,
  rssBytes,
  startRmonServer,
  stopAll,
} from "./procs.ts";
import { type BenchConfig, type Figure, figure } from "./report.ts";
import { median, percentile, summarize } from "./stats.ts";

const MB = 1024 * 1024;
/** Cold connects per side before the measured ones (first import of node:tls, JIT). */
const COLD_WARMUP = 3;
/** Runs a repetition's serial calls are split into, alternating TLS and plain. */
const SERIAL_CHUNKS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Paired samples: rmon over TLS, and the plain floor. */
interface Pair {
  tls: number[];
  plain: number[];
}

const pair = (): Pair => ({ tls: [], plain: [] });

/** Run both sides of repetition `rep`, plain first on even repetitions, TLS first on odd ones. */
async function both<T>(
  rep: number,
  plain: () => Promise<T>,
  tls: () => Promise<T>,
): Promise<{ plain: T; tls: T }> {
  if (rep % 2 === 0) {
    const p = await plain();
    return { plain: p, tls: await tls() };
  }
  const t = await tls();
  return { plain: await plain(), tls: t };
}

/** Server options of one side: the same HOME and flags, plus `--tls` for the TLS side. */
function serverOptions(home: string, tls: boolean, args: string[] = []): RmonServerOptions {
  return { home, args: tls ? ["--tls", ...args] : args };
}

/** The TLS server's pinned dialer; throws unless its banner named a certificate. */
function pinnedDialer(server: BenchProcess): Dialer {
  if (!server.fingerprint) {
    throw new Error(`Cannot pin the TLS server: no fingerprint in its banner\n${server.stderr()}`);
  }
  return tlsDialer({ kind: "fingerprint", fingerprint: server.fingerprint });
}

/** RSS after start of `cfg.reps` TLS and plain servers sharing `home` (certificate already there). */
async function rssAfterStart(home: string, cfg: BenchConfig): Promise<Figure> {
  const procs: BenchProcess[] = [];
  const pids: { plain: number; tls: number }[] = [];
  try {
    for (let rep = 0; rep < cfg.reps; rep++) {
      const started = await both(
        rep,
        () => startRmonServer(serverOptions(home, false)),
        () => startRmonServer(serverOptions(home, true)),
      );
      procs.push(started.plain, started.tls);
      pids.push({ plain: started.plain.pid, tls: started.tls.pid });
    }
    await sleep(SETTLE_MS);
    const rss = pair();
    for (const p of pids) {
      rss.tls.push(await rssBytes(p.tls) / MB);
      rss.plain.push(await rssBytes(p.plain) / MB);
    }
    return figure(
      {
        label: `TLS server RSS ${SETTLE_MS / 1000} s after start (certificate already generated)`,
        unit: "MiB",
        floorLabel: "the plain server's RSS, started the same way without --tls",
        note: "a later start with the same HOME: it loads the certificate instead of making one",
      },
      summarize(rss.tls),
      summarize(rss.plain),
    );
  } finally {
    await stopAll(procs);
  }
}

/** Serial `ram` p50 and p99 on one open connection to each server. */
async function serialFigures(
  plain: HostLink,
  tls: HostLink,
  cfg: BenchConfig,
): Promise<Record<string, Figure>> {
  const warm = Math.max(50, cfg.serialCalls >> 2);
  await serialRmon(plain, warm);
  await serialRmon(tls, warm);
  const p50 = pair();
  const p99 = pair();
  const chunk = Math.ceil(cfg.serialCalls / SERIAL_CHUNKS);
  const calls = chunk * SERIAL_CHUNKS;
  for (let rep = 0; rep < cfg.reps; rep++) {
    const times = pair();
    // Short alternating runs: a burst of noise then lands on both sides, not on one.
    for (let i = 0; i < SERIAL_CHUNKS; i++) {
      const t = await both(rep + i, () => serialRmon(plain, chunk), () => serialRmon(tls, chunk));
      times.tls.push(...t.tls);
      times.plain.push(...t.plain);
    }
    p50.tls.push(percentile(times.tls, 50));
    p50.plain.push(percentile(times.plain, 50));
    p99.tls.push(percentile(times.tls, 99));
    p99.plain.push(percentile(times.plain, 99));
  }
  const floorLabel = "serial ram on one connection to the plain server";
  return {
    "tls.latency.serial.p50": figure(
      {
        label: "serial ram request over TLS, p50",
        unit: "ms",
        floorLabel,
        note: `${calls} calls per repetition in ${SERIAL_CHUNKS} runs alternating with the ` +
          "floor's; value = median of per-repetition p50",
      },
      summarize(p50.tls),
      summarize(p50.plain),
    ),
    "tls.latency.serial.p99": figure(
      {
        label: "serial ram request over TLS, p99",
        unit: "ms",
        floorLabel: `${floorLabel}, p99`,
        note: "value = median of per-repetition p99",
      },
      summarize(p99.tls),
      summarize(p99.plain),
    ),
  };
}

/** A fresh Fleet's connect + handshake + first `ram`, one host, `cfg.coldConnects` per repetition. */
async function coldFigure(
  plain: BenchProcess,
  tls: BenchProcess,
  dial: Dialer,
  cfg: BenchConfig,
): Promise<Figure> {
  const plainRound = () => coldRound([plain.endpoint]);
  const tlsRound = () => coldRound([tls.endpoint], dial);
  for (let i = 0; i < COLD_WARMUP; i++) {
    await plainRound();
    await tlsRound();
  }
  const ms = pair();
  for (let rep = 0; rep < cfg.reps; rep++) {
    const rounds = pair();
    // Alternate within the repetition too: one cold connect is a millisecond or two.
    for (let i = 0; i < cfg.coldConnects; i++) {
      const t = await both(rep + i, plainRound, tlsRound);
      rounds.tls.push(t.tls);
      rounds.plain.push(t.plain);
    }
    ms.tls.push(median(rounds.tls));
    ms.plain.push(median(rounds.plain));
  }
  return figure(
    {
      label: "cold connect + TLS handshake + auth + first ram, one host",
      unit: "ms",
      floorLabel: "the same over plain TCP to the plain server",
      note: `new Fleet and key each time, certificate pinned by fingerprint; value = median of ` +
        `per-repetition medians of ${cfg.coldConnects} connects`,
    },
    summarize(ms.tls),
    summarize(ms.plain),
  );
}

/** Exec streaming MB/s through each server. */
async function execFigure(
  plain: HostLink,
  tls: HostLink,
  cfg: BenchConfig,
): Promise<Figure> {
  // Warm-up with a tenth of the size, as the life section's exec figure does.
  const warmBytes = Math.max(1_000_000, Math.floor(cfg.execZeroBytes / 10));
  await execStream(plain, warmBytes);
  await execStream(tls, warmBytes);
  const mbps = pair();
  // More repetitions than the life section's exec figure: this one is read as a ratio.
  for (let rep = 0; rep < cfg.reps; rep++) {
    const t = await both(
      rep,
      () => execStream(plain, cfg.execZeroBytes),
      () => execStream(tls, cfg.execZeroBytes),
    );
    mbps.tls.push(t.tls);
    mbps.plain.push(t.plain);
  }
  const outMB = (base64OutputBytes(cfg.execZeroBytes) / 1e6).toFixed(0);
  return figure(
    {
      label: `exec "${streamCommand(cfg.execZeroBytes)}" over TLS (${outMB} MB of output)`,
      unit: "MB/s",
      higherIsBetter: true,
      floorLabel: "the same exec through the plain server",
      note: "MB = 10^6 bytes of output text received by the client, send to final answer",
    },
    summarize(mbps.tls),
    summarize(mbps.plain),
  );
}

/**
 * The TLS figures: starts its own plain and `--tls` servers sharing one temp
 * HOME (the first TLS start generates the certificate there, unmeasured) and
 * stops them all before returning. `progress` is told what runs next.
 */
export async function measureTls(
  cfg: BenchConfig,
  progress: (text: string) => void,
): Promise<Record<string, Figure>> {
  const home = await Deno.makeTempDir({ prefix: "rmon-bench-tls-home-" });
  const procs: BenchProcess[] = [];
  try {
    // Generate the certificate, and warm the module cache for both kinds of start.
    await (await startRmonServer(serverOptions(home, true))).stop();
    await (await startRmonServer(serverOptions(home, false))).stop();
    progress(`tls: RSS after start (${cfg.reps} TLS and ${cfg.reps} plain servers)`);
    const rss = await rssAfterStart(home, cfg);

    const maxOutput = ["--max-output", String(base64OutputBytes(cfg.execZeroBytes) + MB)];
    const plain = await startRmonServer(serverOptions(home, false, maxOutput));
    procs.push(plain);
    const tls = await startRmonServer(serverOptions(home, true, maxOutput));
    procs.push(tls);
    const dial = pinnedDialer(tls);
    const key = keyFor(BENCH_TOKEN);
    const plainFleet = buildFleet([plain.endpoint], 1, key);
    const tlsFleet = buildFleet([tls.endpoint], 1, key, dial);
    try {
      await connectAll(plainFleet);
      await connectAll(tlsFleet);
      const plainLink = plainFleet.get("h0")!;
      const tlsLink = tlsFleet.get("h0")!;
      progress("tls: serial ram, TLS and plain");
      const serial = await serialFigures(plainLink, tlsLink, cfg);
      progress(`tls: cold connect + first ram, ${cfg.coldConnects} per repetition`);
      const cold = await coldFigure(plain, tls, dial, cfg);
      progress("tls: exec streaming, TLS and plain");
      const exec = await execFigure(plainLink, tlsLink, cfg);
      return {
        ...serial,
        "tls.connect.cold": cold,
        "tls.exec.stream": exec,
        "tls.server.rss.start": rss,
      };
    } finally {
      await tlsFleet.close();
      await plainFleet.close();
    }
  } finally {
    await stopAll(procs);
    await Deno.remove(home, { recursive: true });
  }
}
