/** Tests of the fan-out view's output modes, gathered blocks and folded failure lines. */

import assert from "node:assert/strict";
import {
  FanoutView,
  MAX_HELD_LINE,
  type OutputMode,
  type ViewSink,
} from "../lib/client/views/fanout.ts";
import { PlainStreamView } from "../lib/client/views/plain_stream.ts";
import { OutputCapture } from "../lib/client/output_capture.ts";
import type { HostResult } from "../lib/client/fleet.ts";

/** A sink that records what a view writes, without colour or progress. */
function sink(): ViewSink & { text: () => string } {
  const parts: string[] = [];
  return {
    out: (t) => parts.push(t),
    status: () => {},
    color: false,
    progress: false,
    escape: false,
    width: 80,
    text: () => parts.join(""),
  };
}

const exec = { kind: "exec", shell: "sh", command: "x" } as const;

function ran(host: string, stdout: string, exitCode = 0, stderr = ""): HostResult {
  return {
    host,
    status: exitCode === 0 ? "ok" : "nonzero",
    exitCode,
    stdout,
    stderr,
    durationMs: 1,
  };
}

/** Feed `results` to a view in `mode` as a run would (output, result, finish); returns the text. */
function show(mode: OutputMode, results: HostResult[]): string {
  const s = sink();
  const view = new FanoutView(s, exec, results.map((r) => r.host), mode);
  for (const r of results) {
    if (r.stdout) view.output(r.host, "stdout", r.stdout);
    if (r.stderr) view.output(r.host, "stderr", r.stderr);
    view.result(r);
  }
  view.finish(results);
  return s.text();
}

const HEADER = /^-+ .+ \(\d+\) -+$/m;

Deno.test("FanoutView output modes: both, gather only, stream only", async (t) => {
  const differ = [ran("web1", "one\n"), ran("web2", "two\n")];
  const agree = [ran("web1", "same\n"), ran("web2", "same\n"), ran("web3", "other\n")];
  await t.step("both: streamed; blocks only when some hosts agree", () => {
    const all = show("both", differ);
    assert.match(all, /^web1 \| one$/m);
    assert.doesNotMatch(all, HEADER);
    const some = show("both", agree);
    assert.match(some, /^web1 \| same$/m);
    assert.match(some, /^-+ web\[1-2\] \(2\) -+\nsame\n-+ web3 \(1\) -+\nother$/m);
  });
  await t.step("gather: no stream, a block per host even when every output differs", () => {
    const text = show("gather", differ);
    assert.doesNotMatch(text, / \| /);
    assert.match(text, /^-+ web1 \(1\) -+\none\n-+ web2 \(1\) -+\ntwo$/m);
    assert.match(text, /2 hosts: 2 ok/);
  });
  await t.step("gather: identical outputs once, under the folded host list", () => {
    const text = show("gather", agree);
    assert.match(text, /^-+ web\[1-2\] \(2\) -+\nsame\n-+ web3 \(1\) -+\nother$/m);
  });
  await t.step("stream: lines only, no blocks even when hosts agree", () => {
    const text = show("stream", agree);
    assert.match(text, /^web2 \| same$/m);
    assert.doesNotMatch(text, HEADER);
    assert.match(text, /3 hosts: 3 ok/);
  });
});

Deno.test("FanoutView marks stderr in gathered blocks", () => {
  const text = show("gather", [
    ran("web1", "out\n", 1, "bad\nworse\n"),
    ran("web2", "out\n", 1, "bad\nworse\n"),
    ran("web3", "out\nbad\nworse\n", 1),
    ran("web4", "", 1, "only err"),
  ]);
  assert.match(text, /^-+ web\[1-2\] \(2\) -+\nout\n\[stderr\] bad\n\[stderr\] worse$/m);
  assert.match(text, /^-+ web3 \(1\) -+\nout\nbad\nworse$/m, "stdout alone is not marked");
  assert.match(text, /^-+ web4 \(1\) -+\n\[stderr\] only err$/m);
});

Deno.test("FanoutView folds hosts that failed the same way into one line", () => {
  const text = show("both", [
    ran("web1", "", 3),
    ran("web2", "", 3),
    ran("web3", "", 3),
    ran("web4", "", 4),
    { host: "db1", status: "unreachable", error: "connection refused", durationMs: 0 },
    { host: "db2", status: "unreachable", error: "connection refused", durationMs: 0 },
  ]);
  assert.match(text, /^web\[1-3\]: exit code 3$/m);
  assert.match(text, /^web4: exit code 4$/m);
  assert.match(text, /^db\[1-2\]: unreachable: connection refused$/m);
  assert.doesNotMatch(text, /^web1: /m);
});

Deno.test("FanoutView shows no (no output) block for hosts cut short", () => {
  const results: HostResult[] = [
    ran("web1", ""),
    { host: "web2", status: "timeout", stdout: "", stderr: "", durationMs: 9, error: "timed out" },
    { host: "web3", status: "cancelled", stdout: "", stderr: "", durationMs: 9 },
    { host: "web4", status: "timeout", stdout: "half\n", stderr: "", durationMs: 9 },
  ];
  const text = show("gather", results);
  assert.match(text, /^-+ web1 \(1\) -+\n\(no output\)$/m);
  assert.doesNotMatch(text, /web\[1-3\] \(|web2 \(|web3 \(/);
  assert.match(text, /^-+ web4 \(1\) -+\nhalf$/m, "what a timed-out host printed is kept");
});

/** A host's result as the fleet gives it when only the start of its output was kept. */
function shortened(host: string, whole: string, keep: number): HostResult {
  const c = new OutputCapture({ keepBytes: keep, hash: true });
  c.add("stdout", whole);
  const kept = c.result();
  return {
    ...ran(host, kept.stdout),
    stdoutBytes: kept.stdoutBytes,
    stderrBytes: kept.stderrBytes,
    outputShortened: true,
    outputDigest: kept.digest,
  };
}

Deno.test("FanoutView gathers long outputs by digest and notes the shortened block", async (t) => {
  const long = "0123456789\n".repeat(200);
  await t.step("identical long outputs: one block of the kept start, with a note", () => {
    const text = show("gather", [
      shortened("web1", long, 22),
      shortened("web2", long, 22),
      shortened("web3", long.slice(0, -2) + "!\n", 22),
    ]);
    assert.match(
      text,
      /^-+ web\[1-2\] \(2\) -+\n0123456789\n0123456789\n\[shortened: the first 22 B of 2\.1 KiB shown\]$/m,
    );
    // Same start, other end: not gathered with them.
    assert.match(text, /^-+ web3 \(1\) -+\n0123456789\n0123456789\n\[shortened: /m);
  });
  await t.step("a shortened output never joins a whole one that looks the same", () => {
    const text = show("gather", [shortened("web1", long, 22), ran("web2", long.slice(0, 22))]);
    assert.match(text, /^-+ web1 \(1\) -+$/m);
    assert.match(text, /^-+ web2 \(1\) -+$/m);
  });
});

Deno.test("FanoutView shows a line without end in pieces instead of holding it", () => {
  const s = sink();
  const view = new FanoutView(s, exec, ["web1"], "stream");
  const piece = "x".repeat(MAX_HELD_LINE / 2);
  for (let i = 0; i < 6; i++) view.output("web1", "stdout", piece);
  // Held up to the limit, then shown: three lines out before the end, none longer than twice it.
  const shown = s.text().split("\n").filter((l) => l !== "");
  assert.ok(shown.length >= 2, `${shown.length} lines shown before the end`);
  for (const line of shown) assert.ok(line.length <= 2 * MAX_HELD_LINE + 10);
  view.result(ran("web1", ""));
  view.finish([ran("web1", "")]);
  const all = s.text().split("\n").filter((l) => l.startsWith("web1 | ")).map((l) => l.slice(7));
  assert.equal(all.join(""), piece.repeat(6), "nothing lost");
});

Deno.test("FanoutView streams each host's lines in order, however the chunks fall", () => {
  const s = sink();
  const view = new FanoutView(s, exec, ["a", "b"], "stream");
  const lines = Array.from({ length: 500 }, (_, i) => `${i}\n`).join("");
  const chunks = (size: number) =>
    Array.from(
      { length: Math.ceil(lines.length / size) },
      (_, i) => lines.slice(i * size, (i + 1) * size),
    );
  // Both hosts send the same lines cut differently, their chunks interleaved.
  const [ofA, ofB] = [chunks(7), chunks(13)];
  for (let i = 0; i < Math.max(ofA.length, ofB.length); i++) {
    if (ofA[i]) view.output("a", "stdout", ofA[i]!);
    if (ofB[i]) view.output("b", "stdout", ofB[i]!);
  }
  const of = (host: string) =>
    s.text().split("\n").filter((l) => l.startsWith(`${host} | `)).map((l) => l.slice(4));
  const expected = Array.from({ length: 500 }, (_, i) => String(i));
  assert.deepEqual(of("a"), expected);
  assert.deepEqual(of("b"), expected);
});

Deno.test("PlainStreamView passes output through and reports only failures, on stderr", () => {
  const out: string[] = [];
  const err: string[] = [];
  const view = new PlainStreamView({
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    color: false,
    escape: false,
    escapeErr: false,
  });
  view.output("web1", "stdout", "no newline, \x1b[31m as is");
  view.output("web1", "stderr", "warn\n");
  view.output("web1", "stdout", " more");
  view.finish([ran("web1", "", 0)]);
  assert.equal(out.join(""), "no newline, \x1b[31m as is more");
  assert.equal(err.join(""), "warn\n");
  view.finish([{ ...ran("web1", "", 3), truncated: true }]);
  assert.equal(
    err.join(""),
    "warn\nweb1: output truncated at the server's cap\nweb1: exit code 3\n",
  );
});
