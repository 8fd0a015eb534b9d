/** Tests of the terminal escaping of remote output: the pure function and the fan-out view. */

import assert from "node:assert/strict";
import { escapeControls } from "../lib/client/views/escape_controls.ts";
import { FanoutView, type ViewSink } from "../lib/client/views/fanout.ts";
import type { HostResult } from "../lib/client/fleet.ts";

Deno.test("escapeControls() shows hostile control characters as \\xHH", async (t) => {
  const cases: [string, string, string][] = [
    ["plain text", "hello, world\n", "hello, world\n"],
    ["tab and newline", "a\tb\nc\n", "a\tb\nc\n"],
    ["CR before LF", "dos line\r\n", "dos line\r\n"],
    ["lone CR (overwrites the line)", "safe\rEVIL", "safe\\x0dEVIL"],
    ["CR at the end", "progress\r", "progress\\x0d"],
    ["OSC 52 clipboard write", "\x1b]52;c;cm0gLXJmIH4K\x07", "\\x1b]52;c;cm0gLXJmIH4K\\x07"],
    ["set-title", "\x1b]0;pwned\x1b\\", "\\x1b]0;pwned\\x1b\\"],
    ["CSI cursor move and clear", "\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"],
    ["BEL", "ding\x07", "ding\\x07"],
    ["NUL, backspace, vertical tab, form feed", "\0\b\v\f", "\\x00\\x08\\x0b\\x0c"],
    ["DEL", "x\x7f", "x\\x7f"],
    ["C1 CSI U+009B", "\u009b2J", "\\x9b2J"],
    ["C1 range ends", "\u0080\u009f", "\\x80\\x9f"],
    ["just past C1 stays", "\u00a0é", "\u00a0é"],
    ["unicode text stays", "naïve 日本 🙂\n", "naïve 日本 🙂\n"],
  ];
  for (const [name, input, want] of cases) {
    await t.step(name, () => assert.equal(escapeControls(input), want));
  }
});

/** A sink that records what a view writes. */
function sink(escape: boolean): ViewSink & { text: () => string } {
  const parts: string[] = [];
  return {
    out: (t) => parts.push(t),
    status: () => {},
    color: false,
    progress: false,
    escape,
    width: 80,
    text: () => parts.join(""),
  };
}

const exec = { kind: "exec", shell: "sh", command: "x" } as const;

function ok(host: string, stdout: string): HostResult {
  return { host, status: "ok", exitCode: 0, stdout, stderr: "", durationMs: 1 } as HostResult;
}

Deno.test("FanoutView escapes remote control characters only when told", async (t) => {
  const hostile = "title\x1b]0;x\x07 ok\r\nover\rwrite\n";
  await t.step("on a terminal: streamed and gathered text escaped", () => {
    const s = sink(true);
    const view = new FanoutView(s, exec, ["a", "b"]);
    view.output("a", "stdout", hostile);
    view.output("b", "stdout", hostile);
    const results = [ok("a", hostile), ok("b", hostile)];
    for (const r of results) view.result(r);
    view.finish(results);
    const text = s.text();
    assert.ok(!text.includes("\x1b") && !text.includes("\x07"), text);
    assert.match(text, /a \| title\\x1b\]0;x\\x07 ok\r\n/);
    assert.match(text, /a \| over\\x0dwrite\n/);
    assert.match(text, /\(2\) -+\ntitle\\x1b\]0;x\\x07 ok\r\nover\\x0dwrite\n/);
  });
  await t.step("raw: bytes unchanged", () => {
    const s = sink(false);
    const view = new FanoutView(s, exec, ["a"]);
    view.output("a", "stdout", hostile);
    view.result(ok("a", hostile));
    view.finish([ok("a", hostile)]);
    assert.ok(s.text().includes("title\x1b]0;x\x07 ok"), s.text());
    assert.match(s.text(), /over\rwrite/);
  });
  await t.step("a last line without newline keeps a trailing CR escaped", () => {
    const s = sink(true);
    const view = new FanoutView(s, exec, ["a"]);
    view.output("a", "stdout", "50%\r");
    view.result(ok("a", "50%\r"));
    assert.match(s.text(), /a \| 50%\\x0d\n/);
  });
});
