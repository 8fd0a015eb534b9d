import assert from "node:assert/strict";
import { compileGlob, globProblem, parseGlob } from "../lib/grammar/glob.ts";

Deno.test("parseGlob() reads wildcards, classes and numeric brackets", () => {
  assert.deepEqual(parseGlob("w[!a-c]?[1-3,05]*"), [
    { kind: "literal", index: 0, char: "w" },
    { kind: "class", index: 1, text: "[!a-c]", negate: true, members: ["a-c"] },
    { kind: "any", index: 7 },
    {
      kind: "numbers",
      index: 8,
      spans: [{ lo: 1, hi: 3, width: 0 }, { lo: 5, hi: 5, width: 2 }],
    },
    { kind: "star", index: 16 },
  ]);
});

Deno.test("globProblem() says where and why a pattern is no glob", () => {
  const cases: [string, number, string][] = [
    ["web[1-3", 3, '"[" is never closed'],
    ["web]", 3, '"]" without "["'],
    ["web[]", 3, '"[]" matches nothing'],
    ["web[^]", 3, '"[]" matches nothing'],
    ["web[3-1]", 3, 'range "3-1" is backwards'],
    ["web[z-a]", 3, 'range "z-a" is backwards'],
    ["web!", 3, '"!" is only allowed after "["'],
  ];
  for (const [pattern, index, detail] of cases) {
    assert.deepEqual(globProblem(pattern), { index, detail }, pattern);
  }
  assert.equal(globProblem("web[1-3,5]"), undefined);
});

Deno.test("compileGlob() matches case-insensitively", () => {
  assert.equal(compileGlob("WEB[a-c]*")("webB.example"), true);
  assert.equal(compileGlob("web[^a-c]")("webB"), false);
});
