/**
 * Unit tests for lib/dev/entry_flags.ts: the binaries' flags are read from the
 * compile tasks in deno.json and turned into `deno run` arguments.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  entryFile,
  parseCompileTask,
  readCompileTask,
  readEntryFlags,
  readEntryFlagsSync,
  runArgs,
  runArgsSync,
  splitWords,
} from "../lib/dev/entry_flags.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Writes a deno.json holding `tasks` into a fresh temp dir and returns its path. */
async function fixture(tasks: Record<string, unknown>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "rmon_entry_flags_" });
  const path = join(dir, "deno.json");
  await Deno.writeTextFile(path, JSON.stringify({ tasks }));
  return path;
}

/** Asserts that `fn` throws a `type` whose message contains `fragment`. */
function throwsWith(fn: () => unknown, type: ErrorConstructor, fragment: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof type, `expected a ${type.name}, got ${error}`);
    assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
    return true;
  });
}

async function removeFixture(path: string): Promise<void> {
  await Deno.remove(join(path, ".."), { recursive: true });
}

Deno.test("splitWords() splits like deno task's shell", async (t) => {
  const cases: [string, string[]][] = [
    ["deno  compile\t-A x.ts", ["deno", "compile", "-A", "x.ts"]],
    [`--allow-net="a, b" 'c d'`, ["--allow-net=a, b", "c d"]],
    [`"" x`, ["", "x"]],
    [`a\\ b "q\\"q"`, ["a b", 'q"q']],
    [`'$HOME'`, ["$HOME"]],
  ];
  for (const [input, expected] of cases) {
    await t.step(input, () => assert.deepEqual(splitWords(input), expected));
  }
  await t.step("rejects shell syntax", () => {
    for (const input of ["a && b", "a > out", "a; b", "x $HOME", "x `pwd`", "a 'b"]) {
      throwsWith(() => splitWords(input), SyntaxError, "Cannot split command");
    }
  });
});

Deno.test("parseCompileTask() drops compile-only flags and keeps run flags", () => {
  const task = parseCompileTask(
    "deno compile -A --allow-net=127.0.0.1 --deny-env=HOME --unstable-kv --v8-flags=--max-old-space-size=64 " +
      "--include lib/a.ts --include=lib/b.ts --icon x.ico --no-terminal --exclude-unused-npm " +
      "--config deno.json --lock=deno.lock --location http://x/ --seed 7 --env-file " +
      "-o out/bin --target x86_64-pc-windows-msvc main.ts baked --arg",
  );
  assert.deepEqual(task.runFlags, [
    "-A",
    "--allow-net=127.0.0.1",
    "--deny-env=HOME",
    "--unstable-kv",
    "--v8-flags=--max-old-space-size=64",
    "--config",
    "deno.json",
    "--lock=deno.lock",
    "--location",
    "http://x/",
    "--seed",
    "7",
    "--env-file",
  ]);
  assert.deepEqual(task.cacheFlags, [
    "--unstable-kv",
    "--config",
    "deno.json",
    "--lock=deno.lock",
  ]);
  assert.deepEqual(task.flags, [
    "-A",
    "--allow-net=127.0.0.1",
    "--deny-env=HOME",
    "--unstable-kv",
    "--v8-flags=--max-old-space-size=64",
    "--include",
    "lib/a.ts",
    "--include=lib/b.ts",
    "--icon",
    "x.ico",
    "--no-terminal",
    "--exclude-unused-npm",
    "--config",
    "deno.json",
    "--lock=deno.lock",
    "--location",
    "http://x/",
    "--seed",
    "7",
    "--env-file",
  ]);
  assert.deepEqual(task.output, "out/bin");
  assert.deepEqual(task.target, "x86_64-pc-windows-msvc");
  assert.deepEqual(task.entry, "main.ts");
  assert.deepEqual(task.scriptArgs, ["baked", "--arg"]);
});

Deno.test("parseCompileTask() reads every spelling of --output", () => {
  for (const flag of ["--output out/x", "--output=out/x", "-o out/x", "-oout/x", "-o=out/x"]) {
    assert.deepEqual(parseCompileTask(`deno compile ${flag} m.ts`).output, "out/x", flag);
  }
  assert.deepEqual(parseCompileTask("deno compile m.ts").output, undefined);
});

Deno.test("parseCompileTask() treats --lock's next word as a value only when an entry remains", () => {
  assert.deepEqual(parseCompileTask("deno compile --lock m.ts").entry, "m.ts");
  const task = parseCompileTask("deno compile --lock my.lock m.ts");
  assert.deepEqual([task.runFlags, task.entry], [["--lock", "my.lock"], "m.ts"]);
});

Deno.test("parseCompileTask() rejects text that is not a deno compile command", async (t) => {
  const cases: [string, string][] = [
    ["deno run -A m.ts", 'expected it to start with "deno compile"'],
    ["FOO=1 deno compile m.ts", 'expected it to start with "deno compile"'],
    ["deno compile --allow-net --output dist/x", "no entry module after the flags"],
    ["deno compile --include", 'flag "--include" has no value'],
    ["deno compile m.ts && echo done", 'shell syntax "&"'],
  ];
  for (const [text, message] of cases) {
    await t.step(text, () => {
      throwsWith(() => parseCompileTask(text, "compile:x"), SyntaxError, message);
    });
  }
});

Deno.test("readEntryFlags() reads the real deno.json's compile tasks", async (t) => {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))) as {
    tasks: Record<string, string>;
  };
  for (const entry of ["server", "client"] as const) {
    await t.step(entry, async () => {
      const flags = await readEntryFlags(entry);
      assert.deepEqual(readEntryFlagsSync(entry), flags);
      assert(flags.length > 0, "expected some flags");
      // Every flag given to `deno run` appears verbatim in the one compile task.
      const words = config.tasks[`compile:${entry}`]!.split(/\s+/);
      for (const flag of flags) assert(words.includes(flag), `"${flag}" not in the task`);
      assert(flags.every((f) => !/^(--output|-o|--target)\b/.test(f)));
      const args = await runArgs(entry);
      assert.deepEqual(args, runArgsSync(entry));
      assert.deepEqual(args, ["run", ...flags, join(ROOT, `${entry}.ts`)]);
      assert.deepEqual(await entryFile(entry), join(ROOT, `${entry}.ts`));
    });
  }
});

Deno.test("runArgs() resolves the entry against the fixture's directory", async () => {
  const path = await fixture({
    "compile:server": "deno compile --allow-net --include extra.ts -o dist/s src/main.ts --flag",
    "compile:client": { command: "deno compile -R client.ts", description: "object form" },
  });
  try {
    const dir = join(path, "..");
    assert.deepEqual(await runArgs("server", path), [
      "run",
      "--allow-net",
      join(dir, "src/main.ts"),
      "--flag",
    ]);
    assert.deepEqual(await runArgs("client", pathToFileURL(path)), [
      "run",
      "-R",
      join(dir, "client.ts"),
    ]);
    const task = await readCompileTask("server", path);
    assert.deepEqual([task.name, task.root, task.output], ["compile:server", dir, "dist/s"]);
  } finally {
    await removeFixture(path);
  }
});

Deno.test("readEntryFlags() names the task and file when the task is missing", async () => {
  const path = await fixture({ "compile:server": "deno compile server.ts" });
  try {
    await assert.rejects(readEntryFlags("client", path), {
      name: "Error",
      message: `Cannot read task "compile:client": "${path}" has no such task`,
    });
  } finally {
    await removeFixture(path);
  }
});

Deno.test("readEntryFlagsSync() rejects a deno.json that is not JSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon_entry_flags_" });
  const path = join(dir, "deno.json");
  try {
    await Deno.writeTextFile(path, "{ tasks: ");
    throwsWith(() => readEntryFlagsSync("server", path), SyntaxError, `Cannot parse "${path}"`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
