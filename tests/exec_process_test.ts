import assert from "node:assert/strict";
import { LIMITS } from "../lib/protocol/constants.ts";
import {
  DRAIN_AFTER_EXIT_MS,
  type OutputStream,
  type RunOptions,
  runProcess,
  SpawnError,
  splitUtf8,
  windowsKillArgv,
} from "../lib/exec/process.ts";

interface Chunk {
  stream: OutputStream;
  text: string;
  at: number;
}

/** Run `sh -c script`, collecting every chunk with its arrival time. */
async function runSh(script: string, opts: Partial<RunOptions> = {}) {
  const chunks: Chunk[] = [];
  const start = performance.now();
  const result = await runProcess({
    cmd: "sh",
    args: ["-c", script],
    timeoutMs: 10_000,
    maxOutputBytes: LIMITS.execOutputBytes,
    onOutput: (stream, text) => {
      chunks.push({ stream, text, at: performance.now() - start });
    },
    ...opts,
  });
  const text = (stream: OutputStream) =>
    chunks.filter((c) => c.stream === stream).map((c) => c.text).join("");
  return { result, chunks, stdout: text("stdout"), stderr: text("stderr") };
}

/**
 * Whether a process has exited; a zombie counts as exited, since this sandbox's
 * PID 1 may never reap orphans. /proc needs --allow-all in Deno, so `cat` reads it.
 */
async function isGone(pid: number): Promise<boolean> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/stat`],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) return true;
  const stat = new TextDecoder().decode(out.stdout);
  // The state letter follows the parenthesised command name.
  return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
}

/** Poll until every pid has exited, or fail after `ms`. */
async function assertAllGone(pids: number[], ms = 2_000): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    const alive = [];
    for (const pid of pids) if (!await isGone(pid)) alive.push(pid);
    if (alive.length === 0) return;
    if (performance.now() > deadline) assert.fail(`Processes still running: ${alive.join(" ")}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function pidsIn(text: string): number[] {
  const pids = text.trim().split(/\s+/).map(Number);
  assert.ok(pids.length > 0 && pids.every((pid) => Number.isInteger(pid) && pid > 1), text);
  return pids;
}

Deno.test("runProcess() streams output while the process is still running", async () => {
  const { result, chunks, stdout } = await runSh("echo first; sleep 1; echo second");
  assert.equal(stdout, "first\nsecond\n");
  const first = chunks.find((c) => c.text.includes("first"));
  assert.ok(first, "no chunk with 'first'");
  assert.ok(!first.text.includes("second"), "'first' was held back until the end");
  assert.ok(first.at < 700, `'first' arrived after ${first.at} ms`);
  assert.ok(result.durationMs >= 1000, `process took only ${result.durationMs} ms`);
});

Deno.test("runProcess() reports the exit code", async () => {
  const { result } = await runSh("exit 7");
  assert.equal(result.exitCode, 7);
  assert.equal(result.signal, null);
  assert.equal(result.timedOut, false);
  assert.equal(result.cancelled, false);
  assert.equal(result.truncated, false);
  assert.equal(result.droppedBytes, 0);
});

Deno.test("runProcess() reports the signal that ended the process", async () => {
  const { result } = await runSh("kill -KILL $$");
  assert.equal(result.signal, "SIGKILL");
  assert.equal(result.exitCode, null);
});

Deno.test("runProcess() kills the whole process group on timeout", async () => {
  const { result, stdout } = await runSh(
    "sleep 30 & a=$!; sleep 30 & b=$!; echo $$ $a $b; wait",
    { timeoutMs: 300, killGraceMs: 5_000 },
  );
  assert.equal(result.timedOut, true);
  assert.equal(result.cancelled, false);
  assert.equal(result.signal, "SIGTERM");
  // Everyone obeyed SIGTERM, so the call did not sit out the grace period.
  assert.ok(result.durationMs < 3_000, `took ${result.durationMs} ms`);
  await assertAllGone(pidsIn(stdout));
});

Deno.test("runProcess() sends SIGKILL to a group that ignores SIGTERM", async () => {
  const { result, stdout } = await runSh(
    "trap '' TERM; sleep 30 & a=$!; echo $$ $a; wait; wait",
    { timeoutMs: 200, killGraceMs: 300 },
  );
  assert.equal(result.timedOut, true);
  assert.equal(result.signal, "SIGKILL");
  assert.ok(result.durationMs >= 450, `took only ${result.durationMs} ms`);
  await assertAllGone(pidsIn(stdout));
});

Deno.test("runProcess() stops the process tree when the signal aborts", async (t) => {
  await t.step("abort while running", async () => {
    const controller = new AbortController();
    const running = runSh("sleep 30 & a=$!; echo $$ $a; wait", {
      signal: controller.signal,
      onOutput: () => controller.abort(),
    });
    const { result } = await running;
    assert.equal(result.cancelled, true);
    assert.equal(result.timedOut, false);
    assert.equal(result.signal, "SIGTERM");
  });
  await t.step("already aborted: nothing is started", async () => {
    const { result, chunks } = await runSh("echo should-not-run", {
      signal: AbortSignal.abort(),
    });
    assert.equal(result.cancelled, true);
    assert.equal(result.exitCode, null);
    assert.deepEqual(chunks, []);
  });
});

Deno.test("runProcess() reaps pids recorded from an aborted tree", async () => {
  const controller = new AbortController();
  let pids = "";
  const result = await runProcess({
    cmd: "sh",
    args: ["-c", "sleep 30 & a=$!; sleep 30 & b=$!; echo $$ $a $b; wait"],
    timeoutMs: 10_000,
    maxOutputBytes: 1000,
    signal: controller.signal,
    onOutput: (_stream, text) => {
      pids += text;
      if (pids.endsWith("\n")) controller.abort();
    },
  });
  assert.equal(result.cancelled, true);
  await assertAllGone(pidsIn(pids));
});

Deno.test("runProcess() caps output and counts the dropped bytes of the read past it", async (t) => {
  await t.step("one stream", async () => {
    const { result, stdout } = await runSh("head -c 100000 /dev/zero", { maxOutputBytes: 1000 });
    assert.equal(stdout, "\0".repeat(1000));
    assert.equal(result.truncated, true);
    // Reading stops at the cap: what was dropped is the rest of that one read, never all of it.
    assert.ok(result.droppedBytes > 0 && result.droppedBytes <= 99_000, `${result.droppedBytes}`);
    assert.equal(result.timedOut, false);
  });
  await t.step("stdout and stderr share the cap", async () => {
    const { result, stdout, stderr } = await runSh(
      "head -c 600 /dev/zero; sleep 0.2; head -c 600 /dev/zero >&2",
      { maxOutputBytes: 1000 },
    );
    assert.equal(stdout.length + stderr.length, 1000);
    assert.equal(result.droppedBytes, 200);
  });
  await t.step("a character is never cut in half at the cap", async () => {
    // 'a' then 'é' (two bytes): a cap of 2 leaves room for 'a' only.
    const { result, stdout } = await runSh("printf 'a\\303\\251'", { maxOutputBytes: 2 });
    assert.equal(stdout, "a");
    assert.equal(result.droppedBytes, 2);
  });
  await t.step("output at exactly the cap is not truncated", async () => {
    const { result, stdout } = await runSh("printf 12345", { maxOutputBytes: 5 });
    assert.equal(stdout, "12345");
    assert.equal(result.truncated, false);
    assert.equal(result.droppedBytes, 0);
  });
});

Deno.test("runProcess() stops a process whose output passes the cap", async (t) => {
  await t.step("yes ends at once, truncated, and its group is gone", async () => {
    const { result, stdout } = await runSh("echo $$; exec yes", { maxOutputBytes: 4096 });
    assert.equal(result.truncated, true);
    // Without the stop, yes runs to the 10 s timeout and the call ends timed out.
    assert.equal(result.timedOut, false);
    assert.equal(result.signal, "SIGTERM");
    assert.equal(stdout.length, 4096);
    await assertAllGone(pidsIn(stdout.split("\n")[0]!));
  });
  await t.step("a writer that ignores SIGTERM dies of the closed pipe", async () => {
    const { result, stdout } = await runSh(
      "trap '' TERM; echo $$; yes & echo $!; wait",
      { maxOutputBytes: 4096, killGraceMs: 60_000 },
    );
    assert.equal(result.truncated, true);
    assert.equal(result.timedOut, false);
    await assertAllGone(pidsIn(stdout.split("\n").slice(0, 2).join(" ")));
  });
});

Deno.test("runProcess() keeps stdout and stderr apart", async () => {
  const { stdout, stderr } = await runSh("echo out; echo err >&2; echo out2");
  assert.equal(stdout, "out\nout2\n");
  assert.equal(stderr, "err\n");
});

Deno.test("runProcess() decodes invalid UTF-8 as U+FFFD", async () => {
  const { stdout } = await runSh("printf 'a\\377b'");
  assert.equal(stdout, "a\uFFFDb");
});

Deno.test("runProcess() decodes a character split across two writes", async () => {
  const { stdout, chunks } = await runSh("printf '\\342\\202'; sleep 0.2; printf '\\254'");
  assert.equal(stdout, "€");
  assert.equal(chunks.length, 1, "the first half was sent on its own");
});

Deno.test("runProcess() sends chunks of at most LIMITS.outputChunkBytes, one at a time", async () => {
  let inFlight = 0;
  let total = 0;
  const sizes: number[] = [];
  const result = await runProcess({
    cmd: "sh",
    args: ["-c", "head -c 1000000 /dev/zero; head -c 300000 /dev/zero >&2"],
    timeoutMs: 10_000,
    maxOutputBytes: LIMITS.execOutputBytes,
    onOutput: async (_stream, text) => {
      assert.equal(inFlight, 0, "onOutput calls overlapped");
      inFlight++;
      sizes.push(text.length);
      total += text.length;
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight--;
    },
  });
  assert.equal(result.exitCode, 0);
  assert.equal(total, 1_300_000);
  assert.ok(Math.max(...sizes) <= LIMITS.outputChunkBytes, `largest chunk ${Math.max(...sizes)}`);
});

/** Run `cat` on a file holding `data`, collecting every stdout chunk. */
async function catBytes(data: Uint8Array): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "rmon-chunks-" });
  try {
    await Deno.writeFile(`${dir}/out`, data);
    const chunks: string[] = [];
    const result = await runProcess({
      cmd: "cat",
      args: [`${dir}/out`],
      timeoutMs: 10_000,
      maxOutputBytes: LIMITS.execOutputBytes,
      onOutput: (_stream, text) => {
        chunks.push(text);
      },
    });
    assert.equal(result.exitCode, 0);
    return chunks;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runProcess() keeps every chunk within LIMITS.outputChunkBytes of UTF-8", async (t) => {
  const encoder = new TextEncoder();
  const cases: [string, Uint8Array, string][] = [
    // 65536 is not a multiple of 3: reads end inside characters and the decoder carries bytes over.
    ["3-byte characters", encoder.encode("€".repeat(100_000)), "€".repeat(100_000)],
    [
      "4-byte characters, offset",
      encoder.encode("ab" + "😀".repeat(60_000)),
      "ab" + "😀".repeat(60_000),
    ],
    // Every invalid byte becomes U+FFFD: three bytes of UTF-8 for one byte read.
    ["invalid bytes", new Uint8Array(200_000).fill(0xff), "\uFFFD".repeat(200_000)],
    [
      "cut sequences",
      new Uint8Array(150_000).map((_, i) => i % 2 ? 0xe2 : 0x41),
      "A\uFFFD".repeat(75_000),
    ],
  ];
  for (const [what, data, expected] of cases) {
    await t.step(what, async () => {
      const chunks = await catBytes(data);
      for (const chunk of chunks) {
        const size = encoder.encode(chunk).length;
        assert.ok(size <= LIMITS.outputChunkBytes, `a chunk of ${size} bytes`);
        assert.ok(chunk.isWellFormed(), "a surrogate pair was split");
      }
      assert.ok(chunks.join("") === expected, "the text came through unchanged");
    });
  }
});

Deno.test("splitUtf8() cuts text into pieces of at most N bytes, between characters", async (t) => {
  const encoder = new TextEncoder();
  const cases: [string, string, number, string[]][] = [
    ["empty", "", 4, []],
    ["short text in one piece", "abc", 4, ["abc"]],
    ["ASCII", "abcdefghij", 4, ["abcd", "efgh", "ij"]],
    ["3-byte characters", "€€€", 4, ["€", "€", "€"]],
    ["3-byte characters, 7 bytes", "a€€€", 7, ["a€€", "€"]],
    ["a surrogate pair stays whole", "ab😀c", 5, ["ab", "😀c"]],
    ["a lone surrogate counts as U+FFFD (3 bytes)", "a\uD800bc", 4, ["a\uD800", "bc"]],
  ];
  for (const [what, text, max, pieces] of cases) {
    await t.step(what, () => {
      assert.deepEqual(splitUtf8(text, max), pieces);
      for (const piece of pieces) assert.ok(encoder.encode(piece).length <= max);
    });
  }
  await t.step("refuses a limit below one character", () => {
    assert.throws(() => splitUtf8("x", 3), RangeError);
  });
});

Deno.test("runProcess() stops the tree and rejects when onOutput throws", async () => {
  const failure = new Error("socket gone");
  const start = performance.now();
  await assert.rejects(
    runProcess({
      cmd: "sh",
      args: ["-c", "while :; do echo flood; done"],
      timeoutMs: 10_000,
      maxOutputBytes: LIMITS.execOutputBytes,
      onOutput: () => {
        throw failure;
      },
    }),
    (err) => err === failure,
  );
  assert.ok(performance.now() - start < 3_000);
});

Deno.test("runProcess() throws SpawnError when the program does not exist", async () => {
  await assert.rejects(
    runProcess({
      cmd: "rmon-no-such-program",
      args: [],
      timeoutMs: 1_000,
      maxOutputBytes: 1000,
      onOutput: () => {},
    }),
    (err) => {
      assert.ok(err instanceof SpawnError);
      assert.equal(err.cmd, "rmon-no-such-program");
      assert.equal(err.message, 'Cannot start "rmon-no-such-program": command not found');
      assert.ok(err.cause instanceof Deno.errors.NotFound);
      return true;
    },
  );
});

Deno.test("runProcess() gives the child a closed stdin", async () => {
  const { result, stdout } = await runSh("cat; echo done");
  assert.equal(stdout, "done\n");
  assert.equal(result.exitCode, 0);
  assert.ok(result.durationMs < 2_000);
});

Deno.test("runProcess() gives the child a minimal environment, never an RMON_ variable", async (t) => {
  const saved = ["RMON_TOKEN", "SOME_OTHER_VAR"].map((name) => [name, Deno.env.get(name)] as const);
  Deno.env.set("RMON_TOKEN", "secret-from-server-env");
  Deno.env.set("SOME_OTHER_VAR", "server-only");
  try {
    await t.step("by default: the minimal set of the server's environment", async () => {
      const { stdout } = await runSh("env");
      assert.doesNotMatch(stdout, /RMON_TOKEN|secret|SOME_OTHER_VAR/);
      assert.match(stdout, /^PATH=/m);
    });
    await t.step("a given environment, minus RMON_* in any case", async () => {
      const { stdout } = await runSh("env", {
        env: { PATH: Deno.env.get("PATH")!, rmon_token: "secret-from-options", KEPT: "kept" },
      });
      assert.doesNotMatch(stdout, /rmon_token|secret|SOME_OTHER_VAR/);
      assert.match(stdout, /^KEPT=kept$/m);
      assert.match(stdout, /^PATH=/m);
    });
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
});

Deno.test("runProcess() does not wait for a background job that keeps the pipes open", async () => {
  const { result, stdout } = await runSh("sleep 30 & echo $!", { killGraceMs: 5_000 });
  assert.equal(result.exitCode, 0);
  assert.equal(result.timedOut, false);
  assert.ok(result.durationMs < DRAIN_AFTER_EXIT_MS + 1_500, `took ${result.durationMs} ms`);
  await assertAllGone(pidsIn(stdout));
});

Deno.test("runProcess() stops listening to a process that left the group", async () => {
  // setsid takes the sleep out of our process group, so no signal of ours reaches it.
  const { result, stdout } = await runSh("setsid sleep 30 & echo $!", { killGraceMs: 200 });
  const [pid] = pidsIn(stdout);
  try {
    assert.equal(result.exitCode, 0);
    assert.ok(result.durationMs < 2 * DRAIN_AFTER_EXIT_MS + 1_000, `took ${result.durationMs} ms`);
  } finally {
    if (pid !== undefined) Deno.kill(pid, "SIGKILL");
  }
});

Deno.test("runProcess() lets output written just after the main process exits through", async () => {
  const { stdout } = await runSh("(sleep 0.05; echo late) & echo early");
  assert.equal(stdout, "early\nlate\n");
});

Deno.test("runProcess() refuses out-of-range options", async () => {
  const base = { cmd: "sh", args: ["-c", "true"], onOutput: () => {} };
  await assert.rejects(runProcess({ ...base, timeoutMs: 0, maxOutputBytes: 1 }), RangeError);
  await assert.rejects(runProcess({ ...base, timeoutMs: 2 ** 31, maxOutputBytes: 1 }), RangeError);
  await assert.rejects(runProcess({ ...base, timeoutMs: 1000, maxOutputBytes: -1 }), RangeError);
});

Deno.test("windowsKillArgv() kills the tree by force", () => {
  assert.deepEqual(windowsKillArgv(4242), { cmd: "taskkill", args: ["/pid", "4242", "/T", "/F"] });
  assert.throws(() => windowsKillArgv(0), RangeError);
  assert.throws(() => windowsKillArgv(1.5), RangeError);
});
