import assert from "node:assert/strict";
import type { Command, ParsedLine, TargetExpr } from "../lib/grammar/command.ts";
import { COMMAND_SPECS } from "../lib/grammar/command_table.ts";
import { describeSyntaxError } from "../lib/grammar/errors.ts";
import { CommandSyntaxError, parseLine, parseTarget } from "../lib/grammar/parse_line.ts";
import { TARGET_FORM } from "../lib/grammar/target.ts";
import { LIMITS } from "../lib/protocol/constants.ts";

const only = (command: Command): ParsedLine => ({ command });
const at = (target: string, command: Command): ParsedLine => ({
  target: parseTarget(target),
  command,
});

/** Table-driven success cases: line, then the parse it must give. */
function expectParses(cases: [string, ParsedLine | null][]) {
  return async (t: Deno.TestContext) => {
    for (const [line, want] of cases) {
      await t.step(JSON.stringify(line), () => assert.deepEqual(parseLine(line), want));
    }
  };
}

/** Table-driven failure cases: line, message pattern, column, expected form. */
function expectFails(cases: [string, RegExp, number, string][]) {
  return async (t: Deno.TestContext) => {
    for (const [line, message, position, expected] of cases) {
      await t.step(JSON.stringify(line), () => {
        assert.throws(() => parseLine(line), (err) => {
          assert.ok(err instanceof CommandSyntaxError, `not a CommandSyntaxError: ${err}`);
          assert.ok(err instanceof SyntaxError);
          assert.equal(err.name, "CommandSyntaxError");
          assert.match(err.message, message);
          assert.equal(err.position, position, `position of ${err.message}`);
          assert.equal(err.expected, expected);
          return true;
        });
      });
    }
  };
}

Deno.test(
  "parseLine() returns null for blank and comment lines",
  expectParses([
    ["", null],
    ["   ", null],
    ["\t \t", null],
    ["\n", null],
    ["\r\n", null],
    ["# a comment", null],
    ["   #ram", null],
    ["\t# sh: rm -rf /", null],
  ]),
);

Deno.test(
  "parseLine() parses metric commands in any case and whitespace",
  expectParses([
    ["ram", only({ kind: "ram" })],
    ["cpu", only({ kind: "cpu" })],
    ["os", only({ kind: "os" })],
    ["name", only({ kind: "name" })],
    ["ip", only({ kind: "ip" })],
    ["disk", only({ kind: "disk" })],
    ["uptime", only({ kind: "uptime" })],
    ["info", only({ kind: "info" })],
    ["RAM", only({ kind: "ram" })],
    ["UpTime", only({ kind: "uptime" })],
    ["  \tdisk \t ", only({ kind: "disk" })],
    ["cpu\n", only({ kind: "cpu" })],
    ["cpu\r\n", only({ kind: "cpu" })],
  ]),
);

Deno.test(
  "parseLine() parses ping HOST [COUNT]",
  expectParses([
    ["ping example.com", only({ kind: "ping", host: "example.com" })],
    ["ping 192.0.2.1 3", only({ kind: "ping", host: "192.0.2.1", count: 3 })],
    ["PING   ::1\t 10", only({ kind: "ping", host: "::1", count: 10 })],
    ["ping fe80::1%eth0", only({ kind: "ping", host: "fe80::1%eth0" })],
    ["ping localhost 007", only({ kind: "ping", host: "localhost", count: 7 })],
    // Counts above the server's clamp are the server's business.
    ["ping localhost 500", only({ kind: "ping", host: "localhost", count: 500 })],
    [`ping "example.com" '2'`, only({ kind: "ping", host: "example.com", count: 2 })],
  ]),
);

Deno.test(
  "parseLine() parses exec prefixes, keeping the command text verbatim",
  expectParses([
    ["sh: df -h | sort", only({ kind: "exec", shell: "sh", command: "df -h | sort" })],
    ["sh:ls", only({ kind: "exec", shell: "sh", command: "ls" })],
    ["SH:\t  ls -l", only({ kind: "exec", shell: "sh", command: "ls -l" })],
    ["dos: dir", only({ kind: "exec", shell: "cmd", command: "dir" })],
    ["DOS:dir C:\\", only({ kind: "exec", shell: "cmd", command: "dir C:\\" })],
    ["cmd: echo %PATH%", only({ kind: "exec", shell: "cmd", command: "echo %PATH%" })],
    ["Cmd:ver", only({ kind: "exec", shell: "cmd", command: "ver" })],
    ["ps: Get-Process", only({ kind: "exec", shell: "ps", command: "Get-Process" })],
    ["  Ps:  $x = 'a  b'", only({ kind: "exec", shell: "ps", command: "$x = 'a  b'" })],
    [`sh: echo "it's"  'x'`, only({ kind: "exec", shell: "sh", command: `echo "it's"  'x'` })],
    ["sh: echo 'unclosed", only({ kind: "exec", shell: "sh", command: "echo 'unclosed" })],
    [
      "sh: echo # not a comment",
      only({ kind: "exec", shell: "sh", command: "echo # not a comment" }),
    ],
    ["sh: printf 'a  '  ", only({ kind: "exec", shell: "sh", command: "printf 'a  '  " })],
    ["sh: ls\n", only({ kind: "exec", shell: "sh", command: "ls" })],
    ["sh: ps: x", only({ kind: "exec", shell: "sh", command: "ps: x" })],
    ["@web1 sh: uname -a", at("web1", { kind: "exec", shell: "sh", command: "uname -a" })],
    ["@db*\tps:gps", at("db*", { kind: "exec", shell: "ps", command: "gps" })],
  ]),
);

Deno.test(
  "parseLine() parses lifecycle commands and disconnect's target argument",
  expectParses([
    ["disconnect", only({ kind: "disconnect" })],
    ["reset", only({ kind: "reset" })],
    ["kill", only({ kind: "kill" })],
    ["shutdown", only({ kind: "kill" })],
    ["KILL", only({ kind: "kill" })],
    ["disconnect web1,db*", at("web1,db*", { kind: "disconnect" })],
    ["disconnect web1 db2", at("web1,db2", { kind: "disconnect" })],
    ["disconnect -db2", at("-db2", { kind: "disconnect" })],
    ["@web1,db* disconnect", at("web1,db*", { kind: "disconnect" })],
    ["@group:db reset", at("group:db", { kind: "reset" })],
    ["@web1 shutdown", at("web1", { kind: "kill" })],
  ]),
);

Deno.test(
  "parseLine() parses target prefixes",
  expectParses([
    ["@web1 ram", at("web1", { kind: "ram" })],
    ["@web*,db2 cpu", at("web*,db2", { kind: "cpu" })],
    ["@group:db disk", at("group:db", { kind: "disk" })],
    ["@all,-db2 uptime", at("all,-db2", { kind: "uptime" })],
    ["@-db2 info", at("-db2", { kind: "info" })],
    ["  @web1  \t ping ::1 2 ", at("web1", { kind: "ping", host: "::1", count: 2 })],
    ["@web1 hosts", at("web1", { kind: "hosts" })],
    ["@web* watch 5", at("web*", { kind: "watch", intervalSeconds: 5 })],
    ["@web* diff os", at("web*", { kind: "diff", command: { kind: "os" } })],
  ]),
);

const target = (text: string): TargetExpr => parseTarget(text);

Deno.test(
  "parseLine() parses console commands",
  expectParses([
    ["help", only({ kind: "help" })],
    ["?", only({ kind: "help" })],
    ["help ping", only({ kind: "help", topic: "ping" })],
    ["HELP Ping", only({ kind: "help", topic: "ping" })],
    ["help shutdown", only({ kind: "help", topic: "kill" })],
    ["help sh:", only({ kind: "help", topic: "exec" })],
    ["help dos", only({ kind: "help", topic: "exec" })],
    ["help exec", only({ kind: "help", topic: "exec" })],
    ["help @", only({ kind: "help", topic: "target" })],
    ["help targets", only({ kind: "help", topic: "target" })],
    ["help +", only({ kind: "help", topic: "select-add" })],
    ["? quit", only({ kind: "help", topic: "exit" })],
    ["hosts", only({ kind: "hosts" })],
    ["hosts web1", only({ kind: "hosts", target: target("web1") })],
    ["connect web1", only({ kind: "connect", addresses: ["web1"] })],
    [
      "connect web1 10.0.0.7:6000 [2001:db8::7]:6000 ::1",
      only({ kind: "connect", addresses: ["web1", "10.0.0.7:6000", "[2001:db8::7]:6000", "::1"] }),
    ],
    ["connect a:1,b:2", only({ kind: "connect", addresses: ["a:1", "b:2"] })],
    ["forget 10.0.0.99:1", only({ kind: "forget", target: target("10.0.0.99:1") })],
    ["forget web* db2", only({ kind: "forget", target: target("web*,db2") })],
    ["use all", only({ kind: "use", target: target("all") })],
    ["use web*,-web3", only({ kind: "use", target: target("web*,-web3") })],
    ["use web1 group:db", only({ kind: "use", target: target("web1,group:db") })],
    ["+web1", only({ kind: "select-add", names: ["web1"] })],
    ["+web1,db*", only({ kind: "select-add", names: ["web1", "db*"] })],
    ["+ web1  web2", only({ kind: "select-add", names: ["web1", "web2"] })],
    ["-db2", only({ kind: "select-remove", names: ["db2"] })],
    ["  - db2,web[12]", only({ kind: "select-remove", names: ["db2", "web[12]"] })],
    ["watch", only({ kind: "watch", intervalSeconds: 2 })],
    ["watch 5", only({ kind: "watch", intervalSeconds: 5 })],
    ["watch 0.5", only({ kind: "watch", intervalSeconds: 0.5 })],
    ["watch .25", only({ kind: "watch", intervalSeconds: 0.25 })],
    ["watch 10.", only({ kind: "watch", intervalSeconds: 10 })],
    ["watch cpu,ram", only({ kind: "watch", intervalSeconds: 2, columns: ["cpu", "ram"] })],
    [
      "watch 3 CPU,load,disk,uptime,state,ram",
      only({
        kind: "watch",
        intervalSeconds: 3,
        columns: ["cpu", "load", "disk", "uptime", "state", "ram"],
      }),
    ],
    ["watch ram 1", only({ kind: "watch", intervalSeconds: 1, columns: ["ram"] })],
    ["watch cpu ram", only({ kind: "watch", intervalSeconds: 2, columns: ["cpu", "ram"] })],
    ["diff os", only({ kind: "diff", command: { kind: "os" } })],
    ["DIFF  uptime", only({ kind: "diff", command: { kind: "uptime" } })],
    ["diff ping ::1 2", only({ kind: "diff", command: { kind: "ping", host: "::1", count: 2 } })],
    [
      "diff sh: uname -r | cut -d. -f1",
      only({
        kind: "diff",
        command: { kind: "exec", shell: "sh", command: "uname -r | cut -d. -f1" },
      }),
    ],
    [
      "diff dos:ver",
      only({ kind: "diff", command: { kind: "exec", shell: "cmd", command: "ver" } }),
    ],
    ["exit", only({ kind: "exit" })],
    ["quit", only({ kind: "exit" })],
    ["Exit  ", only({ kind: "exit" })],
  ]),
);

const TOO_LONG = `sh: ${"x".repeat(LIMITS.commandBytes + 1)}`;
// Multi-byte characters count by UTF-8 bytes, not by characters.
const TOO_LONG_UTF8 = `sh: ${"é".repeat(LIMITS.commandBytes / 2 + 1)}`;

Deno.test(
  "parseLine() rejects bad commands with a position and the expected form",
  expectFails([
    [
      "rma",
      /^Unknown command "rma": did you mean "ram"\?$/,
      0,
      "a command; type help for the list",
    ],
    [
      "  pnig x",
      /^Unknown command "pnig": did you mean "ping"\?$/,
      2,
      "a command; type help for the list",
    ],
    [
      "sh ls",
      /^Unknown command "sh": did you mean "sh:"\?$/,
      0,
      "a command; type help for the list",
    ],
    ["frobnicate", /^Unknown command "frobnicate"$/, 0, "a command; type help for the list"],
    ["x", /^Unknown command "x"$/, 0, "a command; type help for the list"],
    ["ram:", /^Unknown command "ram:"/, 0, "a command; type help for the list"],
    ['"ram"', /^Unknown command "\\"ram\\""/, 0, "a command; type help for the list"],
    ["@web1 zzzz", /^Unknown command "zzzz"$/, 6, "a command; type help for the list"],
    ["ram now", /^Cannot parse "ram": unexpected argument "now"$/, 4, "ram"],
    ["info  a b", /^Cannot parse "info": unexpected argument "a"$/, 6, "info"],
    ["ping", /^Cannot parse "ping": expected a host$/, 4, "ping HOST [COUNT]"],
    ["ping   ", /^Cannot parse "ping": expected a host$/, 5, "ping HOST [COUNT]"],
    ["ping -f x", /host "-f" is not a valid host name or address$/, 5, "ping HOST [COUNT]"],
    ['ping "a;b"', /host "a;b" is not a valid host name or address$/, 5, "ping HOST [COUNT]"],
    ["ping ''", /host "" is not a valid host name or address$/, 5, "ping HOST [COUNT]"],
    ["ping $(reboot)", /host "\$\(reboot\)" is not a valid/, 5, "ping HOST [COUNT]"],
    ["ping -- x", /host "--" is not a valid/, 5, "ping HOST [COUNT]"],
    ["ping x 0", /^Cannot parse "ping": count "0" is not positive$/, 7, "ping HOST [COUNT]"],
    ["ping x -1", /count "-1" is not a whole number$/, 7, "ping HOST [COUNT]"],
    ["ping x 2.5", /count "2.5" is not a whole number$/, 7, "ping HOST [COUNT]"],
    ["ping x 1e2", /count "1e2" is not a whole number$/, 7, "ping HOST [COUNT]"],
    ["ping x x", /count "x" is not a whole number$/, 7, "ping HOST [COUNT]"],
    ["ping x 99999999999999999999", /is not a whole number$/, 7, "ping HOST [COUNT]"],
    ["ping x 3 4", /unexpected argument "4"$/, 9, "ping HOST [COUNT]"],
    ["ping 'x", /^Cannot parse "ping": single quote is never closed$/, 5, "a closing '"],
    ["sh:", /^Cannot parse "sh:": the command is empty$/, 3, "sh:|cmd:|ps: COMMAND"],
    ["dos:   \t", /^Cannot parse "dos:": the command is empty$/, 8, "sh:|cmd:|ps: COMMAND"],
    ["sh: a\0b", /the command contains a NUL character$/, 4, "sh:|cmd:|ps: COMMAND"],
    [TOO_LONG, /the command is 65537 bytes, over the 65536-byte limit$/, 4, "sh:|cmd:|ps: COMMAND"],
    [TOO_LONG_UTF8, /the command is 65538 bytes, over/, 4, "sh:|cmd:|ps: COMMAND"],
    ["sh: ls\nrm x", /^Cannot parse line: it holds a line break$/, 6, "one line"],
    ["reset now", /^Cannot parse "reset": unexpected argument "now"$/, 6, "reset"],
    ["kill -x", /^Cannot parse "kill": unexpected argument "-x"$/, 5, "kill"],
    ["shutdown all", /^Cannot parse "shutdown": unexpected argument "all"$/, 9, "kill"],
    [
      "@x disconnect y",
      /^Cannot parse "disconnect": the target is given twice$/,
      14,
      "disconnect [TARGET]",
    ],
    [
      "disconnect a,",
      /^Cannot parse target "a,": an item is empty$/,
      13,
      TARGET_FORM,
    ],
    ["help nope", /^Cannot parse "help": no help topic "nope"$/, 5, "help [COMMAND]"],
    ["help ping ram", /unexpected argument "ram"$/, 10, "help [COMMAND]"],
    ["hosts x,", /^Cannot parse target "x,": an item is empty$/, 8, TARGET_FORM],
    ["connect", /^Cannot parse "connect": expected at least one address$/, 7, "connect ADDR..."],
    ["connect a:0", /address "a:0": port 0 is outside 1-65535$/, 8, "connect ADDR..."],
    ["connect a b;c", /address "b;c": "b;c" is not a host name or address$/, 10, "connect ADDR..."],
    ["connect a,,b", /^Cannot parse "connect": an address is empty$/, 10, "connect ADDR..."],
    ["connect [::1", /address "\[::1": "\[" is never closed$/, 8, "connect ADDR..."],
    ["use", /^Cannot parse "use": expected a target$/, 3, "use TARGET"],
    ["forget", /^Cannot parse "forget": expected a target$/, 6, "forget TARGET"],
    [
      "use web1,,x",
      /^Cannot parse target "web1,,x": an item is empty$/,
      9,
      TARGET_FORM,
    ],
    ["+", /^Cannot parse "\+": expected a name or glob$/, 1, "+NAME[,NAME...]"],
    ["-  ", /^Cannot parse "-": expected a name or glob$/, 2, "-NAME[,NAME...]"],
    ["+group:db", /"group:db" is not a list of names or globs$/, 1, "+NAME[,NAME...]"],
    ["+ web1 all", /"all" is not a list of names or globs$/, 7, "+NAME[,NAME...]"],
    ["--db2", /^Cannot parse "-": "-db2" is not a list of names or globs$/, 1, "-NAME[,NAME...]"],
    ["+web1,-db2", /"web1,-db2" is not a list of names or globs$/, 1, "+NAME[,NAME...]"],
    ["+-", /nothing follows "-"$/, 2, TARGET_FORM],
    [
      "+web1,",
      /an item is empty$/,
      6,
      TARGET_FORM,
    ],
    ["watch 0", /interval "0" is outside 0.1-86400 seconds$/, 6, "watch [SECONDS] [COLUMNS]"],
    ["watch 0.01", /interval "0.01" is outside/, 6, "watch [SECONDS] [COLUMNS]"],
    ["watch 86401", /interval "86401" is outside/, 6, "watch [SECONDS] [COLUMNS]"],
    ["watch -1", /interval "-1" is not a positive number$/, 6, "watch [SECONDS] [COLUMNS]"],
    ["watch 1e3", /interval "1e3" is not a positive number$/, 6, "watch [SECONDS] [COLUMNS]"],
    ["watch .", /interval "." is not a positive number$/, 6, "watch [SECONDS] [COLUMNS]"],
    ["watch 1 2", /unexpected argument "2"$/, 8, "watch [SECONDS] [COLUMNS]"],
    ["watch cpu,mem", /unknown column "mem"$/, 10, "watch [SECONDS] [COLUMNS]"],
    ["watch cpu,,ram", /a column is empty$/, 10, "watch [SECONDS] [COLUMNS]"],
    ["watch cpu CPU", /column "CPU" is given twice$/, 10, "watch [SECONDS] [COLUMNS]"],
    ["diff", /^Cannot parse "diff": expected a command to compare$/, 4, "diff COMMAND"],
    ["diff  ", /expected a command to compare$/, 5, "diff COMMAND"],
    ["diff kill", /cannot compare "kill": expected a metric, ping or exec$/, 5, "diff COMMAND"],
    ["diff disconnect", /cannot compare "disconnect"/, 5, "diff COMMAND"],
    ["diff disconnect web1", /cannot compare "disconnect"/, 5, "diff COMMAND"],
    ["diff  help", /cannot compare "help"/, 6, "diff COMMAND"],
    ["diff diff os", /cannot compare "diff"/, 5, "diff COMMAND"],
    ["diff @web1 os", /a target goes first, as in @web\* diff os$/, 5, "diff COMMAND"],
    ["diff rma", /^Unknown command "rma"/, 5, "a command; type help for the list"],
    ["diff ping", /^Cannot parse "ping": expected a host$/, 9, "ping HOST [COUNT]"],
    ["diff sh:", /^Cannot parse "sh:": the command is empty$/, 8, "sh:|cmd:|ps: COMMAND"],
    ["exit now", /^Cannot parse "exit": unexpected argument "now"$/, 5, "exit"],
    ["quit x", /^Cannot parse "quit": unexpected argument "x"$/, 5, "exit"],
  ]),
);

Deno.test(
  "parseLine() rejects bad target prefixes",
  expectFails([
    ["@", /^Cannot parse target: nothing follows "@"$/, 1, TARGET_FORM],
    ["  @ ram", /nothing follows "@"$/, 3, TARGET_FORM],
    ["@,", /^Cannot parse target ",": an item is empty$/, 1, TARGET_FORM],
    ["@, ram", /an item is empty$/, 1, TARGET_FORM],
    ["@web1, ram", /^Cannot parse target "web1,": an item is empty$/, 6, TARGET_FORM],
    ["@web1,,db ram", /an item is empty$/, 6, TARGET_FORM],
    ["@- ram", /nothing follows "-"$/, 2, TARGET_FORM],
    ["@group: ram", /a group name must follow "group:"$/, 7, TARGET_FORM],
    ["@web[1 ram", /"\[" is never closed$/, 4, TARGET_FORM],
    ["@@web1 ram", /character "@" is not allowed$/, 1, TARGET_FORM],
    ['@"web 1" ram', /character "\\"" is not allowed$/, 1, TARGET_FORM],
    ["@web1", /^Cannot parse "@web1": a command must follow the target$/, 5, "@TARGET COMMAND"],
    ["@web1   ", /a command must follow the target$/, 8, "@TARGET COMMAND"],
    ["@web1 # comment", /^Unknown command "#"$/, 6, "a command; type help for the list"],
    ["@web1 help", /^Cannot parse "help": it takes no @TARGET prefix$/, 0, "help [COMMAND]"],
    [" @web1 use db1", /^Cannot parse "use": it takes no @TARGET prefix$/, 1, "use TARGET"],
    ["@web1 connect x", /it takes no @TARGET prefix$/, 0, "connect ADDR..."],
    ["@web1 +db1", /^Cannot parse "\+": it takes no @TARGET prefix$/, 0, "+NAME[,NAME...]"],
    ["@web1 -db1", /^Cannot parse "-": it takes no @TARGET prefix$/, 0, "-NAME[,NAME...]"],
    ["@web1 quit", /^Cannot parse "quit": it takes no @TARGET prefix$/, 0, "exit"],
  ]),
);

/** A minimal valid argument for commands that need one. */
const SAMPLE_ARGS: Record<string, string> = {
  ping: " ::1",
  exec: " true",
  connect: " web1",
  forget: " web1",
  use: " all",
  "select-add": "web1",
  "select-remove": "web1",
  diff: " os",
  push: " a /b",
  pull: " /a b",
};

Deno.test("parseLine() knows every word of every command in the table", async (t) => {
  for (const spec of COMMAND_SPECS) {
    for (const word of spec.words) {
      await t.step(word, () => {
        const text = `${word}${SAMPLE_ARGS[spec.name] ?? ""}`;
        const parsed = parseLine(text);
        assert.ok(parsed, `${text} parsed to null`);
        // Every command's kind is its spec's name.
        assert.equal(parsed.command.kind, spec.name);
        assert.equal(parsed.target, undefined);
        if (spec.targeted) {
          assert.deepEqual(parseLine(`@web1 ${text}`), { target: parseTarget("web1"), ...parsed });
        } else {
          assert.throws(() => parseLine(`@web1 ${text}`), /it takes no @TARGET prefix/);
        }
      });
    }
  }
});

Deno.test("describeSyntaxError() points a caret at the column, tabs shown as spaces", () => {
  const line = "@web1\tping -f";
  assert.throws(() => parseLine(line), (err) => {
    assert.ok(err instanceof CommandSyntaxError);
    assert.equal(
      describeSyntaxError(line, err),
      "@web1 ping -f\n" +
        '           ^ Cannot parse "ping": host "-f" is not a valid host name or address ' +
        "(expected: ping HOST [COUNT])",
    );
    return true;
  });
});
