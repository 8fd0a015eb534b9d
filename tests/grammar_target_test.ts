import assert from "node:assert/strict";
import type { TargetItem, TargetOp } from "../lib/grammar/command.ts";
import { CommandSyntaxError } from "../lib/grammar/errors.ts";
import { parseTarget, TARGET_FORM } from "../lib/grammar/target.ts";

const item = (
  kind: TargetItem["kind"],
  value: string,
  exclude: boolean | TargetOp = false,
): TargetItem => ({
  op: exclude === true ? "exclude" : exclude === false ? "add" : exclude,
  kind,
  value,
});

Deno.test("parseTarget() reads names, globs, groups, all and exclusions", async (t) => {
  const cases: [string, TargetItem[], string][] = [
    ["web1", [item("name", "web1")], "web1"],
    ["ALL", [item("all", "all")], "ALL"],
    ["-all", [item("all", "all", true)], "-all"],
    ["db*", [item("glob", "db*")], "db*"],
    ["web?", [item("glob", "web?")], "web?"],
    ["web[1-3]", [item("glob", "web[1-3]")], "web[1-3]"],
    ["web[!0-9a]", [item("glob", "web[!0-9a]")], "web[!0-9a]"],
    // Folded host lists, as the client prints them, can be typed back in.
    ["web[1-3,5],db1", [item("glob", "web[1-3,5]"), item("name", "db1")], "web[1-3,5],db1"],
    ["n[08-12]", [item("glob", "n[08-12]")], "n[08-12]"],
    ["group:db", [item("group", "db")], "group:db"],
    ["GROUP:Db", [item("group", "Db")], "GROUP:Db"],
    ["-group:db", [item("group", "db", true)], "-group:db"],
    ["10.0.0.7:5050", [item("name", "10.0.0.7:5050")], "10.0.0.7:5050"],
    ["host_1.example-x", [item("name", "host_1.example-x")], "host_1.example-x"],
    [
      "web1,db*,group:db,-db2,all",
      [
        item("name", "web1"),
        item("glob", "db*"),
        item("group", "db"),
        item("name", "db2", true),
        item("all", "all"),
      ],
      "web1,db*,group:db,-db2,all",
    ],
    [" web1 , -db2 ", [item("name", "web1"), item("name", "db2", true)], "web1 , -db2"],
    // Intersection, Ansible's `:&`: with or without a comma before the `&`.
    [
      "group:web&group:prod",
      [item("group", "web"), item("group", "prod", "intersect")],
      "group:web&group:prod",
    ],
    ["web*,&db1", [item("glob", "web*"), item("name", "db1", "intersect")], "web*,&db1"],
    ["&group:prod", [item("group", "prod", "intersect")], "&group:prod"],
    [
      "web[1-3,5]&n[08-12],-web2",
      [
        item("glob", "web[1-3,5]"),
        item("glob", "n[08-12]", "intersect"),
        item("name", "web2", true),
      ],
      "web[1-3,5]&n[08-12],-web2",
    ],
    ["-db2&all", [item("name", "db2", true), item("all", "all", "intersect")], "-db2&all"],
  ];
  for (const [text, items, shown] of cases) {
    await t.step(JSON.stringify(text), () => {
      assert.deepEqual(parseTarget(text), { items, text: shown });
    });
  }
});

Deno.test("parseTarget() rejects bad targets at the right column", async (t) => {
  const cases: [string, number, RegExp][] = [
    ["", 0, /it is empty/],
    ["   ", 3, /it is empty/],
    [",", 0, /an item is empty/],
    ["web1,", 5, /an item is empty/],
    ["web1,,db1", 5, /an item is empty/],
    ["web1, ,db1", 6, /an item is empty/],
    ["-", 1, /nothing follows "-"/],
    ["web1,-", 6, /nothing follows "-"/],
    ["--web1", 1, /a name cannot start with "-"/],
    ["&", 1, /nothing follows "&"/],
    ["web1&", 5, /nothing follows "&"/],
    ["web1&&db1", 5, /nothing follows "&"/],
    ["web1, &", 7, /nothing follows "&"/],
    ["web1&-db1", 5, /a name cannot start with "-"/],
    ["web1&group:", 11, /a group name must follow "group:"/],
    ["-&web1", 1, /nothing follows "-"/],
    ["group:", 6, /a group name must follow "group:"/],
    ["web1,group:d*b", 12, /group "d\*b": character "\*" is not allowed/],
    ["web 1", 3, /character " " is not allowed/],
    ["a,b;c", 3, /"b;c": character ";" is not allowed/],
    ["@web1", 0, /character "@" is not allowed/],
    ["web[1-3", 3, /"\[" is never closed/],
    ["web]", 3, /"\]" without "\["/],
    ["web[]", 3, /"\[\]" matches nothing/],
    ["web[!]", 3, /"\[\]" matches nothing/],
    ["web[3-1]", 3, /range "3-1" is backwards/],
    ["web[a;]", 3, /has a bad character/],
    ["web!", 3, /"!" is only allowed after "\["/],
  ];
  for (const [text, position, message] of cases) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseTarget(text), (err) => {
        assert.ok(err instanceof CommandSyntaxError);
        assert.match(err.message, /^Cannot parse target/);
        assert.match(err.message, message);
        assert.equal(err.position, position);
        assert.equal(err.expected, TARGET_FORM);
        return true;
      });
    });
  }
  await t.step("offsets columns into the line", () => {
    assert.throws(() => parseTarget("a,,b", 7), (err) => {
      assert.ok(err instanceof CommandSyntaxError);
      assert.equal(err.position, 9);
      return true;
    });
  });
});
