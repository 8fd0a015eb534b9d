/** Tests of the client's bounded output capture (output_capture.ts) and byte sizes. Pure. */

import assert from "node:assert/strict";
import { OutputCapture, utf8Prefix } from "../lib/client/output_capture.ts";
import { parseByteSize } from "../lib/byte_size.ts";

/** Feed `chunks` ([stream, text]) to a capture and return what it kept. */
function capture(
  chunks: [("stdout" | "stderr"), string][],
  keepBytes: number,
  hash = true,
) {
  const c = new OutputCapture({ keepBytes, hash });
  for (const [stream, text] of chunks) c.add(stream, text);
  return c.result();
}

Deno.test("OutputCapture keeps small output whole and in order", () => {
  const r = capture([["stdout", "a\n"], ["stderr", "e\n"], ["stdout", "b\n"]], 100);
  assert.deepEqual(r, {
    stdout: "a\nb\n",
    stderr: "e\n",
    stdoutBytes: 4,
    stderrBytes: 2,
    shortened: false,
  });
});

Deno.test("OutputCapture keeps the start of a long output and counts all of it", async (t) => {
  await t.step("cut in the middle of a chunk; later chunks are counted, not kept", () => {
    const r = capture([["stdout", "0123456789"], ["stdout", "abc"], ["stderr", "x"]], 4);
    assert.equal(r.stdout, "0123");
    assert.equal(r.stderr, "");
    assert.equal(r.stdoutBytes, 13);
    assert.equal(r.stderrBytes, 1);
    assert.equal(r.shortened, true);
  });
  await t.step("a character is never cut in half", () => {
    const r = capture([["stdout", "aé€😀"]], 4);
    assert.equal(r.stdout, "aé");
    assert.equal(r.stdoutBytes, 1 + 2 + 3 + 4);
    assert.equal(utf8Prefix("😀x", 3), "");
    assert.equal(utf8Prefix("😀x", 5), "😀x");
  });
  await t.step("a budget of 0 keeps nothing but the counts", () => {
    const r = capture([["stdout", "abc"], ["stderr", "de"]], 0, false);
    assert.deepEqual(r, {
      stdout: "",
      stderr: "",
      stdoutBytes: 3,
      stderrBytes: 2,
      shortened: true,
    });
  });
});

Deno.test("OutputCapture digests tell identical long outputs from different ones", async (t) => {
  const long = "line of output\n".repeat(1000);
  await t.step("the same output in other chunks and interleavings has the same digest", () => {
    const a = capture([["stderr", "warn\n"], ["stdout", long]], 100);
    const b = capture(
      [["stdout", long.slice(0, 7)], ["stdout", long.slice(7, 5000)], ["stderr", "warn\n"], [
        "stdout",
        long.slice(5000),
      ]],
      100,
    );
    assert.ok(a.digest !== undefined);
    assert.equal(a.digest, b.digest);
    // What was kept differs (stderr took part of a's budget), the identity does not.
    assert.ok(long.startsWith(a.stdout) && long.startsWith(b.stdout));
    assert.notEqual(a.stdout, b.stdout);
  });
  await t.step("one byte different at the end: another digest", () => {
    const a = capture([["stdout", long]], 100);
    const b = capture([["stdout", long.slice(0, -1) + "!"]], 100);
    assert.notEqual(a.digest, b.digest);
  });
  await t.step("the same stdout with another stderr: another digest", () => {
    const a = capture([["stdout", long], ["stderr", "x"]], 100);
    const b = capture([["stdout", long], ["stderr", "y"]], 100);
    assert.notEqual(a.digest, b.digest);
  });
  await t.step("no digest without hashing or when nothing was cut", () => {
    assert.equal(capture([["stdout", long]], 100, false).digest, undefined);
    assert.equal(capture([["stdout", long]], 1e9).digest, undefined);
  });
});

Deno.test("parseByteSize() takes bytes and binary units", async (t) => {
  await t.step("valid sizes", () => {
    const cases: [string, number][] = [
      ["0", 0],
      ["1048576", 1048576],
      ["64k", 65536],
      ["64K", 65536],
      ["64KiB", 65536],
      ["64kb", 65536],
      ["1m", 1048576],
      ["1MiB", 1048576],
      ["2g", 2 * 1024 ** 3],
      ["512b", 512],
      [" 8k ", 8192],
    ];
    for (const [text, bytes] of cases) assert.equal(parseByteSize(text), bytes, text);
  });
  await t.step("refused with a clear message", () => {
    for (const text of ["", "k", "-1", "1.5m", "1p", "64 kilobytes", "0x10"]) {
      assert.throws(() => parseByteSize(text), SyntaxError, text);
    }
    assert.throws(() => parseByteSize("9999999999999g"), RangeError);
    assert.throws(
      () => parseByteSize("lots"),
      { message: '"lots" is not a size: write bytes (65536) or 64k, 1m, 2g' },
    );
  });
});
