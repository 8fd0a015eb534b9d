/**
 * Tests of tools/entry_flags.ts: every command line (compile, run, cache) is
 * composed from deno.json's one `binaries` definition, and the `deno run` line
 * really starts each program.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  binarySpec,
  cacheArgs,
  checkSpec,
  compileArgs,
  ENTRIES,
  entryFile,
  ROOT,
  runArgs,
  runFlags,
  VERSION,
} from "../tools/entry_flags.ts";

const SPEC = {
  name: "demo",
  entry: "src/main.ts",
  options: ["--no-config"],
  permissions: ["--allow-net=127.0.0.1", "--deny-env=HOME"],
  include: ["src/extra.ts"],
};

Deno.test("compileArgs(), runArgs() and cacheArgs() share one definition", () => {
  assert.deepEqual(runArgs(SPEC, "/r"), [
    "run",
    "--no-config",
    "--allow-net=127.0.0.1",
    "--deny-env=HOME",
    "/r/src/main.ts",
  ]);
  assert.deepEqual(
    compileArgs(SPEC, { output: "/o/demo", target: "aarch64-apple-darwin" }, "/r"),
    [
      "compile",
      "--no-config",
      "--allow-net=127.0.0.1",
      "--deny-env=HOME",
      "--include",
      "/r/src/extra.ts",
      "--output",
      "/o/demo",
      "--target",
      "aarch64-apple-darwin",
      "/r/src/main.ts",
    ],
  );
  assert.deepEqual(compileArgs(SPEC, { output: "x" }, "/r").includes("--target"), false);
  assert.deepEqual(runFlags(SPEC), runArgs(SPEC, "/r").slice(1, -1), "run flags, no entry");
  assert.deepEqual(cacheArgs(SPEC, "/r"), [
    "cache",
    "--no-config",
    "/r/src/main.ts",
    "/r/src/extra.ts",
  ]);
  assert.deepEqual(
    cacheArgs({ ...SPEC, include: ["src/static", "src/late.ts"] }, "/r").slice(3),
    ["/r/src/late.ts"],
    "folders of files are not modules",
  );
});

Deno.test("v8Flags reach run and compile lines as one --v8-flags, never cache", () => {
  const spec = { ...SPEC, v8Flags: ["--optimize-for-size", "--max-semi-space-size=2"] };
  const flag = "--v8-flags=--optimize-for-size,--max-semi-space-size=2";
  assert.deepEqual(runArgs(spec, "/r").slice(0, 3), ["run", "--no-config", flag]);
  assert.ok(compileArgs(spec, { output: "x" }, "/r").includes(flag));
  assert.deepEqual(runFlags(spec), ["--no-config", flag, ...SPEC.permissions], "run flags too");
  assert.ok(!cacheArgs(spec, "/r").some((w) => w.startsWith("--v8-flags")));
  assert.deepEqual(checkSpec("demo", spec).v8Flags, spec.v8Flags);
  assert.deepEqual(checkSpec("demo", SPEC).v8Flags, [], "optional");
  assert.throws(() => checkSpec("demo", { ...SPEC, v8Flags: ["--a,--b"] }), /\.v8Flags/);
  assert.throws(
    () => checkSpec("demo", { ...SPEC, options: ["--v8-flags=--max-semi-space-size=4"] }),
    /\.options/,
    "V8 flags belong in v8Flags",
  );
});

Deno.test("checkSpec() refuses a definition the tools could not compose", async (t) => {
  const cases: [string, unknown, string][] = [
    ["missing", undefined, "missing"],
    ["no entry", { ...SPEC, entry: "" }, ".entry"],
    ["a separate flag value", { ...SPEC, options: ["--lock", "x.lock"] }, ".options"],
    ["a non-permission flag", { ...SPEC, permissions: ["--no-config"] }, ".permissions"],
    ["a flag as include", { ...SPEC, include: ["--x"] }, ".include"],
  ];
  for (const [name, raw, fragment] of cases) {
    await t.step(name, () => {
      assert.throws(() => checkSpec("x", raw), (err: unknown) => {
        assert.ok(err instanceof TypeError && err.message.includes(fragment), String(err));
        return true;
      });
    });
  }
});

Deno.test("binarySpec() reads the real deno.json", () => {
  for (const entry of ENTRIES) {
    const spec = binarySpec(entry);
    assert.equal(entryFile(entry), join(ROOT, `${entry}.ts`));
    assert.deepEqual(runArgs(entry).at(-1), join(ROOT, spec.entry));
  }
  assert.equal(binarySpec("server").name, "rmon-server");
  assert.equal(binarySpec("client").name, "rmon");
  // The client stays narrow: no --allow-all, subprocesses only ssh and scp (bootstrap).
  assert.ok(!binarySpec("client").permissions.includes("--allow-all"));
  assert.ok(binarySpec("client").permissions.includes("--allow-run=ssh,scp"));
});

Deno.test("runArgs() starts each real program, which prints deno.json's version", async () => {
  const names = { server: "rmon-server", client: "rmon" };
  for (const entry of ENTRIES) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...runArgs(entry), "--version"],
      stdin: "null",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(new TextDecoder().decode(out.stdout), `${names[entry]} ${VERSION}\n`);
  }
});
