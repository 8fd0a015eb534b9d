import assert from "node:assert/strict";
import { join } from "node:path";
import {
  expandHome,
  type HostSpec,
  hostSpecFromAddress,
  loadInventory,
  parseAddress,
  parseInventory,
  resolveToken,
} from "../lib/client/inventory.ts";

const TESTDATA = join(import.meta.dirname ?? ".", "testdata");
const unix = Deno.build.os !== "windows";

/** Run `fn` with environment variables set (undefined = unset), restoring them after. */
async function withEnv(vars: Record<string, string | undefined>, fn: () => void | Promise<void>) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  };
  apply(vars);
  try {
    await fn();
  } finally {
    apply(saved);
  }
}

Deno.test("parseAddress() reads host, host:port and IPv6 forms", () => {
  const cases: [string, string, number][] = [
    ["web1", "web1", 5050],
    ["web1:5051", "web1", 5051],
    ["10.0.0.11", "10.0.0.11", 5050],
    ["10.0.0.11:1", "10.0.0.11", 1],
    ["host.example.com.", "host.example.com.", 5050],
    ["[::1]:5051", "::1", 5051],
    ["[::1]", "::1", 5050],
    ["::1", "::1", 5050],
    ["fe80::1%eth0", "fe80::1%eth0", 5050],
    ["[2001:db8::1]:65535", "2001:db8::1", 65535],
  ];
  for (const [text, hostname, port] of cases) {
    assert.deepEqual(parseAddress(text, 5050), { hostname, port }, text);
  }
});

Deno.test("parseAddress() rejects junk with the reason", () => {
  const cases: [string, string, string][] = [
    ["", "SyntaxError", 'Cannot parse address "": it is empty'],
    ["web1:", "SyntaxError", 'Cannot parse address "web1:": port "" is not a number'],
    ["web1:http", "SyntaxError", 'Cannot parse address "web1:http": port "http" is not a number'],
    ["web1:0", "RangeError", 'Cannot parse address "web1:0": port 0 is outside 1-65535'],
    [
      "web1:70000",
      "RangeError",
      'Cannot parse address "web1:70000": port 70000 is outside 1-65535',
    ],
    [
      "10.0.0.256",
      "SyntaxError",
      'Cannot parse address "10.0.0.256": "10.0.0.256" is not a host name or address',
    ],
    [
      "web 1",
      "SyntaxError",
      'Cannot parse address "web 1": "web 1" is not a host name or address',
    ],
    [
      "http://web1",
      "SyntaxError",
      'Cannot parse address "http://web1": port "//web1" is not a number',
    ],
    [
      "-web1",
      "SyntaxError",
      'Cannot parse address "-web1": "-web1" is not a host name or address',
    ],
    [
      "2001:db8::1:5051:x",
      "SyntaxError",
      'Cannot parse address "2001:db8::1:5051:x": not an IPv6 address; write [v6]:port to give a port',
    ],
    [
      "[web1]:5051",
      "SyntaxError",
      'Cannot parse address "[web1]:5051": "web1" is not an IPv6 address',
    ],
    [
      "[::1]5051",
      "SyntaxError",
      'Cannot parse address "[::1]5051": expected ":PORT" after "]"',
    ],
  ];
  for (const [text, name, message] of cases) {
    assert.throws(() => parseAddress(text, 5050), { name, message }, text);
  }
});

Deno.test("hostSpecFromAddress() names the host as typed", () => {
  assert.deepEqual(hostSpecFromAddress("127.0.0.1:5051", 5050), {
    name: "127.0.0.1:5051",
    hostname: "127.0.0.1",
    port: 5051,
    groups: [],
    token: { kind: "default" },
    tls: {},
  });
  assert.equal(hostSpecFromAddress("[::1]").port, 5050);
});

Deno.test("hostSpecFromAddress() names an IPv6 address without brackets, so it can be targeted", () => {
  assert.equal(hostSpecFromAddress("[::1]:5051").name, "::1:5051");
  assert.equal(hostSpecFromAddress("[::1]").name, "::1");
  assert.equal(hostSpecFromAddress("::1").name, "::1");
});

Deno.test("parseInventory() names an address-only IPv6 host without brackets", () => {
  const inv = parseInventory('[[host]]\naddress = "[::1]:5051"\n', "/inv");
  assert.equal(inv[0]?.name, "::1:5051");
});

Deno.test("hostSpecFromAddress() takes an inventory's defaults", () => {
  const defaults = {
    port: 6000,
    token: { kind: "file" as const, path: "/inv/token" },
    tls: { fingerprint: "ab".repeat(32) },
    identity: "/inv/key",
  };
  assert.deepEqual(hostSpecFromAddress("10.0.0.5", defaults.port, defaults), {
    name: "10.0.0.5",
    hostname: "10.0.0.5",
    port: 6000,
    groups: [],
    token: { kind: "file", path: "/inv/token" },
    tls: { fingerprint: "ab".repeat(32) },
    identity: "/inv/key",
  });
});

/** A private copy (0600: it holds an inline token) of the example inventory, in a temp dir. */
async function exampleCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "rmon-test-inv-" });
  const text = await Deno.readTextFile(join(TESTDATA, "inventory.toml"));
  await Deno.writeTextFile(join(dir, "inventory.toml"), text, { mode: 0o600 });
  return dir;
}

Deno.test("loadInventory() reads the example inventory", async () => {
  const dir = await exampleCopy();
  const hosts = await loadInventory(join(dir, "inventory.toml"));
  await Deno.remove(dir, { recursive: true });
  const want: HostSpec[] = [
    {
      name: "web1",
      hostname: "10.0.0.11",
      port: 5050,
      groups: ["web", "prod"],
      token: { kind: "env", name: "RMON_TOKEN_WEB" },
      tls: {},
    },
    {
      name: "web2",
      hostname: "10.0.0.12",
      port: 5051,
      groups: ["web", "prod"],
      token: { kind: "file", path: "~/.config/rmon/token" },
      tls: {},
    },
    {
      name: "db1",
      hostname: "fd00::21",
      port: 6000,
      groups: ["db"],
      token: { kind: "file", path: join(dir, "secrets/db.token") },
      tls: {},
    },
    {
      name: "lb.example.com",
      hostname: "lb.example.com",
      port: 7000,
      groups: [],
      token: { kind: "inline", value: "inline-secret-0123456789" },
      tls: {},
    },
    {
      name: "v6",
      hostname: "fd00::99",
      port: 5050,
      groups: [],
      token: { kind: "file", path: "~/.config/rmon/token" },
      tls: {},
    },
  ];
  assert.deepEqual(hosts, want);
});

Deno.test("parseInventory() handles the minimal forms", () => {
  assert.deepEqual(parseInventory("", "/inv"), []);
  assert.deepEqual(parseInventory('[[host]]\nname = "web1"\n', "/inv"), [
    { name: "web1", hostname: "web1", port: 5050, groups: [], token: { kind: "default" }, tls: {} },
  ]);
  assert.deepEqual(
    parseInventory('[defaults]\nport = 6000\ntoken_env = "T"\n[[host]]\naddress = "h:1"\n', "/"),
    [{
      name: "h:1",
      hostname: "h",
      port: 1,
      groups: [],
      token: { kind: "env", name: "T" },
      tls: {},
    }],
  );
});

Deno.test("parseInventory() reads TLS settings, a host's own verification winning", () => {
  const fp = "ab".repeat(32);
  const text = `[defaults]\nfingerprint = "sha256:${fp}"\n` +
    '[[host]]\nname = "a"\n' +
    '[[host]]\nname = "b"\nca_file = "ca.pem"\ntls = true\n' +
    '[[host]]\nname = "c"\ntls = false\n';
  const hosts = parseInventory(text, "/inv");
  assert.deepEqual(hosts.map((h) => h.tls), [
    { fingerprint: fp },
    { tls: true, caFile: "/inv/ca.pem" },
    { tls: false, fingerprint: fp },
  ]);
});

Deno.test("parseInventory() names the host in every error", () => {
  const cases: [string, string, string][] = [
    [
      '[[host]]\nname = "a"\nfingerprint = "sha256:12"\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): Cannot parse fingerprint "sha256:12": expected sha256: and 64 hex digits',
    ],
    [
      '[[host]]\nname = "a"\ntls = "yes"\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): "tls" must be true or false',
    ],
    [
      `[defaults]\nfingerprint = "${"ab".repeat(32)}"\nca_file = "x"\n`,
      "SyntaxError",
      'Cannot parse inventory: [defaults]: set only one of "fingerprint", "ca_file"',
    ],
    [
      '[[host]]\nname = "a"\n[[host]]\nname = "b"\n[[host]]\nname = "a"\n',
      "SyntaxError",
      'Cannot parse inventory: host 3 ("a"): duplicate name "a" (also host 1)',
    ],
    [
      '[[host]]\nname = "Web1"\n[[host]]\nname = "web1"\n',
      "SyntaxError",
      'Cannot parse inventory: host 2 ("web1"): duplicate name "web1" (also host 1)',
    ],
    [
      '[[host]]\nname = "web1"\naddress = "127.0.0.1:7101"\n' +
      '[[host]]\nname = "web1b"\naddress = "localhost:7101"\n',
      "SyntaxError",
      'Cannot parse inventory: host 2 ("web1b"): same server as host 1 ("web1"): both are 127.0.0.1:7101',
    ],
    [
      '[defaults]\nport = 7101\n[[host]]\nname = "a"\naddress = "10.0.0.1"\n' +
      '[[host]]\nname = "b"\naddress = "[::ffff:10.0.0.1]:7101"\n',
      "SyntaxError",
      'Cannot parse inventory: host 2 ("b"): same server as host 1 ("a"): both are 10.0.0.1:7101',
    ],
    [
      '[[host]]\nname = "a"\nport = 70000\n',
      "RangeError",
      'Cannot parse inventory: host 1 ("a"): port "70000" is out of range 1-65535',
    ],
    [
      '[[host]]\nname = "a"\nport = "5050"\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): "port" must be an integer',
    ],
    [
      '[[host]]\nname = "a"\nport = 50.5\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): "port" must be an integer',
    ],
    [
      '[[host]]\nname = "a"\naddress = "10.0.0.1:99999"\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): bad address "10.0.0.1:99999": port 99999 is outside 1-65535',
    ],
    [
      '[[host]]\nname = "a"\naddress = "no such host"\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): bad address "no such host": "no such host" is not a host name or address',
    ],
    [
      '[[host]]\nname = "a"\nadress = "x"\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): unknown key "adress" (expected one of name, address, port, groups, token_env, token_file, token, identity, tls, fingerprint, ca_file)',
    ],
    [
      "[defaults]\ntimeout = 5\n",
      "SyntaxError",
      'Cannot parse inventory: [defaults]: unknown key "timeout" (expected one of port, token_env, token_file, token, identity, tls, fingerprint, ca_file)',
    ],
    [
      "hosts = []\n",
      "SyntaxError",
      'Cannot parse inventory: top level: unknown key "hosts" (expected one of defaults, host, nats)',
    ],
    [
      '[host]\nname = "a"\n',
      "SyntaxError",
      'Cannot parse inventory: "host" must be an array of tables: write [[host]], not [host]',
    ],
    [
      '[[host]]\ngroups = ["web"]\n',
      "SyntaxError",
      'Cannot parse inventory: host 1: set "name" or "address"',
    ],
    [
      '[[host]]\nname = "a"\naddress = "h:1"\nport = 2\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): set the port in "address" or in "port", not both',
    ],
    [
      '[[host]]\nname = "a"\ntoken_env = "A"\ntoken = "x"\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): set only one of "token_env", "token"',
    ],
    [
      '[[host]]\nname = "a"\ntoken_env = "MY-VAR"\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): "token_env" is not a variable name: "MY-VAR"',
    ],
    [
      '[[host]]\nname = "a"\ngroups = "web"\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): "groups" must be an array of strings',
    ],
    [
      '[[host]]\nname = "a"\ngroups = ["web prod"]\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("a"): bad group "web prod": use letters, digits, ".", "_", "-"',
    ],
    [
      '[[host]]\nname = "all"\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("all"): bad name "all": it is reserved in targets',
    ],
    [
      '[[host]]\nname = "web*"\naddress = "web1"\n',
      "SyntaxError",
      'Cannot parse inventory: host 1 ("web*"): bad name "web*": character "*" is not allowed',
    ],
    [
      '[[host]]\nname = ""\n',
      "SyntaxError",
      'Cannot parse inventory: host 1: "name" must be a non-empty string',
    ],
    [
      '[[host]]\nname = "a\n',
      "SyntaxError",
      "Cannot parse inventory: line 2, column 10: control characters are not allowed in strings",
    ],
  ];
  for (const [text, name, message] of cases) {
    assert.throws(() => parseInventory(text, "/inv"), { name, message }, text);
  }
});

Deno.test({
  name: "loadInventory() refuses an inventory holding a token that others can read",
  ignore: !unix,
  async fn() {
    const dir = await exampleCopy();
    const path = join(dir, "inventory.toml");
    try {
      await Deno.chmod(path, 0o640);
      await assert.rejects(loadInventory(path), {
        message: `Cannot use inventory "${path}": it holds a token (token = "...") and mode 0640 ` +
          `lets group or others read it; run "chmod 600 ${path}", or move the token to a token_file`,
      });
      // Without an inline token the file is no secret: any mode will do.
      await Deno.writeTextFile(path, '[[host]]\nname = "web1"\ntoken_env = "T"\n');
      await Deno.chmod(path, 0o644);
      assert.equal((await loadInventory(path)).length, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("loadInventory() names the file in errors", async () => {
  const bad = join(TESTDATA, "inventory_bad_key.toml");
  await assert.rejects(loadInventory(bad), {
    name: "SyntaxError",
    message: `Cannot parse inventory "${bad}": host 1 ("web1"): unknown key "adress" ` +
      "(expected one of name, address, port, groups, token_env, token_file, token, identity, tls, fingerprint, ca_file)",
  });
  const missing = join(TESTDATA, "no_such_inventory.toml");
  await assert.rejects(loadInventory(missing), {
    message: `Cannot read inventory "${missing}": file not found`,
  });
});

Deno.test("expandHome() replaces a leading ~/ only", async () => {
  await withEnv({ HOME: "/home/ann" }, () => {
    assert.equal(expandHome("~/.config/rmon/token"), join("/home/ann", ".config/rmon/token"));
    assert.equal(expandHome("~"), "/home/ann");
    assert.equal(expandHome("/etc/~/x"), "/etc/~/x");
    assert.equal(expandHome("~ann/x"), "~ann/x");
  });
});

Deno.test("resolveToken() reads each source", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rmon_token_" });
  try {
    const good = join(dir, "good.token");
    await Deno.writeTextFile(good, "s3cret-token-0123456789\n", { mode: 0o600 });
    await Deno.chmod(good, 0o600).catch(() => {});

    await t.step("environment variable", async () => {
      await withEnv({ RMON_TEST_TOKEN: "from-env-token-0123456789" }, () => {
        assert.equal(
          resolveToken({ kind: "env", name: "RMON_TEST_TOKEN" }),
          "from-env-token-0123456789",
        );
      });
      await withEnv({ RMON_TEST_TOKEN: undefined }, () => {
        assert.throws(() => resolveToken({ kind: "env", name: "RMON_TEST_TOKEN" }), {
          message: 'Cannot read token: environment variable "RMON_TEST_TOKEN" is not set',
        });
      });
    });
    await t.step("file, trailing newline trimmed", () => {
      assert.equal(resolveToken({ kind: "file", path: good }), "s3cret-token-0123456789");
    });
    await t.step("file under ~/", async () => {
      await withEnv({ HOME: dir }, () => {
        assert.equal(
          resolveToken({ kind: "file", path: "~/good.token" }),
          "s3cret-token-0123456789",
        );
      });
    });
    await t.step("inline", () => {
      assert.equal(
        resolveToken({ kind: "inline", value: "inline-token-0123456789" }),
        "inline-token-0123456789",
      );
    });
    await t.step("default uses the fallback, RMON_TOKEN unless given", async () => {
      await withEnv({ RMON_TOKEN: "fallback-token-0123456789" }, () => {
        assert.equal(resolveToken({ kind: "default" }), "fallback-token-0123456789");
        assert.equal(
          resolveToken({ kind: "default" }, { kind: "file", path: good }),
          "s3cret-token-0123456789",
        );
      });
      assert.throws(() => resolveToken({ kind: "default" }, { kind: "default" }), TypeError);
    });
    await t.step("missing and empty files", async () => {
      const missing = join(dir, "missing.token");
      assert.throws(() => resolveToken({ kind: "file", path: missing }), {
        message: `Cannot read token file "${missing}": file not found`,
      });
      const empty = join(dir, "empty.token");
      await Deno.writeTextFile(empty, "\n", { mode: 0o600 });
      assert.throws(() => resolveToken({ kind: "file", path: empty }), {
        message: `Cannot use token file "${empty}": it is empty`,
      });
    });
    await t.step({
      name: "file readable by others is refused",
      ignore: !unix,
      fn: async () => {
        const open = join(dir, "open.token");
        await Deno.writeTextFile(open, "s3cret-token-0123456789\n");
        await Deno.chmod(open, 0o644);
        assert.throws(() => resolveToken({ kind: "file", path: open }), {
          message: `Cannot use token file "${open}": mode 0644 lets group or others access it; ` +
            `run "chmod 600 ${open}"`,
        });
        await Deno.chmod(open, 0o640);
        assert.throws(() => resolveToken({ kind: "file", path: open }), /mode 0640/);
      },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
