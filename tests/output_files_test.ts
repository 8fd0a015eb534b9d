/** Tests of `-o DIR` / `-e DIR`: file names per host and the saved files. */

import assert from "node:assert/strict";
import { hostFileName, OutputFiles } from "../lib/client/output_files.ts";

Deno.test("hostFileName() keeps the name but never makes it a path", () => {
  const cases: [string, string][] = [
    ["web1", "web1"],
    ["127.0.0.1:5050", "127.0.0.1:5050"],
    ["[::1]:5050", "[::1]:5050"],
    ["a/b", "a_b"],
    ["../../etc/passwd", ".._.._etc_passwd"],
    ["a\\b", "a_b"],
    ["nul\0x", "nul_x"],
    [".", "_."],
    ["..", "_.."],
    ["", "_"],
  ];
  for (const [host, want] of cases) assert.equal(hostFileName(host), want, host);
});

Deno.test("OutputFiles saves stdout and stderr per host in private directories", async () => {
  const base = await Deno.makeTempDir({ prefix: "rmon-test-outfiles-" });
  try {
    const files = new OutputFiles({ stdout: `${base}/out/deep`, stderr: `${base}/err` });
    await files.prepare();
    assert.equal((await Deno.stat(`${base}/out/deep`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${base}/err`)).mode! & 0o777, 0o700);
    files.save({ host: "web1", status: "ok", stdout: "hi\n", stderr: "", durationMs: 1 });
    files.save({ host: "a/b", status: "nonzero", stdout: "", stderr: "oops\n", durationMs: 1 });
    // A host whose command never ran gets no file.
    files.save({ host: "db1", status: "unreachable", error: "refused", durationMs: 0 });
    assert.deepEqual(await files.settle(), []);
    assert.equal(await Deno.readTextFile(`${base}/out/deep/web1`), "hi\n");
    assert.equal(await Deno.readTextFile(`${base}/out/deep/a_b`), "");
    assert.equal(await Deno.readTextFile(`${base}/err/a_b`), "oops\n");
    assert.equal(await Deno.readTextFile(`${base}/err/web1`), "");
    assert.equal((await Deno.stat(`${base}/err/a_b`)).mode! & 0o777, 0o600);
    await assert.rejects(Deno.stat(`${base}/out/deep/db1`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("OutputFiles names what it could not do", async () => {
  const base = await Deno.makeTempDir({ prefix: "rmon-test-outfiles-" });
  try {
    await Deno.writeTextFile(`${base}/file`, "");
    await assert.rejects(
      new OutputFiles({ stdout: `${base}/file` }).prepare(),
      /^Error: Cannot create output directory ".*\/file": /,
    );
    const files = new OutputFiles({ stdout: `${base}/gone` });
    await files.prepare();
    await Deno.remove(`${base}/gone`);
    files.save({ host: "web1", status: "ok", stdout: "x", stderr: "", durationMs: 1 });
    const [message] = await files.settle();
    assert.match(message ?? "", /^Cannot write stdout of web1 to ".*\/gone\/web1": /);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
