import assert from "node:assert/strict";
import { CommandSyntaxError } from "../lib/grammar/errors.ts";
import { tokenize } from "../lib/grammar/tokenize.ts";

Deno.test("tokenize() splits words and reports their columns", async (t) => {
  const cases: [string, [string, number, number, boolean][]][] = [
    ["", []],
    ["   \t ", []],
    ["a", [["a", 0, 1, false]]],
    ["  ab\tcd  ", [["ab", 2, 4, false], ["cd", 5, 7, false]]],
    ['"a b"', [["a b", 0, 5, true]]],
    ["'a \"b\"'", [['a "b"', 0, 7, true]]],
    ['x"y z"w', [["xy zw", 0, 7, true]]],
    ['""', [["", 0, 2, true]]],
    ["a '' b", [["a", 0, 1, false], ["", 2, 4, true], ["b", 5, 6, false]]],
    ["C:\\dir\\x", [["C:\\dir\\x", 0, 8, false]]],
  ];
  for (const [input, want] of cases) {
    await t.step(JSON.stringify(input), () => {
      const got = tokenize(input).map((tok) => [tok.text, tok.start, tok.end, tok.quoted]);
      assert.deepEqual(got, want);
    });
  }
});

Deno.test("tokenize() adds the offset to every column", () => {
  assert.deepEqual(tokenize(" a b", 10), [
    { text: "a", start: 11, end: 12, quoted: false },
    { text: "b", start: 13, end: 14, quoted: false },
  ]);
});

Deno.test("tokenize() rejects an unclosed quote at the quote's column", async (t) => {
  const cases: [string, number, number, RegExp][] = [
    ['"abc', 0, 0, /double quote is never closed/],
    ["ok 'abc", 0, 3, /single quote is never closed/],
    ["ok a\"b 'c", 5, 9, /double quote is never closed/],
  ];
  for (const [input, offset, position, message] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.throws(() => tokenize(input, offset, '"ping"'), (err) => {
        assert.ok(err instanceof CommandSyntaxError);
        assert.equal(err.position, position);
        assert.match(err.message, /^Cannot parse "ping": /);
        assert.match(err.message, message);
        return true;
      });
    });
  }
});
