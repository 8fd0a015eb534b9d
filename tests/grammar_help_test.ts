import assert from "node:assert/strict";
import { COMMAND_SPECS } from "../lib/grammar/command_table.ts";
import {
  COMMAND_WORDS,
  completeCommandWord,
  findHelp,
  formatHelp,
  HELP_ENTRIES,
} from "../lib/grammar/help.ts";
import { parseLine } from "../lib/grammar/parse_line.ts";

Deno.test("HELP_ENTRIES covers every command once, plus the target topic", () => {
  const names = HELP_ENTRIES.map((e) => e.name);
  const typed = COMMAND_SPECS.filter((s) => s.words.length > 0);
  assert.deepEqual(names, [...typed.map((s) => s.name), "target"]);
  assert.equal(new Set(names).size, names.length);
  // Only the wire methods of watch, push and pull have no word, and so no help entry.
  const wireOnly = COMMAND_SPECS.filter((s) => s.words.length === 0).map((s) => s.name);
  assert.deepEqual(wireOnly, ["vitals", "upload", "download"]);
});

Deno.test("HELP_ENTRIES text is complete and tidy", async (t) => {
  for (const entry of HELP_ENTRIES) {
    await t.step(entry.name, () => {
      assert.ok(entry.usage.length > 0 && entry.usage.length <= 26, entry.usage);
      assert.ok(entry.summary.length > 0 && entry.summary.length <= 76, entry.summary);
      assert.doesNotMatch(entry.summary, /\.$/);
      assert.match(entry.summary, /^[A-Z]/);
      assert.ok(entry.detail.length > 0);
      for (const line of entry.detail.split("\n")) assert.ok(line.length <= 80, line);
      assert.ok(entry.words.length > 0);
    });
  }
  await t.step("remote entries are exactly the server commands", () => {
    const remote = HELP_ENTRIES.filter((e) => e.remote).map((e) => e.name);
    assert.deepEqual(remote, [
      "ram",
      "cpu",
      "load",
      "os",
      "name",
      "ip",
      "disk",
      "uptime",
      "net",
      "top",
      "info",
      "ping",
      "exec",
      "disconnect",
      "reset",
      "kill",
    ]);
  });
});

Deno.test("findHelp() finds topics by name or word, ignoring case and a trailing colon", async (t) => {
  const cases: [string, string | undefined][] = [
    ["ping", "ping"],
    ["PING", "ping"],
    [" ram ", "ram"],
    ["shutdown", "kill"],
    ["quit", "exit"],
    ["?", "help"],
    ["exec", "exec"],
    ["sh", "exec"],
    ["sh:", "exec"],
    ["DOS:", "exec"],
    ["cmd", "exec"],
    ["ps", "exec"],
    ["+", "select-add"],
    ["-", "select-remove"],
    ["@", "target"],
    ["targets", "target"],
    ["nope", undefined],
    ["", undefined],
    [":", undefined],
    ["__proto__", undefined],
    ["constructor", undefined],
  ];
  for (const [topic, name] of cases) {
    await t.step(JSON.stringify(topic), () => assert.equal(findHelp(topic)?.name, name));
  }
});

Deno.test("parseLine() accepts help for every topic word and names the same topic", async (t) => {
  for (const entry of HELP_ENTRIES) {
    for (const word of [entry.name, ...entry.words]) {
      await t.step(`help ${word}`, () => {
        assert.deepEqual(parseLine(`help ${word}`), {
          command: { kind: "help", topic: entry.name },
        });
      });
    }
  }
});

Deno.test("formatHelp() lists every command with its summary", () => {
  const text = formatHelp();
  for (const entry of HELP_ENTRIES) {
    assert.ok(text.includes(entry.usage), entry.usage);
    assert.ok(text.includes(entry.summary), entry.summary);
  }
  assert.ok(text.indexOf("ram") < text.indexOf("Console commands:"));
  assert.ok(text.indexOf("connect ADDR...") > text.indexOf("Console commands:"));
  for (const line of text.split("\n")) assert.ok(line.length <= 110, line);
  assert.ok(!text.includes("\x1b"), "no colour codes");
});

Deno.test("formatHelp() explains one topic", async (t) => {
  const cases: [string, string[]][] = [
    ["ping", ["ping HOST [COUNT]", "COUNT is a positive whole", "at most 10"]],
    ["shutdown", ["kill\n", "alias shutdown", "--read-only"]],
    ["help", ["help [COMMAND]", "Also: ?"]],
    ["sh:", ["sh:|cmd:|ps: COMMAND", "(also dos:)", "exactly as typed"]],
    ["@", ["@TARGET COMMAND", "group:NAME", "@all,-db2 uptime"]],
    ["watch", ["cpu, ram, load, disk, net, uptime, state"]],
  ];
  for (const [topic, parts] of cases) {
    await t.step(topic, () => {
      const text = formatHelp(topic);
      for (const part of parts) assert.ok(text.includes(part), `${part} not in:\n${text}`);
    });
  }
  await t.step("rejects an unknown topic", () => {
    assert.throws(() => formatHelp("nope"), RangeError);
    assert.throws(() => formatHelp("nope"), /^RangeError: Cannot show help: no topic "nope"$/);
  });
});

Deno.test("completeCommandWord() offers the command words with a prefix", async (t) => {
  const cases: [string, string[]][] = [
    ["p", ["ping", "ps:", "pull", "push"]],
    ["S", ["sh:", "shutdown"]],
    ["di", ["diff", "disconnect", "disk"]],
    ["exit", ["exit"]],
    ["zz", []],
    ["+", ["+"]],
  ];
  for (const [prefix, words] of cases) {
    await t.step(
      JSON.stringify(prefix),
      () => assert.deepEqual(completeCommandWord(prefix), words),
    );
  }
  await t.step("the empty prefix offers every word, sorted and unique", () => {
    const all = completeCommandWord("");
    assert.deepEqual(all, COMMAND_WORDS);
    assert.deepEqual(all, [...new Set(all)].sort());
    assert.ok(all.includes("dos:") && all.includes("quit") && all.includes("ram"));
  });
});

Deno.test("help target explains intersection, and every example parses", () => {
  const detail = findHelp("target")!.detail;
  assert.match(detail, /a leading & keeps only/);
  const examples = detail.slice(detail.indexOf("Examples:") + "Examples:".length)
    .split(/\n|\s{3,}/).map((e) => e.trim()).filter((e) => e !== "");
  assert.ok(examples.some((e) => e.includes("&")), examples.join(" | "));
  for (const example of examples) {
    const parsed = parseLine(example);
    assert.ok(parsed !== null && "target" in parsed && parsed.target, example);
  }
});
