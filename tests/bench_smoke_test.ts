/**
 * Smoke test of `deno task bench`: runs `bench/main.ts --quick` as a
 * subprocess with the task's own flags (read from deno.json) and checks that
 * the JSON it writes holds every figure, each as finite numbers. Never checks
 * how fast anything is: timings belong to the benchmark, not to tests.
 * @module
 */

import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { type BenchResults, figureKeys } from "../bench/report.ts";

/** Upper bound on the whole quick run; it normally takes well under half of this. */
const RUN_LIMIT_MS = 60_000;

const ROOT = new URL("../", import.meta.url);

Deno.test("bench/main.ts --quick writes every figure as finite numbers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-bench-smoke-" });
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), RUN_LIMIT_MS);
  try {
    const out = `${dir}/results.json`;
    const run = await new Deno.Command(Deno.execPath(), {
      // Through the task itself, so the run has exactly the bench task's flags.
      args: ["task", "--quiet", "bench", "--quick", "--out", out],
      cwd: fileURLToPath(ROOT),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: ac.signal,
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.ok(!ac.signal.aborted, `bench --quick ran past ${RUN_LIMIT_MS} ms:\n${stderr}`);
    assert.equal(run.code, 0, stderr);

    const results = JSON.parse(await Deno.readTextFile(out)) as BenchResults;
    assert.equal(results.quick, true);
    // A section that cannot run here (scale: no unshare -n) is named as skipped, not dropped.
    const expected = figureKeys(results.config, results.skipped);
    assert.deepEqual(Object.keys(results.figures), expected);
    // The TLS section (a --tls server pinned by the fingerprint in its banner) ran too.
    assert.ok(expected.includes("tls.connect.cold"), "figureKeys() lists the TLS figures");
    for (const [key, f] of Object.entries(results.figures)) {
      for (const field of ["value", "min", "max", "floor", "ratio"] as const) {
        assert.ok(Number.isFinite(f[field]), `${key}.${field} is ${f[field]}`);
      }
      assert.ok(f.samples.length >= 1 && f.samples.every(Number.isFinite), `${key}.samples`);
      assert.equal(f.reps, f.samples.length, `${key}.reps`);
      if (f.target) assert.equal(typeof f.met, "boolean", `${key}.met`);
    }
    const table = new TextDecoder().decode(run.stdout);
    for (const key of expected) assert.ok(table.includes(key), `the table lists ${key}`);
  } finally {
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true });
  }
});
