/**
 * The fleet-size section of `deno task bench`: thousands of hosts from one
 * client. Runs `bench/scale_ns.ts` in a private network namespace
 * (`unshare -n`, root on Linux), where a few server processes bound to 0.0.0.0
 * answer on every 127.X.Y.Z and so stand for thousands of distinct hosts; its
 * figures come back as one JSON line. Where `unshare -n` cannot run, the
 * section is skipped with a printed note saying why, and the run records it.
 * @module
 */

import { type BenchConfig, type Figure } from "./report.ts";

const INSIDE = new URL("./scale_ns.ts", import.meta.url).pathname;

/** What the section measured, or why it could not. */
export type ScaleOutcome =
  | { figures: Record<string, Figure> }
  | { skipped: string };

/** Why `unshare -n` cannot make a namespace here, or null when it can. */
async function unshareProblem(): Promise<string | null> {
  if (Deno.build.os !== "linux") return `network namespaces need Linux, not ${Deno.build.os}`;
  try {
    const out = await new Deno.Command("unshare", {
      args: ["-n", "true"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      return `unshare -n failed (root needed): ${new TextDecoder().decode(out.stderr).trim()}`;
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "no unshare command";
    throw err;
  }
  try {
    // Inside, `ip link set lo up` brings the namespace's loopback up.
    const ip = await new Deno.Command("ip", { args: ["-V"], stdout: "null", stderr: "null" })
      .output();
    return ip.success ? null : "ip -V failed";
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "no ip command (iproute2)";
    throw err;
  }
}

/** The `scale_ns.ts` arguments of `cfg`. */
export function scaleArgs(cfg: BenchConfig): string[] {
  const s = cfg.scale;
  return [
    "--sizes",
    s.sizes.join(","),
    "--servers",
    String(s.servers),
    "--reps",
    String(s.reps),
    "--hold",
    s.hold.join(","),
    "--warm-reps",
    String(s.warmReps),
    "--watch-rounds",
    String(s.watchRounds),
    "--idle-seconds",
    String(s.idleSeconds),
    "--idle-wait",
    String(s.idleWait),
    "--tls-size",
    String(s.tlsSize),
    ...s.checks.flatMap((c) => ["--check", `${c.n}:${c.fanout}:${c.runs}`]),
  ];
}

/** Run the section; `progress` hears why it was skipped. */
export async function measureScale(
  cfg: BenchConfig,
  progress: (text: string) => void,
): Promise<ScaleOutcome> {
  const problem = await unshareProblem();
  if (problem !== null) {
    progress(`scale section skipped: ${problem}`);
    return { skipped: problem };
  }
  const out = await new Deno.Command("unshare", {
    args: ["-n", Deno.execPath(), "run", "-A", INSIDE, ...scaleArgs(cfg)],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`Cannot measure fleet sizes: exit ${out.code}\n${text}`);
  const result = JSON.parse(text.split("\n").pop()!) as { figures: Record<string, Figure> };
  return { figures: result.figures };
}
