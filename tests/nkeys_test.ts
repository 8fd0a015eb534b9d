/**
 * Unit tests of rmon's NATS user nkeys (lib/protocol/nkeys.ts) and of the
 * CONNECT sign-in fields (`connectAuthFields` in lib/protocol/nats_auth.ts),
 * checked against the NATS project's own nkeys package as the reference:
 * public keys and signatures of random seeds, seeds encoded here read there,
 * bad seeds refused, base32 and CRC-16 against published vectors.
 * @module
 */

import assert from "node:assert/strict";
import { nkeys } from "@nats-io/transport-node";
import {
  base32Decode,
  base32Encode,
  crc16,
  decodeUserSeed,
  nkeySigner,
  userPublicKey,
} from "../lib/protocol/nkeys.ts";
import { connectAuthFields } from "../lib/protocol/nats_auth.ts";
import { fromBase64Url, toBase64Url } from "../lib/protocol/auth.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A fresh user key pair of the reference package, and its seed as text. */
function referenceUser(): { kp: nkeys.KeyPair; seed: string } {
  const kp = nkeys.createUser();
  return { kp, seed: decoder.decode(kp.getSeed()) };
}

/** A creds file as `nsc` writes it: the user JWT block, then the seed block. */
function credsText(jwt: string, seed: string): string {
  return `-----BEGIN NATS USER JWT-----
${jwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
${seed}
------END USER NKEY SEED------

*************************************************************
`;
}

/** A user JWT as an account signs it (ed25519-nkey), for the user `userPub`. */
function userJwt(account: nkeys.KeyPair, userPub: string): string {
  const part = (o: unknown) => toBase64Url(encoder.encode(JSON.stringify(o)));
  const head = part({ typ: "JWT", alg: "ed25519-nkey" });
  const claims = part({
    jti: "TEST",
    iat: 1700000000,
    iss: account.getPublicKey(),
    name: "ops",
    sub: userPub,
    nats: { pub: {}, sub: {}, subs: -1, data: -1, payload: -1, type: "user", version: 2 },
  });
  const sig = toBase64Url(account.sign(encoder.encode(`${head}.${claims}`)));
  return `${head}.${claims}.${sig}`;
}

Deno.test('crc16() is CRC-16/XMODEM (check value of "123456789")', () => {
  assert.equal(crc16(encoder.encode("123456789")), 0x31c3);
  assert.equal(crc16(new Uint8Array(0)), 0);
});

Deno.test("base32Encode() and base32Decode() match RFC 4648 and round-trip", () => {
  const vectors: [string, string][] = [
    ["", ""],
    ["f", "MY"],
    ["fo", "MZXQ"],
    ["foo", "MZXW6"],
    ["foob", "MZXW6YQ"],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI"],
  ];
  for (const [plain, coded] of vectors) {
    assert.equal(base32Encode(encoder.encode(plain)), coded);
    assert.equal(decoder.decode(base32Decode(coded)), plain);
  }
  for (let n = 0; n < 70; n++) {
    const bytes = crypto.getRandomValues(new Uint8Array(n));
    const text = base32Encode(bytes);
    assert.match(text, /^[A-Z2-7]*$/);
    assert.equal(text.length, Math.ceil((n * 8) / 5));
    assert.deepEqual(base32Decode(text), bytes, `length ${n}`);
  }
  for (const bad of ["MZXW6a", "MZXW0", "MZX W6", "MZXW6=", "MZXW1", "MZ\u00c9"]) {
    assert.throws(() => base32Decode(bad), SyntaxError, bad);
  }
});

Deno.test("nkeySigner() gives the reference package's public key and signatures", async () => {
  for (let i = 0; i < 8; i++) {
    const { kp, seed } = referenceUser();
    const signer = await nkeySigner(seed);
    assert.equal(signer.publicKey, kp.getPublicKey());
    assert.match(signer.publicKey, /^U[A-Z2-7]{55}$/);
    for (const nonce of ["", "abc", `nonce-${i}-${crypto.randomUUID()}`, "\u00e9\u00e8"]) {
      const sig = await signer.sign(nonce);
      assert.match(sig, /^[A-Za-z0-9_-]{86}$/, "base64url, no padding");
      const raw = fromBase64Url(sig);
      // Ed25519 is deterministic: the very bytes the reference signs, and they verify there.
      assert.deepEqual(raw, kp.sign(encoder.encode(nonce)));
      assert.ok(nkeys.fromPublic(kp.getPublicKey()).verify(encoder.encode(nonce), raw));
      assert.ok(!kp.verify(encoder.encode(nonce + "x"), raw));
    }
  }
});

Deno.test("a seed encoded here is read by the reference package, and back", async () => {
  for (let i = 0; i < 8; i++) {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    // Seed prefix: "S" (18 << 3) with the user type (20 << 3) split over two bytes.
    const body = new Uint8Array(34);
    body[0] = (18 << 3) | ((20 << 3) >> 5);
    body[1] = ((20 << 3) & 31) << 3;
    body.set(raw, 2);
    const crc = crc16(body);
    const seed = base32Encode(Uint8Array.of(...body, crc & 0xff, crc >> 8));
    assert.match(seed, /^SU[A-Z2-7]{56}$/);
    const kp = nkeys.fromSeed(encoder.encode(seed));
    assert.deepEqual(decodeUserSeed(seed), raw);
    assert.equal((await nkeySigner(seed)).publicKey, kp.getPublicKey());
    // The public key from the raw Ed25519 key: as the reference encodes it.
    assert.equal(userPublicKey(publicRaw(kp)), kp.getPublicKey());
  }
});

/** The raw 32-byte Ed25519 public key of a reference key pair (its nkey decoded). */
function publicRaw(kp: nkeys.KeyPair): Uint8Array {
  return base32Decode(kp.getPublicKey()).slice(1, 33);
}

Deno.test("decodeUserSeed() and nkeySigner() refuse what is not a user seed", async (t) => {
  const { seed } = referenceUser();
  const others: [string, string][] = [
    ["an account seed (SA…)", decoder.decode(nkeys.createAccount().getSeed())],
    ["an operator seed (SO…)", decoder.decode(nkeys.createOperator().getSeed())],
    ["a server seed (SN…)", decoder.decode(nkeys.createServer().getSeed())],
    ["a user's public key (U…)", nkeys.fromSeed(encoder.encode(seed)).getPublicKey()],
  ];
  for (const [what, text] of others) {
    await t.step(what, async () => {
      assert.throws(() => decodeUserSeed(text), SyntaxError);
      await assert.rejects(nkeySigner(text), SyntaxError);
    });
  }
  await t.step("a wrong checksum (one character changed)", () => {
    for (const at of [2, 20, 40, 55]) {
      const c = seed[at]!;
      const bad = seed.slice(0, at) + (c === "A" ? "B" : "A") + seed.slice(at + 1);
      assert.throws(() => decodeUserSeed(bad), /bad checksum/, `at ${at}`);
    }
    // The checksum bytes themselves changed.
    const bad = seed.slice(0, 56) + (seed[56] === "A" ? "B" : "A") + seed[57];
    assert.throws(() => decodeUserSeed(bad), /bad checksum/);
  });
  await t.step("bad characters", () => {
    for (const c of ["a", "0", "1", "8", "9", "=", "!", " ", "\u00d8"]) {
      const bad = seed.slice(0, 30) + c + seed.slice(31);
      assert.throws(() => decodeUserSeed(bad), SyntaxError, JSON.stringify(c));
    }
    assert.throws(() => decodeUserSeed(seed.toLowerCase()), SyntaxError);
  });
  await t.step("a wrong length", () => {
    for (const bad of ["", "SU", seed.slice(0, 57), seed.slice(0, 56), seed + "AA", seed + seed]) {
      assert.throws(() => decodeUserSeed(bad), SyntaxError, `${bad.length} characters`);
    }
  });
  await t.step("one character too many (base32's spare bits hide it from the checksum)", () => {
    // 59 characters decode to the same 36 bytes as the seed's 58: still not a seed.
    assert.throws(() => decodeUserSeed(seed + "A"), /wrong length/);
  });
  await t.step("blanks around a good seed are taken (a seed file's line end)", () => {
    assert.deepEqual(decodeUserSeed(` ${seed}\n`), decodeUserSeed(seed));
  });
});

Deno.test("connectAuthFields() says each kind of sign-in as NATS's CONNECT wants it", async (t) => {
  await t.step("none: no fields", async () => {
    assert.deepEqual(await connectAuthFields(undefined, "nonce"), {});
    assert.deepEqual(await connectAuthFields({ kind: "none" }, "nonce"), {});
    assert.deepEqual(await connectAuthFields({ kind: "none" }, undefined), {});
  });
  await t.step("token: auth_token only", async () => {
    const fields = await connectAuthFields({ kind: "token", token: "s3cret" }, "nonce");
    assert.deepEqual(fields, { auth_token: "s3cret" });
  });
  await t.step("a bare seed file: nkey and the nonce's signature", async () => {
    const { kp, seed } = referenceUser();
    const creds = encoder.encode(`${seed}\n`);
    const fields = await connectAuthFields({ kind: "creds", creds }, "server-nonce-1");
    assert.deepEqual(Object.keys(fields).sort(), ["nkey", "sig"]);
    assert.equal(fields.nkey, kp.getPublicKey());
    assert.ok(kp.verify(encoder.encode("server-nonce-1"), fromBase64Url(fields.sig!)));
    // No nonce (a server that asks none): the key alone.
    assert.deepEqual(await connectAuthFields({ kind: "creds", creds }, undefined), {
      nkey: kp.getPublicKey(),
    });
  });
  await t.step("an nsc creds file: the user JWT and the nonce signed by its seed", async () => {
    const { kp, seed } = referenceUser();
    const jwt = userJwt(nkeys.createAccount(), kp.getPublicKey());
    const creds = encoder.encode(credsText(jwt, seed));
    const fields = await connectAuthFields({ kind: "creds", creds }, "nonce-\u00e9-2");
    assert.deepEqual(Object.keys(fields).sort(), ["jwt", "sig"]);
    assert.equal(fields.jwt, jwt);
    const sig = fromBase64Url(fields.sig!);
    assert.ok(nkeys.fromPublic(kp.getPublicKey()).verify(encoder.encode("nonce-\u00e9-2"), sig));
    assert.ok(!nkeys.createUser().verify(encoder.encode("nonce-\u00e9-2"), sig));
    // CRLF line ends (a file from Windows) read the same.
    const crlf = encoder.encode(credsText(jwt, seed).replaceAll("\n", "\r\n"));
    assert.deepEqual(await connectAuthFields({ kind: "creds", creds: crlf }, "n"), {
      jwt,
      sig: toBase64Url(kp.sign(encoder.encode("n"))),
    });
  });
  await t.step("the signer is given the seed block's seed", async () => {
    const { seed } = referenceUser();
    const seen: string[] = [];
    const jwt = userJwt(nkeys.createAccount(), "UXXX");
    await connectAuthFields(
      { kind: "creds", creds: encoder.encode(credsText(jwt, seed)) },
      "n",
      (s) => {
        seen.push(s);
        return nkeySigner(s);
      },
    );
    assert.deepEqual(seen, [seed]);
  });
  await t.step("a creds file without its seed, or without its JWT, is a SyntaxError", async () => {
    const { seed } = referenceUser();
    const jwt = userJwt(nkeys.createAccount(), "UXXX");
    const noSeed = credsText(jwt, "").replace(/-----BEGIN USER NKEY SEED-----[\s\S]*$/, "");
    await assert.rejects(
      connectAuthFields({ kind: "creds", creds: encoder.encode(noSeed) }, "n"),
      /no user nkey seed/,
    );
    // An empty JWT block: the next line ("------END NATS USER JWT------") is not a JWT.
    const noJwt = credsText("", seed);
    await assert.rejects(
      connectAuthFields({ kind: "creds", creds: encoder.encode(noJwt) }, "n"),
      (err: unknown) => err instanceof SyntaxError && /no user JWT/.test(err.message),
    );
    await assert.rejects(
      connectAuthFields({ kind: "creds", creds: encoder.encode("hello\n") }, "n"),
      SyntaxError,
    );
  });
  await t.step("an account seed in a creds file is refused, not sent", async () => {
    const account = decoder.decode(nkeys.createAccount().getSeed());
    await assert.rejects(
      connectAuthFields({ kind: "creds", creds: encoder.encode(account) }, "n"),
      SyntaxError,
    );
  });
});
