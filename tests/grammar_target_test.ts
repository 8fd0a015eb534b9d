import assert from "node:assert/strict";
import type { TargetItem } from "../lib/grammar/command.ts";
import { CommandSyntaxError } from "../lib/grammar/errors.ts";
import {
  matchGlob,
  parseTarget,
  resolveTarget,
  TARGET_FORM,
  type TargetHost,
} from "../lib/grammar/target.ts";

const item = (kind: TargetItem["kind"], value: string, exclude = false): TargetItem => ({
  exclude,
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

const HOSTS: TargetHost[] = [
  { name: "web1", groups: ["web", "prod"] },
  { name: "web2", groups: ["web"] },
  { name: "Web3", groups: ["web", "prod"] },
  { name: "db1", groups: ["DB", "prod"] },
  { name: "db2", groups: ["db"] },
  { name: "cache" },
];

Deno.test("resolveTarget() picks hosts: includes minus excludes, in host order", async (t) => {
  const cases: [string, string[], string[]][] = [
    ["all", ["web1", "web2", "Web3", "db1", "db2", "cache"], []],
    ["web1", ["web1"], []],
    ["WEB1", ["web1"], []],
    ["db2,web1", ["web1", "db2"], []],
    ["web*", ["web1", "web2", "Web3"], []],
    ["web[13]", ["web1", "Web3"], []],
    ["web[!1]", ["web2", "Web3"], []],
    ["?b?", ["db1", "db2"], []],
    ["group:db", ["db1", "db2"], []],
    ["group:prod,-db*", ["web1", "Web3"], []],
    ["-db2", ["web1", "web2", "Web3", "db1", "cache"], []],
    ["-db2,all", ["web1", "web2", "Web3", "db1", "cache"], []],
    ["all,-all", [], []],
    ["web1,web1", ["web1"], []],
    ["nope,web2", ["web2"], ["nope"]],
    ["-zzz*", ["web1", "web2", "Web3", "db1", "db2", "cache"], ["zzz*"]],
  ];
  for (const [text, names, unmatched] of cases) {
    await t.step(text, () => {
      const got = resolveTarget(parseTarget(text), HOSTS);
      assert.deepEqual(got.names, names);
      assert.deepEqual(got.unmatched.map((i) => i.value), unmatched);
    });
  }
  await t.step("reports unmatched includes and excludes alike", () => {
    const got = resolveTarget(parseTarget("group:none,web1,-zzz*"), HOSTS);
    assert.deepEqual(got.names, ["web1"]);
    assert.deepEqual(got.unmatched, [item("group", "none"), item("glob", "zzz*", true)]);
  });
  await t.step("an empty host list matches nothing", () => {
    const got = resolveTarget(parseTarget("all"), []);
    assert.deepEqual(got, { names: [], unmatched: [item("all", "all")] });
  });
});

Deno.test("matchGlob() matches whole names case-insensitively", async (t) => {
  const cases: [string, string, boolean][] = [
    ["web*", "web12", true],
    ["web*", "aweb1", false],
    ["w?b", "WEB", true],
    ["w?b", "web1", false],
    ["db.1", "db.1", true],
    ["db.1", "dbx1", false],
    ["web[0-9]", "web7", true],
    ["web[0-9]", "webx", false],
    ["web[^0-9]", "webx", true],
    ["a[-x]", "a-", true],
    ["web[", "web[", false],
    ["web[3-1]", "web2", false],
  ];
  for (const [pattern, name, want] of cases) {
    await t.step(`${pattern} ~ ${name}`, () => assert.equal(matchGlob(pattern, name), want));
  }
});
