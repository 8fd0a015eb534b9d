/**
 * Integration tests of push, pull and exec input: the real `client.ts` in
 * one-shot mode against real server processes on loopback, with real files in
 * temporary folders; and raw connections that check the stream rules
 * themselves (window, checksum, order) against an in-process server.
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { EXIT_CODES } from "../lib/usage.ts";
import { ERROR_CODES, LIMITS } from "../lib/protocol/constants.ts";
import {
  addr,
  ndjson,
  olderServer,
  rawAuthenticated,
  runClient,
  startInProcessServer,
  startServer,
  TEST_TOKEN,
} from "./helpers.ts";

const env = { RMON_TOKEN: TEST_TOKEN };

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** `n` bytes that are not all alike (so a misplaced chunk changes the checksum). */
function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A chunk on the wire: its header frame, then its raw bytes. */
function chunkParts(id: number, seq: number, data: Uint8Array): Uint8Array[] {
  const header = { jsonrpc: "2.0", method: "chunk", params: { id, seq, bytes: data.length } };
  return [new TextEncoder().encode(JSON.stringify(header) + "\n"), data];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function sendChunk(conn: Deno.Conn, id: number, seq: number, data: Uint8Array) {
  const all = concat(chunkParts(id, seq, data));
  for (let off = 0; off < all.length;) off += await conn.write(all.subarray(off));
}

Deno.test("push and pull move files to and from every host, checksummed", async (t) => {
  await using a = await startServer();
  await using b = await startServer();
  const hosts = [addr(a), addr(b)].join(",");
  const dir = await Deno.makeTempDir({ prefix: "rmon-transfer-" });
  try {
    const local = `${dir}/app.conf`;
    const content = pattern(3 * LIMITS.streamChunkBytes + 12345);
    await Deno.writeFile(local, content, { mode: 0o640 });
    await Deno.chmod(local, 0o640);
    const remoteA = `${dir}/remote-a`;
    await Deno.mkdir(remoteA);
    const dest = `${remoteA}/app.conf`;

    await t.step("push writes the file with its mode on every host (json records)", async () => {
      // Both servers share this machine, so the two uploads go to two folders.
      const remoteB = `${dir}/remote-b/`;
      await Deno.mkdir(remoteB);
      const one = await runClient(["--hosts", addr(a), "--json", "--", `push ${local} ${dest}`], {
        env,
      });
      assert.equal(one.code, EXIT_CODES.ok, one.stderr);
      const [r] = ndjson(one.stdout);
      assert.equal(r!.status, "ok");
      const data = r!.data as Record<string, unknown>;
      assert.equal(data.created, 1);
      assert.equal(data.bytes, content.length);
      assert.equal(data.sha256, sha256(content));
      assert.equal(data.path, dest);
      assert.deepEqual(await Deno.readFile(dest), content);
      assert.equal((await Deno.stat(dest)).mode! & 0o777, 0o640);
      const two = await runClient(
        ["--hosts", addr(b), "--json", "--", `push ${local} ${remoteB}`],
        {
          env,
        },
      );
      assert.equal(two.code, EXIT_CODES.ok, two.stderr);
      assert.deepEqual(await Deno.readFile(`${remoteB}app.conf`), content);
    });

    await t.step("the same file again is unchanged on every host", async () => {
      const run = await runClient(["--hosts", hosts, "--json", "--", `push ${local} ${dest}`], {
        env,
      });
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      const records = ndjson(run.stdout);
      assert.equal(records.length, 2);
      for (const r of records) assert.equal((r.data as Record<string, unknown>).unchanged, 1);
    });

    await t.step(
      "other content is refused without --force (exists), replaced with it",
      async () => {
        await Deno.writeFile(local, pattern(1000, 7));
        const refused = await runClient([
          "--hosts",
          addr(a),
          "--json",
          "--",
          `push ${local} ${dest}`,
        ], {
          env,
        });
        assert.equal(refused.code, EXIT_CODES.error);
        const [r] = ndjson(refused.stdout);
        assert.equal(r!.status, "error");
        assert.match(String(r!.error), /exists with other content/);
        assert.deepEqual(await Deno.readFile(dest), content, "the old file is untouched");
        const forced = await runClient(
          ["--hosts", addr(a), "--json", "--", `push --force --mode 600 ${local} ${dest}`],
          { env },
        );
        assert.equal(forced.code, EXIT_CODES.ok, forced.stderr);
        assert.equal((ndjson(forced.stdout)[0]!.data as Record<string, unknown>).replaced, 1);
        assert.deepEqual(await Deno.readFile(dest), pattern(1000, 7));
        assert.equal((await Deno.stat(dest)).mode! & 0o777, 0o600);
        const leftovers = [...Deno.readDirSync(remoteA)].map((e) => e.name);
        assert.deepEqual(leftovers, ["app.conf"], "no temporary file is left behind");
      },
    );

    await t.step({
      name: "--owner sets the owner when the server runs as root" +
        (Deno.uid() === 0 ? "" : " (ignored: the tests do not run as root)"),
      ignore: Deno.uid() !== 0,
      fn: async () => {
        const run = await runClient(
          ["--hosts", addr(a), "--json", "--", `push --owner 1:2 ${local} ${dir}/owned`],
          { env },
        );
        assert.equal(run.code, EXIT_CODES.ok, run.stdout);
        const st = await Deno.stat(`${dir}/owned`);
        assert.equal(st.uid, 1);
        assert.equal(st.gid, 2);
      },
    });

    await t.step("push -r copies a folder tree", async () => {
      const tree = `${dir}/site`;
      await Deno.mkdir(`${tree}/css`, { recursive: true });
      await Deno.writeTextFile(`${tree}/index.html`, "<h1>hi</h1>\n");
      await Deno.writeTextFile(`${tree}/css/main.css`, "body{}\n");
      await Deno.writeFile(`${tree}/empty`, new Uint8Array(0));
      const run = await runClient(
        ["--hosts", addr(a), "--json", "--", `push -r ${tree} ${dir}/www/`],
        { env },
      );
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      const data = ndjson(run.stdout)[0]!.data as Record<string, unknown>;
      assert.equal(data.files, 3);
      assert.equal(data.created, 3);
      assert.equal(data.path, `${dir}/www/site`);
      assert.equal(await Deno.readTextFile(`${dir}/www/site/css/main.css`), "body{}\n");
      assert.equal(await Deno.readTextFile(`${dir}/www/site/index.html`), "<h1>hi</h1>\n");
      assert.equal((await Deno.stat(`${dir}/www/site/empty`)).size, 0);
      const noR = await runClient(["--hosts", addr(a), "--", `push ${tree} ${dir}/www/`], { env });
      assert.equal(noR.code, EXIT_CODES.usage);
      assert.match(noR.stderr, /a folder needs -r/);
    });

    await t.step("pull fetches into LOCALDIR/<host>/<name> from every host", async () => {
      const into = `${dir}/pulled`;
      const run = await runClient(["--hosts", hosts, "--json", "--", `pull ${dest} ${into}`], {
        env,
      });
      assert.equal(run.code, EXIT_CODES.ok, run.stderr);
      const records = ndjson(run.stdout);
      assert.equal(records.length, 2);
      for (const r of records) {
        const host = String(r.host);
        const got = await Deno.readFile(`${into}/${host}/app.conf`);
        assert.deepEqual(got, pattern(1000, 7));
        assert.equal((r.data as Record<string, unknown>).sha256, sha256(got));
      }
    });

    await t.step("pull of a missing file is an error naming it, per host", async () => {
      const run = await runClient(
        ["--hosts", addr(a), "--json", "--", `pull ${dir}/nope ${dir}/pulled`],
        { env },
      );
      assert.equal(run.code, EXIT_CODES.error);
      assert.match(String(ndjson(run.stdout)[0]!.error), /not found/);
    });

    await t.step("a relative remote path is a usage error", async () => {
      const run = await runClient(["--hosts", addr(a), "--", `push ${local} etc/app.conf`], {
        env,
      });
      assert.equal(run.code, EXIT_CODES.usage);
      assert.match(run.stderr, /is not absolute/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a read-only server refuses push and pull; --max-upload bounds a push", async () => {
  await using ro = await startServer({ args: ["--read-only"] });
  await using small = await startServer({ args: ["--max-upload", "1k"] });
  const dir = await Deno.makeTempDir({ prefix: "rmon-transfer-" });
  try {
    await Deno.writeFile(`${dir}/f`, pattern(2000));
    const push = await runClient(["--hosts", addr(ro), "--json", "--", `push ${dir}/f ${dir}/g`], {
      env,
    });
    assert.equal(push.code, EXIT_CODES.error);
    assert.match(String(ndjson(push.stdout)[0]!.error), /read-only/);
    const pull = await runClient(["--hosts", addr(ro), "--json", "--", `pull ${dir}/f ${dir}/p`], {
      env,
    });
    assert.equal(pull.code, EXIT_CODES.error);
    assert.match(String(ndjson(pull.stdout)[0]!.error), /read-only/);
    const big = await runClient(
      ["--hosts", addr(small), "--json", "--", `push ${dir}/f ${dir}/g`],
      {
        env,
      },
    );
    assert.equal(big.code, EXIT_CODES.error);
    assert.match(String(ndjson(big.stdout)[0]!.error), /over the server's 1024-byte limit/);
    await assert.rejects(Deno.stat(`${dir}/g`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--stdin sends one read of stdin to the command on every host", async () => {
  await using a = await startServer();
  await using b = await startServer();
  const input = "line\n".repeat(200_000); // 1 MB: several chunks, several windows
  const run = await runClient(
    ["--hosts", [addr(a), addr(b)].join(","), "--json", "--yes", "--stdin", "--", "sh: wc -c"],
    { env, stdin: input },
  );
  assert.equal(run.code, EXIT_CODES.ok, run.stderr);
  const records = ndjson(run.stdout);
  assert.equal(records.length, 2);
  for (const r of records) assert.equal(String(r.stdout).trim(), String(input.length));
  // Small enough for the pipe: rmon stops reading once no command wants more, as `head` does.
  const early = await runClient(
    ["--hosts", addr(a), "--json", "--stdin", "--", "sh: head -c 3"],
    { env, stdin: input.slice(0, 30_000) },
  );
  assert.equal(early.code, EXIT_CODES.ok, "a command that stops reading early still ends");
  assert.equal(ndjson(early.stdout)[0]!.stdout, "lin");
  const wrong = await runClient(["--hosts", addr(a), "--stdin", "--", "ram"], { env });
  assert.equal(wrong.code, EXIT_CODES.usage);
});

Deno.test("upload stream rules: window, order and checksum are enforced", async (t) => {
  await using server = await startInProcessServer();
  const dir = await Deno.makeTempDir({ prefix: "rmon-transfer-" });
  try {
    await t.step("a wrong checksum fails the upload and leaves nothing", async () => {
      await using c = await rawAuthenticated(server);
      const data = pattern(100);
      await c.send({
        jsonrpc: "2.0",
        id: 1,
        method: "upload",
        params: { path: `${dir}/x`, size: 100, sha256: "0".repeat(64) },
      });
      const ready = await c.next() as { method: string; params: { window: number } };
      assert.equal(ready.method, "ready");
      assert.equal(ready.params.window, LIMITS.streamWindow);
      await sendChunk(c.conn, 1, 0, data);
      const ack = await c.next() as { method: string };
      assert.equal(ack.method, "ack");
      const answer = await c.next() as { error: { code: number } };
      assert.equal(answer.error.code, ERROR_CODES.checksumMismatch);
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    });

    await t.step("chunks beyond the window fail the call", async () => {
      await using c = await rawAuthenticated(server);
      const size = 20 * 1024;
      const data = pattern(size);
      await c.send({
        jsonrpc: "2.0",
        id: 2,
        method: "upload",
        params: { path: `${dir}/y`, size, sha256: sha256(data) },
      });
      await c.next(); // ready
      // Chunks of 1 byte, all at once: the server may hold at most `window` of them,
      // which it cannot consume faster than they arrive here in one write.
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 200; i++) parts.push(...chunkParts(2, i, data.subarray(i, i + 1)));
      await c.conn.write(concat(parts));
      let answer: { id?: number; error?: { code: number; message: string } };
      do answer = await c.next() as typeof answer; while (answer.id !== 2);
      assert.equal(answer.error?.code, ERROR_CODES.invalidParams);
      assert.match(answer.error!.message, /beyond the window/);
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    });

    await t.step("a chunk out of order fails the call", async () => {
      await using c = await rawAuthenticated(server);
      await c.send({
        jsonrpc: "2.0",
        id: 3,
        method: "upload",
        params: { path: `${dir}/z`, size: 2, sha256: "0".repeat(64) },
      });
      await c.next(); // ready
      await sendChunk(c.conn, 3, 1, new Uint8Array(1));
      const answer = await c.next() as { error: { code: number; message: string } };
      assert.equal(answer.error.code, ERROR_CODES.invalidParams);
      assert.match(answer.error.message, /expected 0/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("download never sends more than the window ahead of the acks", async () => {
  await using server = await startInProcessServer();
  const dir = await Deno.makeTempDir({ prefix: "rmon-transfer-" });
  try {
    const content = pattern(20 * LIMITS.streamChunkBytes + 7);
    await Deno.writeFile(`${dir}/big`, content);
    await using c = await rawAuthenticated(server);
    await c.send({ jsonrpc: "2.0", id: 1, method: "download", params: { path: `${dir}/big` } });
    const ready = await c.next() as { method: string; params: { size: number; window: number } };
    assert.equal(ready.method, "ready");
    assert.equal(ready.params.size, content.length);
    const got: Uint8Array[] = [];
    const readChunk = async () => {
      const frame = await c.next() as { method?: string; params: { seq: number; bytes: number } };
      assert.equal(frame.method, "chunk");
      got.push(await c.bytes(frame.params.bytes));
      return frame.params.seq;
    };
    for (let i = 0; i < ready.params.window; i++) assert.equal(await readChunk(), i);
    // Without an ack, nothing more comes: a heartbeat's answer overtakes the stream.
    await c.send({ jsonrpc: "2.0", id: 2, method: "heartbeat" });
    const beat = await c.next() as { id?: number };
    assert.equal(beat.id, 2, "the server waited for an ack instead of sending chunk 8");
    const ack = (seq: number) => c.send({ jsonrpc: "2.0", method: "ack", params: { id: 1, seq } });
    for (let s = 0; s < ready.params.window; s++) await ack(s);
    let answer: { id?: number; result?: { sha256: string; bytes: number } };
    while (true) {
      const frame = await c.next() as {
        method?: string;
        id?: number;
        params: { seq: number; bytes: number };
      };
      if (frame.method !== "chunk") {
        answer = frame as typeof answer;
        break;
      }
      got.push(await c.bytes(frame.params.bytes));
      await ack(frame.params.seq);
    }
    const all = new Uint8Array(got.reduce((n, b) => n + b.length, 0));
    let off = 0;
    for (const b of got) {
      all.set(b, off);
      off += b.length;
    }
    assert.deepEqual(all, content);
    assert.equal(answer?.result?.sha256, sha256(content));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the console pushes and pulls, one line per host", async () => {
  await using a = await startServer();
  await using b = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "rmon-transfer-" });
  try {
    await Deno.writeTextFile(`${dir}/motd`, "hello fleet\n");
    const run = await runClient([addr(a), addr(b)], {
      env,
      stdin: `push ${dir}/motd ${dir}/motd.copy\n@${addr(a)} pull ${dir}/motd.copy ${dir}/got\n` +
        `push ${dir}/nope ${dir}/x\n`,
      timeoutMs: 30_000,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(`${addr(a)}: (created|replaced|unchanged) ${dir}/motd\\.copy`),
    );
    assert.match(
      run.stdout,
      new RegExp(`${addr(b)}: (created|replaced|unchanged) ${dir}/motd\\.copy`),
    );
    assert.match(run.stdout, /2 hosts: 2 ok/);
    assert.equal(await Deno.readTextFile(`${dir}/got/${addr(a)}/motd.copy`), "hello fleet\n");
    assert.match(run.stdout + run.stderr, /Cannot push ".*nope": no such file or folder/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const MOUNT_REASON = Deno.build.os !== "linux"
  ? "needs Linux mount namespaces"
  : Deno.uid() !== 0
  ? "needs root to mount a small tmpfs in a private mount namespace"
  : null;

Deno.test({
  name: "push reports a full disk as no space left, and leaves no partial file" +
    (MOUNT_REASON ? ` (ignored: ${MOUNT_REASON})` : ""),
  ignore: MOUNT_REASON !== null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rmon-transfer-" });
    try {
      const small = `${dir}/small`;
      await Deno.mkdir(small);
      // The server alone sees a 256 KiB file system at `small`, in its own mount namespace.
      await using server = await startServer({
        wrap: {
          cmd: "/usr/bin/unshare",
          args: [
            "-m",
            "/bin/sh",
            "-c",
            `/usr/bin/mount -t tmpfs -o size=256k tmpfs ${small} && exec "$0" "$@"`,
          ],
        },
      });
      await Deno.writeFile(`${dir}/big`, pattern(1024 * 1024));
      const full = await runClient(
        ["--hosts", addr(server), "--json", "--", `push ${dir}/big ${small}/big`],
        { env },
      );
      assert.equal(full.code, EXIT_CODES.error);
      assert.match(String(ndjson(full.stdout)[0]!.error), /no space left/);
      // The partial temporary file is gone: a file of 200 KiB still fits.
      await Deno.writeFile(`${dir}/fits`, pattern(200 * 1024));
      const fits = await runClient(
        ["--hosts", addr(server), "--json", "--", `push ${dir}/fits ${small}/fits`],
        { env },
      );
      assert.equal(fits.code, EXIT_CODES.ok, fits.stdout);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the audit log records each transfer with its path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-transfer-" });
  try {
    await using server = await startServer({ args: ["--audit-log", `${dir}/audit.log`] });
    await Deno.writeTextFile(`${dir}/f`, "x");
    const run = await runClient(["--hosts", addr(server), "--", `push ${dir}/f ${dir}/g`], { env });
    assert.equal(run.code, EXIT_CODES.ok, run.stderr);
    const pulled = await runClient(["--hosts", addr(server), "--", `pull ${dir}/g ${dir}/p`], {
      env,
    });
    assert.equal(pulled.code, EXIT_CODES.ok, pulled.stderr);
    const lines = ndjson(await Deno.readTextFile(`${dir}/audit.log`));
    const upload = lines.find((l) => l.event === "upload");
    const download = lines.find((l) => l.event === "download");
    assert.equal(upload?.path, `${dir}/g`);
    assert.equal(upload?.ok, true);
    assert.equal(download?.path, `${dir}/g`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Why the immutable-folder test cannot run here, or null. */
async function chattrReason(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "needs Linux chattr";
  if (Deno.uid() !== 0) return "needs root to make a folder immutable";
  try {
    const out = await new Deno.Command("chattr", { args: ["--help"], stderr: "null" }).output();
    return out.code === 127 ? "chattr is not installed" : null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "chattr is not installed";
    throw err;
  }
}

const CHATTR_REASON = await chattrReason();

Deno.test({
  name: "push reports a folder it may not write to as permission denied" +
    (CHATTR_REASON ? ` (ignored: ${CHATTR_REASON})` : ""),
  ignore: CHATTR_REASON !== null,
  fn: async () => {
    await using server = await startServer();
    const dir = await Deno.makeTempDir({ prefix: "rmon-transfer-" });
    const locked = `${dir}/locked`;
    await Deno.mkdir(locked);
    // Immutable: not even root may create a file in it (EPERM), so the real OS error is seen.
    const lock = (flag: string) => new Deno.Command("chattr", { args: [flag, locked] }).output();
    try {
      assert.ok((await lock("+i")).success, "chattr +i");
      await Deno.writeTextFile(`${dir}/f`, "x");
      const run = await runClient(
        ["--hosts", addr(server), "--json", "--", `push ${dir}/f ${locked}/f`],
        { env },
      );
      assert.equal(run.code, EXIT_CODES.error);
      assert.match(String(ndjson(run.stdout)[0]!.error), /permission denied/);
    } finally {
      await lock("-i");
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a server from before streams gets a clear 'does not support' per host", async () => {
  await using old = olderServer(TEST_TOKEN);
  const dir = await Deno.makeTempDir({ prefix: "rmon-transfer-" });
  try {
    await Deno.writeTextFile(`${dir}/f`, "x");
    const cases: [string[], RegExp][] = [
      [["--", `push ${dir}/f ${dir}/g`], /does not support push \(upgrade rmon-server\)/],
      [["--", `pull ${dir}/f ${dir}/p`], /does not support pull/],
      [["--stdin", "--", "sh: cat"], /does not support --stdin/],
    ];
    for (const [args, message] of cases) {
      const run = await runClient(["--hosts", addr(old), "--json", ...args], { env, stdin: "x" });
      assert.equal(run.code, EXIT_CODES.error, run.stderr);
      assert.match(String(ndjson(run.stdout)[0]!.error), message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
