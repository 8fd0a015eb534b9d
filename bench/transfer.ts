/**
 * The files section of `deno task bench`: the real client (`client.ts` with
 * its build flags, one-shot `push` and `pull`) moving one file to and from
 * `fileServers` real server processes on loopback, against the floor of a
 * local `cp` of the same file in the same run. Reports the aggregate push and
 * pull rates (bytes of all hosts together per second), the rate each host
 * saw, and the client's peak RSS sampled during the push. The floors write the
 * same bytes to the same disk with `cp` (and `sync --data` where the servers
 * flush), so a ratio says what rmon adds over the disk.
 * @module
 */

import { runArgs } from "../tools/entry_flags.ts";
import {
  baseEnv,
  BENCH_TOKEN,
  type BenchProcess,
  rssBytes,
  startMany,
  startRmonServer,
  stopAll,
} from "./procs.ts";
import { type BenchConfig, type Figure, figure } from "./report.ts";
import { summarize } from "./stats.ts";

const MB = 1e6;

/** Fill `path` with `bytes` of data that does not compress (written once per run). */
async function makeFile(path: string, bytes: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const block = new Uint8Array(1024 * 1024);
  for (let left = bytes; left > 0; left -= block.length) {
    crypto.getRandomValues(block.subarray(0, 65536));
    block.copyWithin(65536, 0, block.length - 65536);
    await file.write(block.subarray(0, Math.min(left, block.length)));
  }
}

/** Run the client once; its wall time and the peak RSS sampled every 20 ms. */
async function timedClient(args: string[]): Promise<{ seconds: number; peakRss: number }> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [...runArgs("client"), ...args],
    env: { ...await baseEnv(), RMON_TOKEN: BENCH_TOKEN, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peakRss = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peakRss = Math.max(peakRss, await rssBytes(child.pid).catch(() => 0));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const out = await child.output();
  running = false;
  await sampler;
  const seconds = (performance.now() - started) / 1000;
  if (!out.success) {
    throw new Error(
      `Cannot run bench client ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return { seconds, peakRss };
}

/**
 * `n` local copies of the file at once, each `cp` then, with `sync`, flushed
 * (`sync --data`, as each server flushes its upload): the floor of the rates.
 * The same bytes reach the same disk as in the push, without a network or rmon.
 */
async function cpSeconds(from: string, dir: string, n: number, sync: boolean): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const to = `${dir}/cp${i}.bin`;
    const cp = await new Deno.Command("cp", { args: [from, to], stdin: "null" }).output();
    if (!cp.success) throw new Error(`Cannot run cp ${from} ${to}`);
    if (!sync) return;
    const flushed = await new Deno.Command("sync", { args: ["--data", to], stdin: "null" })
      .output();
    if (!flushed.success) throw new Error(`Cannot run sync --data ${to}`);
  }));
  const seconds = (performance.now() - started) / 1000;
  for (let i = 0; i < n; i++) await Deno.remove(`${dir}/cp${i}.bin`);
  return seconds;
}

/** Measure the files figures; see the module doc. */
export async function measureTransfer(
  cfg: BenchConfig,
  progress: (text: string) => void,
): Promise<Record<string, Figure>> {
  const dir = await Deno.makeTempDir({ prefix: "rmon-bench-files-" });
  let servers: BenchProcess[] = [];
  try {
    const n = cfg.fileServers;
    const bytes = cfg.fileBytes;
    const source = `${dir}/source.bin`;
    await makeFile(source, bytes);
    progress(`files: starting ${n} servers`);
    servers = await startMany(n, 10, () => startRmonServer());
    const hosts = servers.map((s) => `${s.endpoint.hostname}:${s.endpoint.port}`).join(",");
    const push: number[] = [];
    const pull: number[] = [];
    const perHost: number[] = [];
    const rss: number[] = [];
    const cpMany: number[] = [];
    const cpOne: number[] = [];
    const cpPull: number[] = [];
    for (let rep = 0; rep < cfg.reps; rep++) {
      progress(
        `files: push ${bytes / MB} MB to ${n} servers, pull it back (${rep + 1}/${cfg.reps})`,
      );
      // Every server writes the same path (they share this machine): --force, and
      // removed between runs, so no host can answer "unchanged" without the bytes.
      await Deno.remove(`${dir}/dest.bin`).catch(() => {});
      const p = await timedClient([
        "--hosts",
        hosts,
        "--json",
        "--",
        `push --force ${source} ${dir}/dest.bin`,
      ]);
      push.push((n * bytes) / MB / p.seconds);
      perHost.push(bytes / MB / p.seconds);
      rss.push(p.peakRss / MB);
      const q = await timedClient([
        "--hosts",
        hosts,
        "--json",
        "--",
        `pull ${dir}/dest.bin ${dir}/pulled`,
      ]);
      pull.push((n * bytes) / MB / q.seconds);
      // Removed at once: unflushed copies would otherwise be written back during the next push.
      await Deno.remove(`${dir}/pulled`, { recursive: true });
      cpMany.push((n * bytes) / MB / await cpSeconds(source, dir, n, true));
      cpOne.push(bytes / MB / await cpSeconds(source, dir, 1, true));
      cpPull.push((n * bytes) / MB / await cpSeconds(source, dir, n, false));
    }
    const note = `${n} servers, ${bytes / MB} MB file; client process start included`;
    return {
      "files.push.aggregate": figure(
        {
          label: `push to ${n} servers, all hosts`,
          unit: "MB/s",
          higherIsBetter: true,
          floorLabel: `${n} local cp + sync at once`,
          target: { of: "value", op: ">=", bound: 300 },
          note,
        },
        summarize(push),
        summarize(cpMany),
      ),
      "files.push.per_host": figure(
        {
          label: `push to ${n} servers, each host`,
          unit: "MB/s",
          higherIsBetter: true,
          floorLabel: "one local cp + sync",
          note,
        },
        summarize(perHost),
        summarize(cpOne),
      ),
      "files.pull.aggregate": figure(
        {
          label: `pull from ${n} servers, all hosts`,
          unit: "MB/s",
          higherIsBetter: true,
          floorLabel: `${n} local cp at once`,
          note,
        },
        summarize(pull),
        summarize(cpPull),
      ),
      "files.client.rss": figure(
        {
          label: `client peak RSS, push to ${n} servers`,
          unit: "MB",
          floorLabel: "file size",
          target: { of: "value", op: "<=", bound: 100 },
          note: "sampled every 20 ms",
        },
        summarize(rss),
        summarize(rss.map(() => bytes / MB)),
      ),
    };
  } finally {
    await stopAll(servers);
    await Deno.remove(dir, { recursive: true });
  }
}
