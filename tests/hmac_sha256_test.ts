/**
 * The plain-TypeScript HMAC-SHA256 (hmac_sha256.ts) against WebCrypto, on the
 * RFC 4231 vectors and on random keys and messages of every length around
 * the block boundaries. Pure apart from WebCrypto; no permissions.
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { HmacSha256, sha256 } from "../lib/protocol/hmac_sha256.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const enc = new TextEncoder();

async function webHmac(key: Uint8Array, msg: Uint8Array): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return hex(new Uint8Array(await crypto.subtle.sign("HMAC", k, msg as Uint8Array<ArrayBuffer>)));
}

Deno.test("sha256() gives the FIPS 180-4 digests", () => {
  assert.equal(
    hex(sha256(enc.encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    hex(sha256(new Uint8Array(0))),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("HmacSha256 matches RFC 4231 test cases 1 and 6", () => {
  const case1 = new HmacSha256(new Uint8Array(20).fill(0x0b)).mac(enc.encode("Hi There"));
  assert.equal(hex(case1), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  const case6 = new HmacSha256(new Uint8Array(131).fill(0xaa)).mac(
    enc.encode("Test Using Larger Than Block-Size Key - Hash Key First"),
  );
  assert.equal(hex(case6), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
});

Deno.test("HmacSha256 matches WebCrypto on every length around the block boundaries", async () => {
  const key = enc.encode("test-token-0123456789abcdef");
  const h = new HmacSha256(key);
  for (let n = 0; n <= 200; n++) {
    const msg = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
    assert.equal(hex(h.mac(msg)), await webHmac(key, msg), `length ${n}`);
  }
});

Deno.test("HmacSha256 matches WebCrypto on random keys and messages", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 150 }),
      fc.uint8Array({ maxLength: 600 }),
      async (key, msg) => {
        assert.equal(hex(new HmacSha256(key).mac(msg)), await webHmac(key, msg));
      },
    ),
    { numRuns: 300 },
  );
});
