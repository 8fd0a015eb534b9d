/**
 * The environment of exec and ping children: the pure selection for Linux and
 * Windows, the `--exec-env` option, and a real server whose `sh: env` shows
 * what a command sees.
 * @module
 */

import assert from "node:assert/strict";
import { UsageError } from "../lib/usage.ts";
import { childEnvironment, execEnvNameProblem } from "../lib/exec/child_env.ts";
import type { CallEnd } from "../lib/protocol/messages.ts";
import { parseServerArgs, SERVER_USAGE } from "../lib/server/options.ts";
import { connect, startServer } from "./helpers.ts";

Deno.test("childEnvironment() keeps only the minimal set on Linux", async (t) => {
  const server = {
    PATH: "/usr/bin:/bin",
    HOME: "/home/mon",
    USER: "mon",
    LOGNAME: "mon",
    LANG: "C.UTF-8",
    LC_ALL: "C",
    LC_TIME: "en_GB.UTF-8",
    SHELL: "/bin/sh",
    TZ: "UTC",
    TERM: "xterm",
    RMON_TOKEN: "secret",
    "rmon_token": "secret",
    RMON_TEST_SECRET: "secret",
    SOME_OTHER_VAR: "x",
    AWS_SECRET_ACCESS_KEY: "x",
    path: "lower-case is another variable on Unix",
    LCX: "not a locale variable",
  };
  await t.step("the documented names and every LC_* variable", () => {
    assert.deepEqual(childEnvironment(server, "linux"), {
      PATH: "/usr/bin:/bin",
      HOME: "/home/mon",
      USER: "mon",
      LOGNAME: "mon",
      LANG: "C.UTF-8",
      LC_ALL: "C",
      LC_TIME: "en_GB.UTF-8",
      SHELL: "/bin/sh",
      TZ: "UTC",
      TERM: "xterm",
    });
  });
  await t.step("only what the server has", () => {
    assert.deepEqual(childEnvironment({ PATH: "/bin", OTHER: "x" }, "linux"), { PATH: "/bin" });
    assert.deepEqual(childEnvironment({}, "darwin"), {});
  });
  await t.step("extra names, matched exactly", () => {
    const child = childEnvironment(server, "linux", ["SOME_OTHER_VAR", "aws_secret_access_key"]);
    assert.equal(child.SOME_OTHER_VAR, "x");
    assert.equal(child.AWS_SECRET_ACCESS_KEY, undefined);
  });
  await t.step("never RMON_*, even when named", () => {
    const child = childEnvironment(server, "linux", [
      "RMON_TOKEN",
      "rmon_token",
      "RMON_TEST_SECRET",
    ]);
    assert.deepEqual(Object.keys(child).filter((k) => /^rmon_/i.test(k)), []);
  });
});

Deno.test("childEnvironment() keeps only the minimal set on Windows, in any case", async (t) => {
  const server = {
    SystemRoot: "C:\\Windows",
    SYSTEMDRIVE: "C:",
    ComSpec: "C:\\Windows\\system32\\cmd.exe",
    PATHEXT: ".COM;.EXE;.BAT",
    Path: "C:\\Windows\\system32",
    TEMP: "C:\\Temp",
    tmp: "C:\\Temp",
    USERPROFILE: "C:\\Users\\mon",
    USERNAME: "mon",
    APPDATA: "C:\\Users\\mon\\AppData\\Roaming",
    LOCALAPPDATA: "C:\\Users\\mon\\AppData\\Local",
    ProgramData: "C:\\ProgramData",
    ProgramFiles: "C:\\Program Files",
    windir: "C:\\Windows",
    "=C:": "C:\\",
    "Rmon_Token": "secret",
    SOME_OTHER_VAR: "x",
    LC_ALL: "C",
    HOME: "C:\\Users\\mon",
  };
  await t.step("the documented names, spelled as the server spells them", () => {
    assert.deepEqual(childEnvironment(server, "windows"), {
      SystemRoot: "C:\\Windows",
      SYSTEMDRIVE: "C:",
      ComSpec: "C:\\Windows\\system32\\cmd.exe",
      PATHEXT: ".COM;.EXE;.BAT",
      Path: "C:\\Windows\\system32",
      TEMP: "C:\\Temp",
      tmp: "C:\\Temp",
      USERPROFILE: "C:\\Users\\mon",
      USERNAME: "mon",
      APPDATA: "C:\\Users\\mon\\AppData\\Roaming",
      LOCALAPPDATA: "C:\\Users\\mon\\AppData\\Local",
      ProgramData: "C:\\ProgramData",
      ProgramFiles: "C:\\Program Files",
      windir: "C:\\Windows",
    });
  });
  await t.step("extra names, matched in any case; never RMON_*", () => {
    const child = childEnvironment(server, "windows", ["some_other_var", "HOME", "RMON_TOKEN"]);
    assert.equal(child.SOME_OTHER_VAR, "x");
    assert.equal(child.HOME, "C:\\Users\\mon");
    assert.equal(child.Rmon_Token, undefined);
    assert.equal(child.LC_ALL, undefined, "no LC_* rule on Windows");
  });
});

Deno.test("execEnvNameProblem() accepts portable names that are not rmon's own", () => {
  for (const name of ["A", "_x", "HTTP_PROXY", "lower_case9"]) {
    assert.equal(execEnvNameProblem(name), undefined, name);
  }
  for (const name of ["", "9X", "A-B", "A=B", "A B", "É"]) {
    assert.match(execEnvNameProblem(name)!, /variable name/);
  }
  for (const name of ["RMON_TOKEN", "rmon_x", "Rmon_"]) {
    assert.match(execEnvNameProblem(name)!, /starting with RMON_ are rmon's own/);
  }
});

Deno.test("parseServerArgs() takes --exec-env repeatedly and refuses bad names", async (t) => {
  await t.step("none by default", () => {
    assert.deepEqual(parseServerArgs([]).execEnv, []);
  });
  await t.step("repeated, in both value forms", () => {
    const opts = parseServerArgs([
      "--exec-env",
      "HTTP_PROXY",
      "--exec-env=NO_PROXY",
      "--read-only",
    ]);
    assert.deepEqual(opts.execEnv, ["HTTP_PROXY", "NO_PROXY"]);
    assert.equal(opts.readOnly, true);
  });
  const bad: [string[], string][] = [
    [["--exec-env"], "Invalid arguments: --exec-env needs a value"],
    [
      ["--exec-env", "A-B"],
      'Invalid --exec-env: "A-B": a variable name is a letter or _ followed by letters, digits or _',
    ],
    [
      ["--exec-env", "PATH", "--exec-env", "rmon_token"],
      'Invalid --exec-env: "rmon_token": variables starting with RMON_ are rmon\'s own and never passed on',
    ],
  ];
  for (const [args, message] of bad) {
    await t.step(args.join(" "), () => {
      assert.throws(
        () => parseServerArgs(args),
        (err) => err instanceof UsageError && err.message === message,
      );
    });
  }
  await t.step("other options are still refused twice", () => {
    assert.throws(() => parseServerArgs(["--port", "1", "--port", "2"]), /--port is given twice/);
  });
  await t.step("--help documents it", () => {
    assert.match(SERVER_USAGE, /--exec-env NAME +also pass the server's variable NAME to commands/);
  });
});

Deno.test("rmon-server gives exec children the minimal environment plus --exec-env", async () => {
  await using server = await startServer({
    args: ["--exec-env", "PASSED_ON_VAR"],
    env: { RMON_TEST_SECRET: "secret-1", SOME_OTHER_VAR: "other-1", PASSED_ON_VAR: "passed-1" },
  });
  await using s = await connect(server);
  let out = "";
  const end = await s.peer.call("exec", { shell: "sh", command: "env" }, {
    onOutput: (o) => out += o.data,
  }) as unknown as CallEnd;
  assert.equal(end.exitCode, 0);
  const names = out.trim().split("\n").map((line) => line.slice(0, line.indexOf("=")));
  assert.ok(names.includes("PATH"), "PATH is passed on");
  assert.ok(names.includes("HOME"), "HOME is passed on");
  assert.match(out, /^PASSED_ON_VAR=passed-1$/m);
  assert.doesNotMatch(out, /RMON_|SOME_OTHER_VAR|secret-1|other-1/);
  assert.doesNotMatch(out, /DENO_DIR|NO_COLOR|XDG_STATE_HOME/, "nothing else of the server's");
});
