import assert from "node:assert/strict";
import { hostNameProblem } from "../lib/grammar/host_name.ts";
import { parseTarget } from "../lib/grammar/target.ts";
import { parseInventory } from "../lib/client/inventory.ts";
import { addressSpec } from "../lib/client/setup.ts";
import { UsageError } from "../lib/usage.ts";

const ACCEPTED = [
  "web1",
  "db-2",
  "host_1.example-x",
  "10.0.0.7:5050",
  "::1:5051",
  "WEB1",
  "allx",
  "groupie",
];

/** Refused names with the index and detail `hostNameProblem()` reports. */
const REFUSED: [string, number, string][] = [
  ["", 0, "it is empty"],
  ["db#1", 2, 'character "#" is not allowed'],
  ["wéb1", 1, 'character "é" is not allowed'],
  ["web 1", 3, 'character " " is not allowed'],
  ["web*", 3, 'character "*" is not allowed'],
  ["web?", 3, 'character "?" is not allowed'],
  ["web[1]", 3, 'character "[" is not allowed'],
  ["a,b", 1, 'character "," is not allowed'],
  ["+web1", 0, 'character "+" is not allowed'],
  ["-web1", 0, 'a name cannot start with "-"'],
  ["all", 0, "it is reserved in targets"],
  ["ALL", 0, "it is reserved in targets"],
  ["group:db", 0, "it is reserved in targets"],
];

Deno.test("hostNameProblem() accepts and refuses names", async (t) => {
  for (const name of ACCEPTED) {
    await t.step(`accepts ${JSON.stringify(name)}`, () => {
      assert.equal(hostNameProblem(name), undefined);
    });
  }
  for (const [name, index, detail] of REFUSED) {
    await t.step(`refuses ${JSON.stringify(name)}`, () => {
      assert.deepEqual(hostNameProblem(name), { index, detail });
    });
  }
});

Deno.test("hostNameProblem() agrees with the inventory and targets", async (t) => {
  for (const name of ACCEPTED) {
    await t.step(`${JSON.stringify(name)} is a host and a target name`, () => {
      const inv = parseInventory(`[[host]]\nname = ${JSON.stringify(name)}\naddress = "h"\n`, "/");
      assert.equal(inv[0]?.name, name);
      assert.deepEqual(parseTarget(name).items, [{ op: "add", kind: "name", value: name }]);
    });
  }
  for (const [name, , detail] of REFUSED.filter(([n]) => n !== "")) {
    await t.step(`${JSON.stringify(name)} is refused by the inventory`, () => {
      const text = `[[host]]\nname = ${JSON.stringify(name)}\naddress = "h"\n`;
      assert.throws(() => parseInventory(text, "/"), {
        name: "SyntaxError",
        message: `Cannot parse inventory: host 1 (${JSON.stringify(name)}): bad name ${
          JSON.stringify(name)
        }: ${detail}`,
      });
    });
  }
  // Targets read `all`, `group:`, `-` and globs as what they are; the rest must be refused.
  for (const name of ["db#1", "wéb1", "+web1", "web 1"]) {
    await t.step(`${JSON.stringify(name)} is refused in a target`, () => {
      assert.throws(() => parseTarget(name), SyntaxError);
    });
  }
});

Deno.test("addressSpec() refuses a typed host that cannot be named", () => {
  assert.throws(() => addressSpec("db#1", 5050), UsageError);
  assert.equal(addressSpec("[::1]:5051", 5050).name, "::1:5051");
});
