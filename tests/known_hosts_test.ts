/**
 * Unit tests of the trust-on-first-use store and the fingerprint syntax it
 * writes: record, match, refuse a change, keep hand edits and odd lines.
 * @module
 */

import assert from "node:assert/strict";
import { TrustError } from "../lib/protocol/errors.ts";
import { KnownHosts, knownHostsPath } from "../lib/client/known_hosts.ts";
import { formatFingerprint, parseFingerprint } from "../lib/protocol/fingerprint.ts";
import { channelBinding, isLoopbackHost } from "../lib/protocol/transport.ts";

const FP1 = "11".repeat(32);
const FP2 = "22".repeat(32);

Deno.test("parseFingerprint() takes what people paste and refuses the rest", async (t) => {
  await t.step("sha256: and hex, any case, with or without colons", () => {
    for (
      const text of [
        `sha256:${FP1}`,
        FP1,
        `SHA256:${FP1.toUpperCase()}`,
        FP1.match(/../g)!.join(":"),
      ]
    ) {
      assert.equal(parseFingerprint(text), FP1, text);
    }
  });
  await t.step("wrong length, other digests and junk", () => {
    for (const text of ["", "sha256:", FP1.slice(2), `${FP1}00`, `md5:${FP1}`, "z".repeat(64)]) {
      assert.throws(() => parseFingerprint(text), SyntaxError, text);
    }
  });
  assert.equal(formatFingerprint(FP1), `sha256:${FP1}`);
});

Deno.test("channelBinding() and isLoopbackHost() name what the handshake binds", () => {
  assert.equal(channelBinding({ kind: "plain" }), "plain");
  assert.equal(channelBinding({ kind: "tls", fingerprint: FP1 }), `tls:sha256:${FP1}`);
  for (const h of ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "LOCALHOST"]) {
    assert.equal(isLoopbackHost(h), true, h);
  }
  for (const h of ["10.0.0.1", "0.0.0.0", "::", "example.org", "128.0.0.1", "localhost.example"]) {
    assert.equal(isLoopbackHost(h), false, h);
  }
});

Deno.test("KnownHosts records a first fingerprint and refuses a changed one", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-known-hosts-" });
  const path = `${dir}/sub/known_hosts`;
  try {
    await t.step("first use writes a private file in a private folder", () => {
      const store = KnownHosts.load(path);
      store.check("10.0.0.1:5050", FP1);
      assert.equal(Deno.readTextFileSync(path), `10.0.0.1:5050 sha256:${FP1}\n`);
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
      assert.equal(Deno.statSync(`${dir}/sub`).mode! & 0o777, 0o700);
    });
    await t.step("the same fingerprint passes, read back from the file", () => {
      KnownHosts.load(path).check("10.0.0.1:5050", FP1);
      assert.equal(Deno.readTextFileSync(path).split("\n").length, 2, "nothing appended");
    });
    await t.step("a changed one throws TrustError naming both and the line", () => {
      Deno.writeTextFileSync(path, `# comment\nbad line\n10.0.0.1:5050 sha256:${FP1}\n`);
      const store = KnownHosts.load(path);
      assert.throws(() => store.check("10.0.0.1:5050", FP2), (err) => {
        assert.ok(err instanceof TrustError);
        assert.match(err.message, new RegExp(`CHANGED to sha256:${FP2}`));
        assert.match(err.message, new RegExp(`line 3 records sha256:${FP1}`));
        assert.match(err.message, /delete line 3 of /);
        return true;
      });
    });
    await t.step("a file without a final newline gets its record on a line of its own", () => {
      Deno.writeTextFileSync(path, `10.0.0.1:5050 sha256:${FP1}`);
      const store = KnownHosts.load(path);
      store.check("[::1]:6000", FP2);
      assert.equal(
        Deno.readTextFileSync(path),
        `10.0.0.1:5050 sha256:${FP1}\n[::1]:6000 sha256:${FP2}\n`,
      );
      assert.equal(store.get("[::1]:6000"), FP2);
    });
    await t.step("its default path follows the state directory", () => {
      const env = (n: string) =>
        ({ HOME: "/home/a", XDG_STATE_HOME: "/xdg" } as Record<string, string>)[n];
      assert.equal(knownHostsPath(env), "/xdg/rmon/known_hosts");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
