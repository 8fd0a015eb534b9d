/**
 * Process-level tests of the release tooling: `deno task release` either
 * builds the full layout with SHA256SUMS or, where deno compile cannot fetch
 * its runtime (this machine), fails with one line naming DENORT_BIN and
 * DENO_DIR and leaves no folder behind; `test:binaries` runs the end-to-end
 * checks on whatever binaries it is given and never passes without them.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { binaryFile, parseArgs, RELEASE_TARGETS, sha256sumsText } from "../tools/build.ts";
import { ROOT, VERSION } from "../tools/entry_flags.ts";
import { SKIPPED } from "../tools/test_binaries.ts";
import { FrameReader } from "../lib/protocol/framing.ts";
import { rawConnect, startServer, writeEntryWrapper } from "./helpers.ts";

const decoder = new TextDecoder();

/** Run a tool under `deno run -A` from the repository root. */
async function tool(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "tools", script), ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("sha256sumsText() writes what sha256sum -c reads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-sums-" });
  try {
    await Deno.mkdir(join(dir, "t"));
    await Deno.writeTextFile(join(dir, "t", "rmon"), "binary\n");
    const sum = decoder.decode(
      (await new Deno.Command("sha256sum", { args: ["t/rmon"], cwd: dir }).output()).stdout,
    );
    const [hex] = sum.split(" ");
    assert.equal(sha256sumsText([{ path: "t/rmon", sha256: hex! }]), sum);
    await Deno.writeTextFile(join(dir, "SHA256SUMS"), sum);
    const check = await new Deno.Command("sha256sum", { args: ["-c", "SHA256SUMS"], cwd: dir })
      .output();
    assert.ok(check.success);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build.ts parseArgs() and binaryFile()", () => {
  assert.deepEqual(parseArgs(["--", "--target", "x", "server"]).entries, ["server"]);
  assert.equal(parseArgs(["--out=/o"]).out, "/o");
  assert.equal(parseArgs(["--release"]).release, true);
  assert.throws(() => parseArgs(["--release", "--target", "x"]), TypeError);
  assert.throws(() => parseArgs(["--bogus"]), /unknown argument "--bogus"/);
  assert.equal(binaryFile("rmon", "x86_64-pc-windows-msvc"), "rmon.exe");
  assert.equal(binaryFile("rmon", "aarch64-apple-darwin"), "rmon");
  assert.equal(RELEASE_TARGETS.length, 5);
});

Deno.test("deno task release builds every target, or fails in one line leaving nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-release-" });
  const out = join(dir, "dist");
  try {
    const run = await tool("build.ts", ["--release", "--out", out]);
    if (run.code === 0) {
      // A machine that can fetch the runtime: the whole layout, checksummed.
      const sums = await Deno.readTextFile(join(out, VERSION, "SHA256SUMS"));
      for (const target of RELEASE_TARGETS) {
        for (const name of ["rmon-server", "rmon"]) {
          assert.match(
            sums,
            new RegExp(`^[0-9a-f]{64}  ${target}/${binaryFile(name, target)}$`, "m"),
          );
        }
      }
      assert.match(run.stdout, /^Released rmon /m);
      return;
    }
    // Here: deno compile cannot download denort.
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /^Cannot build "rmon-server": deno compile could not download/);
    assert.match(lines[0]!, /DENORT_BIN serves one target at a time/);
    assert.match(lines[0]!, /DENO_DIR pre-filled .*\/dl\/release\/v[\d.]+\/denort-/);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), [], "no dist/ folder left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DENORT_BIN: a release refuses it, a build names a missing one; nothing is left", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-release-" });
  try {
    await Deno.mkdir(join(dir, "dist"));
    const env = { DENORT_BIN: join(dir, "no-denort") };
    const release = await tool("build.ts", ["--release", "--out", join(dir, "dist")], env);
    assert.equal(release.code, 1);
    assert.match(
      release.stderr.trim(),
      /^Cannot release with DENORT_BIN set: it names one runtime/,
    );
    const build = await tool("build.ts", [
      "--target",
      "aarch64-apple-darwin",
      "--out",
      join(dir, "dist"),
    ], env);
    assert.equal(build.code, 1);
    assert.match(
      build.stderr.trim(),
      /^Cannot build "rmon-server": DENORT_BIN points at "[^"]*no-denort", which does not exist/,
    );
    // The dist folder existed before, so it stays; nothing inside it does.
    assert.deepEqual(await Array.fromAsync(Deno.readDir(join(dir, "dist"))), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("test:binaries runs end to end on the binaries it is given", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-binaries-" });
  try {
    // Stand-ins (deno run with the build's flags): no compiled binary can exist here.
    await writeEntryWrapper(dir, "server");
    await writeEntryWrapper(dir, "client");
    const run = await tool("test_binaries.ts", ["--bin-dir", dir]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /ram: ok\n.*exec: ok\n.*kill: the server exited 0\ntest:binaries passed/s,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("test:binaries without binaries says it did not run, never that it passed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-binaries-" });
  try {
    const run = await tool("test_binaries.ts", ["--bin-dir", dir]);
    assert.equal(run.code, SKIPPED);
    assert.match(run.stdout, /^test:binaries did not run: no rmon-server and rmon for /);
    assert.doesNotMatch(run.stdout + run.stderr, /passed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the server's hello carries deno.json's version", async () => {
  await using server = await startServer();
  await using conn = await rawConnect(server);
  const hello = JSON.parse((await new FrameReader(conn, 4096).read())!) as {
    method: string;
    params: { server: string };
  };
  assert.equal(hello.method, "hello");
  assert.equal(hello.params.server, VERSION);
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))) as {
    version: string;
  };
  assert.equal(VERSION, config.version);
});
