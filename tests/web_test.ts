/**
 * `rmon web` at the HTTP level: the guard (start token, session cookie, Host
 * and Origin checks, CSP), read-only refusals and the messages the page
 * consumes, against real rmon servers on loopback and the real client
 * process; plus the pure parts (options, host check, sessions, ring buffer).
 */

import nodeAssert from "node:assert/strict";
import {
  addr,
  eventually,
  rawHttp,
  type ServerProcess,
  spawnClient,
  startServer,
  startServers,
  startWeb,
  type WebProcess,
} from "./helpers.ts";
import { parseListen, parseWebArgs } from "../lib/client/web/web_options.ts";
import {
  CONTENT_SECURITY_POLICY,
  cookieValue,
  HostCheck,
  WebSessions,
} from "../lib/client/web/web_security.ts";
import { SampleRing } from "../lib/client/web/ring.ts";
import { parsePageMessage, type ServerMessage } from "../lib/client/web/web_messages.ts";
import { UsageError } from "../lib/usage.ts";
import { generateIdentity, writeIdentity } from "../lib/client/identity.ts";
import { keyId, parsePublicKey } from "../lib/protocol/key_auth.ts";
import { CommandSyntaxError, parseLine } from "../lib/grammar/parse_line.ts";

function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}
const assertEquals = <T>(actual: T, expected: T, message?: string) =>
  nodeAssert.deepStrictEqual(actual, expected, message);
const assertMatch = (text: string, re: RegExp) => nodeAssert.match(text, re);
/** `fn` throws an instance of `type` whose message contains `part`. */
function assertThrows(fn: () => unknown, type: new (...a: never[]) => Error, part = ""): void {
  nodeAssert.throws(fn, (err) => err instanceof type && err.message.includes(part));
}

/** Exchange the start token for the session cookie (`name=value`). */
async function signIn(web: WebProcess): Promise<string> {
  const res = await fetch(web.url, { redirect: "manual" });
  await res.body?.cancel();
  assertEquals(res.status, 303);
  const cookie = res.headers.get("set-cookie") ?? "";
  return cookie.split(";")[0]!;
}

/** A WebSocket to the page's endpoint as a browser on the page would open it. */
function pageSocket(web: WebProcess, cookie: string, origin = web.origin): {
  socket: WebSocket;
  messages: ServerMessage[];
  next(pred: (m: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>;
  closed: Promise<void>;
} {
  const socket = new WebSocket(`ws://${web.host}/ws`, { headers: { origin, cookie } });
  const messages: ServerMessage[] = [];
  const waiters: { pred: (m: ServerMessage) => boolean; resolve(m: ServerMessage): void }[] = [];
  socket.onmessage = (ev) => {
    const m = JSON.parse(ev.data) as ServerMessage;
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  const closed = new Promise<void>((resolve) => socket.onclose = () => resolve());
  socket.onerror = () => {};
  return {
    socket,
    messages,
    closed,
    next(pred, timeoutMs = 20_000) {
      const seen = messages.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no such message in time")), timeoutMs);
        waiters.push({
          pred,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
  };
}

Deno.test("rmon web: token, cookie, Host, Origin, CSP and the page's messages", async (t) => {
  const servers = await startServers(3);
  try {
    await using web = await startWeb(servers, ["--refresh", "0.5"]);
    const port = Number(new URL(web.origin).port);

    await t.step("without a session everything is refused, with the CSP", async () => {
      for (const path of ["/", "/app.js", "/api/rows", "/ws"]) {
        const res = await fetch(`${web.origin}${path}`);
        await res.body?.cancel();
        assertEquals(res.status, 401, path);
        assertEquals(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
      }
    });

    await t.step("a wrong token is refused and does not spend the right one", async () => {
      const res = await fetch(`${web.origin}/?token=wrong`, { redirect: "manual" });
      await res.body?.cancel();
      assertEquals(res.status, 403);
      assertEquals(res.headers.get("set-cookie"), null);
    });

    const cookie = await signIn(web);

    await t.step("the token gives an HttpOnly SameSite=Strict cookie, once", async () => {
      assertMatch(cookie, /^rmon_session=[\w-]{40,}$/);
      const again = await fetch(web.url, { redirect: "manual" });
      await again.body?.cancel();
      assertEquals(again.status, 403, "the start token works once");
    });

    await t.step("the cookie's flags", async () => {
      // A second client, to see a fresh Set-Cookie header in full.
      await using other = await startWeb(servers.slice(0, 1));
      const res = await fetch(other.url, { redirect: "manual" });
      await res.body?.cancel();
      const flags = (res.headers.get("set-cookie") ?? "").split(";").map((s) => s.trim());
      assert(flags.includes("HttpOnly"), flags.join("; "));
      assert(flags.includes("SameSite=Strict"), flags.join("; "));
      assert(flags.includes("Path=/"), flags.join("; "));
      assertEquals(res.headers.get("location"), "/");
      assertEquals(res.headers.get("referrer-policy"), "no-referrer");
    });

    await t.step("with the cookie: the page, its files, the CSP", async () => {
      const res = await fetch(`${web.origin}/`, { headers: { cookie } });
      const html = await res.text();
      assertEquals(res.status, 200);
      assertEquals(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
      assertMatch(html, /<script src="\/app.js" type="module">/);
      assert(!/<script>/.test(html) && !/ on\w+=/.test(html), "no inline script in the page");
      assert(!/https?:\/\//.test(html.replace(/xmlns="[^"]*"/g, "")), "nothing from elsewhere");
      for (const path of ["/app.js", "/style.css", "/uplot.js", "/uplot.css", "/favicon.svg"]) {
        const file = await fetch(`${web.origin}${path}`, { headers: { cookie } });
        const body = await file.text();
        assertEquals(file.status, 200, path);
        assert(body.length > 100, path);
      }
    });

    await t.step("a wrong Host header is refused (DNS rebinding)", async () => {
      for (const host of ["evil.example:" + port, "127.0.0.1:1", "localhost.evil.example"]) {
        const res = await rawHttp(port, [
          "GET /api/rows HTTP/1.1",
          `Host: ${host}`,
          `Cookie: ${cookie}`,
        ]);
        assertEquals(res.status, 421, host);
        assertEquals(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
      }
      const ok = await rawHttp(port, [
        "GET /api/rows HTTP/1.1",
        `Host: localhost:${port}`,
        `Cookie: ${cookie}`,
      ]);
      assertEquals(ok.status, 200, "localhost names a loopback listener too");
    });

    await t.step("a cross-origin POST or WebSocket upgrade is refused", async () => {
      const post = await fetch(`${web.origin}/api/rows`, {
        method: "POST",
        headers: { cookie, origin: "http://evil.example" },
      });
      await post.body?.cancel();
      assertEquals(post.status, 403);
      const same = await fetch(`${web.origin}/api/rows`, {
        method: "POST",
        headers: { cookie, origin: web.origin },
      });
      await same.body?.cancel();
      assertEquals(same.status, 405, "a same-origin POST gets past the guard");
      const upgrade = (origin: string | null) =>
        rawHttp(port, [
          "GET /ws HTTP/1.1",
          `Host: ${web.host}`,
          `Cookie: ${cookie}`,
          "Upgrade: websocket",
          "Connection: Upgrade",
          "Sec-WebSocket-Version: 13",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
          ...(origin === null ? [] : [`Origin: ${origin}`]),
        ]);
      assertEquals((await upgrade("http://evil.example")).status, 403);
      assertEquals((await upgrade(null)).status, 403);
      assertEquals((await upgrade(`http://localhost.evil.example:${port}`)).status, 403);
    });

    await t.step("JSON rows: every host with numbers", async () => {
      let rows: { host: string; state: string; cpu: number | null }[] = [];
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${web.origin}/api/rows`, { headers: { cookie } });
        rows = (await res.json()).rows;
        if (rows.every((r) => r.state === "up" && typeof r.cpu === "number")) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assertEquals(rows.map((r) => r.host).sort(), servers.map(addr).sort());
      assert(rows.every((r) => typeof r.cpu === "number"), JSON.stringify(rows));
    });

    await t.step("the socket: hello, rounds, confirm, output, gathered end", async () => {
      const page = pageSocket(web, cookie);
      try {
        const hello = await page.next((m) => m.type === "hello");
        assert(hello.type === "hello");
        assertEquals(hello.readOnly, false);
        assertEquals(hello.rows.length, 3);
        const round = await page.next((m) => m.type === "rows");
        assert(round.type === "rows");
        assertEquals(round.samples.length, 3);
        page.socket.send(JSON.stringify({
          type: "run",
          id: "a",
          line: "sh: echo hi",
          filter: "",
          confirmed: false,
        }));
        const ask = await page.next((m) => m.type === "confirm");
        assert(ask.type === "confirm");
        assertEquals(ask.hosts.length, 3);
        assertMatch(ask.question, /^Run "sh: echo hi" on 3 hosts/);
        assert(!page.messages.some((m) => m.type === "started"), "nothing runs before the yes");
        page.socket.send(JSON.stringify({
          type: "run",
          id: "a",
          line: "sh: echo hi",
          filter: "",
          confirmed: true,
        }));
        const end = await page.next((m) => m.type === "finished" && m.id === "a");
        assert(end.type === "finished");
        const outputs = page.messages.filter((m) => m.type === "output" && m.id === "a");
        assertEquals(outputs.length, 3);
        for (const o of outputs) assert(o.type === "output" && o.data === "hi\n");
        assertMatch(end.text, /127\.0\.0\.1:.* \(3\)/);
        assertMatch(end.text, /^hi$/m);
        assertEquals(end.cancelled, false);

        // One host by the filter: no question, and only that host.
        const one = addr(servers[1]!);
        page.socket.send(JSON.stringify({
          type: "run",
          id: "b",
          line: "sh: echo one",
          filter: one,
          confirmed: false,
        }));
        const started = await page.next((m) => m.type === "started" && m.id === "b");
        assert(started.type === "started");
        assertEquals(started.hosts, [one]);
        await page.next((m) => m.type === "finished" && m.id === "b");

        // The filter in the console's target syntax.
        page.socket.send(JSON.stringify({ type: "filter", text: `*,-${one}` }));
        const f = await page.next((m) => m.type === "filtered");
        assert(f.type === "filtered");
        assertEquals(f.hosts?.length, 2);
        assert(!f.hosts?.includes(one));

        // Cancel: every host ends cancelled.
        page.socket.send(JSON.stringify({
          type: "run",
          id: "c",
          line: "sh: sleep 30",
          filter: "",
          confirmed: true,
        }));
        await page.next((m) => m.type === "started" && m.id === "c");
        await new Promise((r) => setTimeout(r, 300));
        page.socket.send(JSON.stringify({ type: "cancel", id: "c" }));
        const cancelled = await page.next((m) => m.type === "finished" && m.id === "c");
        assert(cancelled.type === "finished" && cancelled.cancelled);
        const results = page.messages.filter((m) => m.type === "result" && m.id === "c");
        assertEquals(results.length, 3);
        for (const r of results) assert(r.type === "result" && r.status === "cancelled");

        // Kill asks first, even on one host.
        page.socket.send(JSON.stringify({
          type: "run",
          id: "d",
          line: `@${one} kill`,
          filter: "",
          confirmed: false,
        }));
        const killAsk = await page.next((m) => m.type === "confirm" && m.id === "d");
        assert(killAsk.type === "confirm");
        assertEquals(killAsk.hosts, [one]);

        // A bad line is an error message, and the page stays connected.
        page.socket.send(JSON.stringify({
          type: "run",
          id: "e",
          line: "@nosuch ram",
          filter: "",
          confirmed: false,
        }));
        const bad = await page.next((m) => m.type === "error" && m.id === "e");
        assert(bad.type === "error");
        assertMatch(bad.message, /No host matches "nosuch"/);
      } finally {
        page.socket.close();
        await page.closed;
      }
    });
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  }
});

Deno.test("rmon web --web-read-only refuses exec, kill and reset", async () => {
  const servers = await startServers(1);
  try {
    await using web = await startWeb(servers, ["--web-read-only"]);
    const cookie = await signIn(web);
    const page = pageSocket(web, cookie);
    try {
      const hello = await page.next((m) => m.type === "hello");
      assert(hello.type === "hello" && hello.readOnly);
      // The start address is printed before the hosts are up; `ram` must find its host connected.
      await page.next((m) => m.type === "rows" && m.rows.every((r) => r.state === "up"));
      for (const [id, line] of [["x", "sh: echo hi"], ["k", "kill"], ["r", "reset"]]) {
        page.socket.send(JSON.stringify({ type: "run", id, line, filter: "", confirmed: true }));
        const refused = await page.next((m) => m.type === "error" && m.id === id);
        assert(refused.type === "error");
        assertMatch(refused.message, /read-only/);
      }
      page.socket.send(
        JSON.stringify({ type: "run", id: "m", line: "ram", filter: "", confirmed: false }),
      );
      const ram = await page.next((m) => m.type === "finished" && m.id === "m");
      assert(ram.type === "finished");
      assertMatch(ram.text, /USE%/);
      assert(!page.messages.some((m) => m.type === "started" && m.id !== "m"), "nothing else ran");
    } finally {
      page.socket.close();
      await page.closed;
    }
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  }
});

Deno.test("rmon web --identity runs the page's commands under the operator's key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rmon-web-key-" });
  try {
    // Servers that know only the operator's key (no token at all), each with an audit log.
    const key = `${dir}/id_ed25519`;
    const pair = await generateIdentity("carol@console");
    await writeIdentity(key, pair);
    await Deno.writeTextFile(`${dir}/authorized_keys`, `role=admin ${pair.publicLine}`);
    const keyIdOf = await keyId(parsePublicKey(pair.publicLine).raw);
    const audits = [`${dir}/audit0.jsonl`, `${dir}/audit1.jsonl`];
    const servers = await Promise.all(audits.map((audit) =>
      startServer({
        token: null,
        args: ["--authorized-keys", `${dir}/authorized_keys`, "--no-token", "--audit-log", audit],
      })
    ));
    try {
      await using web = await startWeb(servers, ["--identity", key]);
      const page = pageSocket(web, await signIn(web));
      try {
        await page.next((m) => m.type === "rows" && m.rows.every((r) => r.state === "up"));
        const line = "sh: echo from-the-page $((6 * 7))";
        page.socket.send(
          JSON.stringify({ type: "run", id: "k", line, filter: "", confirmed: true }),
        );
        const end = await page.next((m) => m.type === "finished" && m.id === "k");
        assert(end.type === "finished");
        const outputs = page.messages.filter((m) => m.type === "output" && m.id === "k");
        assertEquals(outputs.length, 2);
        for (const o of outputs) assert(o.type === "output" && o.data === "from-the-page 42\n");
        assert(!page.messages.some((m) => m.type === "error"), JSON.stringify(page.messages));
      } finally {
        page.socket.close();
        await page.closed;
      }
      // Each server's audit trail names the key: its sign-in and the command it ran.
      for (const audit of audits) {
        const lines = (await Deno.readTextFile(audit)).trim().split("\n").map((l) => JSON.parse(l));
        const login = lines.find((l) => l.event === "auth" && l.ok);
        assertEquals([login?.user, login?.key_id, login?.role], [
          "carol@console",
          keyIdOf,
          "admin",
        ]);
        assert(!lines.some((l) => l.event === "auth" && !l.ok), "no refused sign-in first");
        const exec = lines.find((l) => l.event === "exec");
        assertEquals(
          [exec?.user, exec?.key_id, exec?.command, exec?.exit_code, exec?.ok],
          ["carol@console", keyIdOf, "echo from-the-page $((6 * 7))", 0, true],
        );
      }
    } finally {
      await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rmon web --web-tls serves HTTPS with its own certificate", async () => {
  const servers = await startServers(1);
  const home = await Deno.makeTempDir({ prefix: "rmon-web-home-" });
  try {
    await using web = await startWeb(servers, ["--web-tls"], {
      HOME: home,
      XDG_STATE_HOME: `${home}/state`,
    });
    assert(web.url.startsWith("https://127.0.0.1:"), web.url);
    // The fingerprint line may follow the address line the start waited for.
    const fingerprint = /fingerprint sha256:[0-9a-f]{64}/;
    await eventually(() => fingerprint.test(web.client.stdout()), 5_000);
    assertMatch(web.client.stdout(), fingerprint);
    const certPem = await Deno.readTextFile(`${home}/state/rmon/web_tls_cert.pem`);
    using client = Deno.createHttpClient({ caCerts: [certPem] });
    const res = await fetch(web.url, { client, redirect: "manual" });
    await res.body?.cancel();
    assertEquals(res.status, 303);
    assertMatch(res.headers.get("set-cookie") ?? "", /; Secure$/);
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("parseWebArgs() options, and plain HTTP off loopback only when asked", () => {
  const o = parseWebArgs(["web1:5050", "--listen", "127.0.0.1:9000", "--refresh", "1", "-y"]);
  assertEquals(o.listen, { hostname: "127.0.0.1", port: 9000 });
  assertEquals(o.intervalMs, 1000);
  assertEquals(o.client.addresses, ["web1:5050"]);
  assertEquals(o.client.yes, true);
  assertEquals(parseWebArgs(["--history", "30m"]).historyMs, 1_800_000);
  assertEquals(parseListen("[::1]:0"), { hostname: "::1", port: 0 });
  assertEquals(parseListen(":8090"), { hostname: "127.0.0.1", port: 8090 });
  assertThrows(() => parseListen("8090"), UsageError, "expected ADDR:PORT");
  assertThrows(() => parseWebArgs(["--listen", "0.0.0.0:8090"]), UsageError, "--web-tls");
  assertThrows(() => parseWebArgs(["--listen", "10.0.0.5:8090"]), UsageError, "Refusing");
  assertEquals(
    parseWebArgs(["--listen", "0.0.0.0:8090", "--web-insecure-http"]).insecureHttp,
    true,
  );
  assertEquals(parseWebArgs(["--listen", "0.0.0.0:8090", "--web-tls"]).tls, true);
  assertThrows(() => parseWebArgs(["--web-cert", "a.pem"]), UsageError, "go together");
  assertThrows(() => parseWebArgs(["--", "ram"]), UsageError, "no command");
  assertThrows(() => parseWebArgs(["--refresh", "1ms"]), UsageError, "at least");
});

Deno.test("HostCheck allows the listen address and loopback names only", () => {
  const loop = new HostCheck({ hostname: "127.0.0.1", port: 8090 });
  assert(loop.allows("127.0.0.1:8090"));
  assert(loop.allows("localhost:8090"));
  assert(loop.allows("[::1]:8090"));
  assert(!loop.allows("127.0.0.1:8091"));
  assert(!loop.allows("evil.example:8090"));
  assert(!loop.allows(null));
  assert(loop.allowsOrigin("http://localhost:8090", "http"));
  assert(!loop.allowsOrigin("https://localhost:8090", "http"));
  assert(!loop.allowsOrigin("null", "http"));
  const any = new HostCheck({ hostname: "0.0.0.0", port: 8090 });
  assert(any.allows("10.1.2.3:8090"));
  assert(any.allows("[fd00::1]:8090"));
  assert(!any.allows("attacker.example:8090"), "a DNS name could be rebound");
  const lan = new HostCheck({ hostname: "10.0.0.5", port: 443 }, ["mon.example"]);
  assert(lan.allows("10.0.0.5:443") && lan.allows("mon.example:443"));
  assert(!lan.allows("localhost:443"));
});

Deno.test("WebSessions: the start token works once; cookies are checked", () => {
  const s = new WebSessions();
  const token = s.startToken!;
  assertEquals(s.exchange("nope"), null);
  const id = s.exchange(token)!;
  assert(id.length >= 40);
  assertEquals(s.exchange(token), null);
  assertEquals(s.startToken, null);
  assert(s.valid(`a=b; rmon_session=${id}`));
  assert(!s.valid(`rmon_session=${id}x`));
  assert(!s.valid(null));
  assertEquals(cookieValue("a=1; b = 2", "b"), "2");
  const fresh = s.renew();
  assert(s.exchange(fresh) !== null);
});

Deno.test("SampleRing keeps the last N samples, oldest first, and thins", () => {
  const ring = new SampleRing(3);
  for (let i = 1; i <= 5; i++) ring.push({ t: i * 1000, cpu: i, ram: Number.NaN });
  assertEquals(ring.size, 3);
  assertEquals(ring.columns(), { t: [3, 4, 5], cpu: [3, 4, 5], ram: [null, null, null] });
  const big = new SampleRing(100);
  for (let i = 0; i < 100; i++) big.push({ t: i * 1000, cpu: i, ram: i });
  const thin = big.columns(10);
  assert(thin.t.length <= 11);
  assertEquals(thin.t.at(-1), 99, "the newest sample is always kept");
  assertThrows(() => new SampleRing(0), RangeError);
});

Deno.test("parsePageMessage() takes the page's messages and refuses others", () => {
  assertEquals(parsePageMessage('{"type":"cancel","id":"c1"}'), { type: "cancel", id: "c1" });
  assertEquals(
    parsePageMessage('{"type":"run","id":"1","line":"ram","filter":"","confirmed":"yes"}'),
    { type: "run", id: "1", line: "ram", filter: "", confirmed: false },
  );
  assertThrows(() => parsePageMessage("nope"), TypeError, "not JSON");
  assertThrows(() => parsePageMessage('{"type":"run","id":1}'), TypeError, '"id"');
  assertThrows(() => parsePageMessage('{"type":"shutdown"}'), TypeError, "unknown type");
});

Deno.test("the console's web command serves its fleet beside the prompt", async () => {
  const servers = await startServers(2);
  try {
    // Lines run one after another: the page is served while `sh: sleep 4` keeps the console busy.
    await using client = await spawnClient(servers.map(addr), {
      env: { RMON_TOKEN: servers[0]!.token },
      stdin: "web 127.0.0.1:0 read-only\nweb\n@" + addr(servers[0]!) + " sh: sleep 4\nweb stop\n",
    });
    const started = await eventually(() => /Serving at http\S+/.test(client.stdout()), 20_000);
    assert(started, client.stdout());
    const first = /Serving the fleet \(read-only\) at (http\S+)/.exec(client.stdout())![1]!;
    const fresh = /Serving at (http\S+)/.exec(client.stdout())![1]!;
    const spent = await fetch(first, { redirect: "manual" });
    await spent.body?.cancel();
    assertEquals(spent.status, 403, "a fresh address replaces the first one");
    const res = await fetch(fresh, { redirect: "manual" });
    await res.body?.cancel();
    assertEquals(res.status, 303);
    const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
    const origin = new URL(fresh).origin;
    const rows = await (await fetch(`${origin}/api/rows`, { headers: { cookie } })).json();
    assertEquals(rows.readOnly, true);
    assertEquals(rows.rows.map((r: { host: string }) => r.host).sort(), servers.map(addr).sort());
    const run = await client.done;
    assertEquals(run.code, 0, run.stderr);
    assertMatch(run.stdout, /Stopped serving the web page/);
    const after = await fetch(`${origin}/api/rows`, { headers: { cookie } }).catch((e) => e);
    assert(after instanceof TypeError, "nothing listens after web stop");
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  }
});

Deno.test("parseLine() reads the console's web command", () => {
  assertEquals(parseLine("web")?.command, { kind: "web", action: "start", readOnly: false });
  assertEquals(parseLine("web stop")?.command, { kind: "web", action: "stop", readOnly: false });
  assertEquals(parseLine("web 127.0.0.1:9000 read-only")?.command, {
    kind: "web",
    action: "start",
    listen: "127.0.0.1:9000",
    readOnly: true,
  });
  assertThrows(() => parseLine("web bogus"), CommandSyntaxError, 'unexpected argument "bogus"');
});

Deno.test("rmon web tells the page when a host is lost and when it is back", async () => {
  const servers = await startServers(2);
  const [stays, goes] = servers as [ServerProcess, ServerProcess];
  let again: ServerProcess | null = null;
  try {
    await using web = await startWeb(servers, ["--refresh", "0.5"]);
    const cookie = await signIn(web);
    const page = pageSocket(web, cookie);
    try {
      await page.next((m) => m.type === "rows" && m.rows.every((r) => r.state === "up"));
      await goes[Symbol.asyncDispose]();
      const lost = await page.next((m) => m.type === "notice" && m.level === "lost");
      assert(lost.type === "notice");
      assertEquals(lost.host, addr(goes));
      assertMatch(lost.text, new RegExp(`^${addr(goes).replaceAll(".", "\\.")} lost`));
      const row = await page.next((m) =>
        m.type === "rows" && m.rows.some((r) => r.host === addr(goes) && r.state !== "up")
      );
      assert(row.type === "rows");
      const gone = row.rows.find((r) => r.host === addr(goes))!;
      assertEquals(gone.cpu, null, "a lost host shows no stale numbers");
      // The same address again: the link reconnects by itself.
      again = await startServer({ port: goes.port });
      const back = await page.next((m) => m.type === "notice" && m.level === "back", 30_000);
      assert(back.type === "notice");
      assertMatch(back.text, / is back after \d/);
      // A page opened now is told what happened before it.
      const late = pageSocket(web, cookie);
      try {
        const hello = await late.next((m) => m.type === "hello");
        assert(hello.type === "hello");
        assertEquals(hello.notices.map((n) => n.level), ["lost", "back"]);
      } finally {
        late.socket.close();
        await late.closed;
      }
      assertEquals(stays.port > 0, true);
    } finally {
      page.socket.close();
      await page.closed;
    }
  } finally {
    await stays[Symbol.asyncDispose]();
    await again?.[Symbol.asyncDispose]();
  }
});
