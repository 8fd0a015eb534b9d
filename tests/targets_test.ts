import assert from "node:assert/strict";
import { compactHosts } from "../lib/client/hostlist.ts";
import { parseTarget } from "../lib/grammar/target.ts";
import {
  compileGlob,
  resolveTargets,
  Selection,
  type TargetExpr,
  type TargetItem,
} from "../lib/client/targets.ts";

/** A tiny stand-in for the grammar: `web*,-db1,&group:db,all` → TargetExpr. */
function expr(text: string): TargetExpr {
  const items = text.split(",").map((raw): TargetItem => {
    const op = raw.startsWith("-") ? "exclude" : raw.startsWith("&") ? "intersect" : "add";
    const value = op === "add" ? raw : raw.slice(1);
    if (value === "all") return { op, kind: "all", value };
    if (value.startsWith("group:")) return { op, kind: "group", value: value.slice(6) };
    if (/[*?[]/.test(value)) return { op, kind: "glob", value };
    return { op, kind: "name", value };
  });
  return { items, text };
}

const HOSTS = [
  { name: "web1", groups: ["web", "prod"] },
  { name: "web2", groups: ["web", "prod"] },
  { name: "web3", groups: ["web"] },
  { name: "web10", groups: ["web"] },
  { name: "db1", groups: ["db", "prod"] },
  { name: "db2", groups: ["db"] },
  { name: "n08", groups: [] },
  { name: "n09", groups: [] },
  { name: "n10", groups: [] },
];

Deno.test("compactHosts() folds numbered ranges", () => {
  const cases: [string[], string][] = [
    [[], ""],
    [["web1"], "web1"],
    [["web1", "web2", "web3", "web5", "db1"], "web[1-3,5],db1"],
    [["web3", "web1", "web2"], "web[1-3]"],
    [["web1", "web1", "web2"], "web[1-2]"],
    [["n01", "n02"], "n[01-02]"],
    [["n01", "n02", "n03", "n7"], "n[01-03],n7"],
    [["n08", "n09", "n10", "n11"], "n[08-11]"],
    [["n9", "n10"], "n[9-10]"],
    [["n1", "n01"], "n1,n01"],
    [["127.0.0.1:5051", "127.0.0.1:5052"], "127.0.0.1:[5051-5052]"],
    [["r1.example.com", "r2.example.com", "r4.example.com"], "r[1-2,4].example.com"],
    [["alpha", "beta", "alpha"], "alpha,beta"],
    [["db1", "web1", "db2", "web2"], "db[1-2],web[1-2]"],
    [["x0", "x1", "x2"], "x[0-2]"],
    [["h1234567890123456", "h1234567890123457"], "h1234567890123456,h1234567890123457"],
  ];
  for (const [names, want] of cases) {
    assert.equal(compactHosts(names), want, JSON.stringify(names));
  }
});

Deno.test("compileGlob() matches wildcards, classes and folded ranges", () => {
  const cases: [string, string, boolean][] = [
    ["web*", "web1", true],
    ["web*", "db1", false],
    ["web?", "web1", true],
    ["web?", "web10", false],
    ["web[12]", "web2", true],
    ["web[12]", "web3", false],
    ["web[!12]", "web3", true],
    ["web[a-c]", "webb", true],
    ["10.0.0.*", "10.0.0.5", true],
    ["10.0.0.*", "10a0b0c5", false],
    ["a+b", "a+b", true],
    ["a+b", "aab", false],
    ["(x)", "(x)", true],
    ["web[1-3,5]", "web5", true],
    ["web[1-3,5]", "web4", false],
    ["web[1-12]", "web11", true],
    ["n[08-11]", "n09", true],
    ["n[08-11]", "n9", false],
    ["127.0.0.1:[5051-5052]", "127.0.0.1:5052", true],
    ["127.0.0.1:[5051-5052]", "127.0.0.1:5053", false],
  ];
  for (const [pattern, name, want] of cases) {
    assert.equal(compileGlob(pattern)(name), want, `${pattern} vs ${name}`);
  }
});

Deno.test("compileGlob() rejects broken patterns", () => {
  for (
    const [pattern, message] of [
      ["web[1", 'Cannot parse glob "web[1": "[" is never closed'],
      ["web[3-1,5]", 'Cannot parse glob "web[3-1,5]": range "3-1" is backwards'],
      ["web[!]", 'Cannot parse glob "web[!]": "[]" matches nothing'],
    ]
  ) {
    assert.throws(() => compileGlob(pattern as string), { name: "SyntaxError", message });
  }
});

Deno.test("compactHosts() output matches back as a glob", () => {
  const names = ["web1", "web2", "web3", "web5", "n08", "n09", "n10", "x7"];
  const folded = compactHosts(names).split(/,(?![^[]*\])/);
  const matched = ["web1", "web2", "web3", "web4", "web5", "n08", "n09", "n10", "n8", "x7", "x8"]
    .filter((n) => folded.some((p) => compileGlob(p)(n)));
  assert.deepEqual(matched, names);
});

Deno.test("resolveTargets() unions, subtracts and intersects left to right", () => {
  const cases: [string, string[]][] = [
    ["all", HOSTS.map((h) => h.name)],
    ["web1", ["web1"]],
    ["db2,web1", ["web1", "db2"]],
    ["web*", ["web1", "web2", "web3", "web10"]],
    ["web?", ["web1", "web2", "web3"]],
    ["web*,-web3", ["web1", "web2", "web10"]],
    ["group:db", ["db1", "db2"]],
    ["group:prod,-group:db", ["web1", "web2"]],
    ["group:web,group:db,-web[1-2]", ["web3", "web10", "db1", "db2"]],
    ["-db1", HOSTS.map((h) => h.name).filter((n) => n !== "db1")],
    ["web1,-web1,web1", ["web1"]],
    ["n[08-09]", ["n08", "n09"]],
    ["web1,web1", ["web1"]],
    // `&X` keeps only the hosts chosen so far that X also names.
    ["group:web,&group:prod", ["web1", "web2"]],
    ["web*,&group:prod,-web2", ["web1"]],
    ["web*,-web2,&group:prod", ["web1"]],
    ["group:prod,&web[2-3]", ["web2"]],
    ["&group:db", ["db1", "db2"]],
    ["web1,&db1", []],
    ["web1,&db1,db2", ["db2"]],
    ["group:web,&group:prod,db2", ["web1", "web2", "db2"]],
  ];
  for (const [text, want] of cases) {
    assert.deepEqual(resolveTargets(expr(text), HOSTS), want, text);
  }
});

Deno.test("resolveTargets() takes what parseTarget() reads: & needs no comma", () => {
  const cases: [string, string[]][] = [
    ["group:web&group:prod", ["web1", "web2"]],
    ["web*&group:prod,db2", ["web1", "web2", "db2"]],
    ["all,-db1&group:prod", ["web1", "web2"]],
  ];
  for (const [text, want] of cases) {
    assert.deepEqual(resolveTargets(parseTarget(text), HOSTS), want, text);
  }
});

Deno.test("resolveTargets() rejects items that match nothing", () => {
  const cases: [string, string][] = [
    ["db9", 'No host matches "db9"'],
    ["web1,zz*", 'No host matches "zz*"'],
    ["group:cache", 'No host matches "group:cache"'],
    ["web*,-db9", 'No host matches "db9"'],
    ["web*,&group:cache", 'No host matches "group:cache"'],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => resolveTargets(expr(text), HOSTS), { name: "RangeError", message });
  }
  assert.throws(() => resolveTargets(expr("all"), []), {
    name: "RangeError",
    message: 'No host matches "all"',
  });
});

Deno.test("Selection follows the connected hosts until use", async (t) => {
  await t.step("default is every connected host, in inventory order", () => {
    const sel = new Selection();
    assert.equal(sel.followsConnected, true);
    assert.deepEqual(sel.names(HOSTS, ["db1", "web2"]), ["web2", "db1"]);
    assert.equal(sel.describe(HOSTS, ["db1", "web2"]), "all connected: web2,db1 (2)");
  });
  await t.step("+HOST and -HOST adjust without freezing", () => {
    const sel = new Selection();
    assert.deepEqual(sel.remove(expr("web2"), HOSTS, ["web1", "web2"]), ["web1"]);
    assert.deepEqual(sel.add(expr("db2"), HOSTS, ["web1", "web2"]), ["web1", "db2"]);
    // web3 connects later and joins; web2 stays out.
    assert.deepEqual(sel.names(HOSTS, ["web1", "web2", "web3"]), ["web1", "web3", "db2"]);
    assert.equal(sel.describe(HOSTS, ["web1", "web3"]), "web[1,3],db2 (3)");
    assert.deepEqual(sel.add(expr("web2"), HOSTS, ["web1", "web2"]), ["web1", "web2", "db2"]);
  });
  await t.step("use fixes the set whatever is connected", () => {
    const sel = new Selection();
    assert.deepEqual(sel.use(expr("group:db"), HOSTS), ["db1", "db2"]);
    assert.equal(sel.followsConnected, false);
    assert.deepEqual(sel.names(HOSTS, []), ["db1", "db2"]);
    assert.deepEqual(sel.add(expr("web1"), HOSTS, []), ["web1", "db1", "db2"]);
    assert.deepEqual(sel.remove(expr("db*"), HOSTS, []), ["web1"]);
    assert.equal(sel.describe(HOSTS, []), "web1 (1)");
    assert.deepEqual(sel.remove(expr("web1"), HOSTS, []), []);
    assert.equal(sel.describe(HOSTS, []), "no hosts");
  });
  await t.step("a failed use leaves the selection as it was", () => {
    const sel = new Selection();
    sel.use(expr("web1"), HOSTS);
    assert.throws(() => sel.use(expr("nope"), HOSTS), RangeError);
    assert.deepEqual(sel.names(HOSTS, []), ["web1"]);
  });
  await t.step("reset goes back to every connected host", () => {
    const sel = new Selection();
    sel.use(expr("web1"), HOSTS);
    sel.reset();
    assert.deepEqual(sel.names(HOSTS, ["db2"]), ["db2"]);
  });
});

Deno.test("resolveTargets() ignores case, like DNS", () => {
  const cases: [string, string[]][] = [
    ["WEB1", ["web1"]],
    ["Web?", ["web1", "web2", "web3"]],
    ["group:DB", ["db1", "db2"]],
  ];
  for (const [text, want] of cases) {
    assert.deepEqual(resolveTargets(expr(text), HOSTS), want, text);
  }
});
