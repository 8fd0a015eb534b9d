/**
 * Hostile clients against a real `rmon-server` process, plain and TLS: every
 * pre-auth fault of docs/protocol.md §3.4, a flood of silent connections,
 * repeated wrong MACs, clients that stop reading or go quiet, and lifecycle
 * actions (disconnect, reset, kill, signals) while a client does not read.
 * Each case asserts its exact outcome; after each, a canary client (its own
 * source address, `ram` every 100 ms) must have seen no error and the
 * server's RSS must have stayed bounded. Deadlines are shortened with the
 * server's options so the whole file stays quick.
 * @module
 */

import assert from "node:assert/strict";
import { deadline } from "../lib/async.ts";
import { describeError } from "../lib/protocol/errors.ts";
import { newNonce } from "../lib/protocol/auth.ts";
import type { ClientSession } from "../lib/protocol/handshake.ts";
import type { ByeParams, CallEnd } from "../lib/protocol/messages.ts";
import {
  connect,
  descendants,
  eventually,
  isAlive,
  outputStalls,
  rawDial,
  type Received,
  rssBytes,
  type ServerProcess,
  startServer,
} from "./helpers.ts";

const MiB = 1024 * 1024;
/** The canary's source: never used by a hostile client, so never penalised. */
const CANARY_FROM = "127.0.0.2";
/** How much the server's RSS may grow over a test (it starts near 45 MiB). */
const RSS_GROWTH_LIMIT = 64 * MiB;
/** What the server answers to any wrong first frame that is a request with id 1. */
const UNAUTHORIZED_1 = '{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"Unauthorized"}}';
/** Output far beyond what socket buffers hold, so a client that does not read stalls the server. */
const FLOOD_EXEC = {
  shell: "sh",
  command: "head -c 200000000 /dev/zero | tr '\\0' a",
  maxOutputBytes: 300_000_000,
};

let lastSource = 9;
/** A loopback source address no other case uses, so penalties never leak between cases. */
function freshSource(): string {
  lastSource++;
  return `127.0.${Math.floor(lastSource / 250)}.${(lastSource % 250) + 3}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Attach a handler at once, so a call that fails later is never an unhandled rejection. */
function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then((v) => v, (e) => e);
}

/** The complete lines of what a raw connection received. */
function linesOf(r: Received): string[] {
  return r.text.split("\n").filter((l) => l !== "");
}

/** Whether `line` is the server's hello. */
function isHello(line: string | undefined): boolean {
  return line !== undefined && (JSON.parse(line) as { method?: string }).method === "hello";
}

/**
 * A client calling `ram` every 100 ms from its own source address,
 * recording every failure; `next()` resolves after its next answered call.
 */
class Canary {
  calls = 0;
  errors: string[] = [];
  #stopped = false;
  #loop: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(session: ClientSession) {
    this.#loop = this.#run(session);
  }

  async #run(session: ClientSession): Promise<void> {
    while (!this.#stopped) {
      try {
        await session.peer.call("ram", undefined, { timeoutMs: 5_000 });
        this.calls++;
        for (const wake of this.#waiters.splice(0)) wake();
      } catch (err) {
        if (!this.#stopped) this.errors.push(describeError(err));
      }
      await sleep(100);
    }
  }

  /** Resolves after the next answered call, or rejects after 5 s. */
  async next(): Promise<void> {
    await deadline(new Promise<void>((r) => this.#waiters.push(r)), 5_000, () => {
      throw new Error("The canary got no answer for 5 s");
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}

/** A canary on `server` and the server's RSS at the start; `check()` after each case. */
async function watch(server: ServerProcess, tls: boolean) {
  const session = await connect(server, { tls, from: CANARY_FROM });
  const canary = new Canary(session);
  await canary.next();
  const rssAtStart = rssBytes(server.pid);
  return {
    canary,
    /** The canary is still answered and saw no error; RSS stayed within its bound. */
    async check(what: string): Promise<void> {
      await canary.next();
      assert.deepEqual(canary.errors, [], `the canary saw errors during ${what}`);
      const rss = rssBytes(server.pid);
      assert.ok(
        rss < rssAtStart + RSS_GROWTH_LIMIT,
        `after ${what}: server RSS ${Math.round(rss / MiB)} MiB, ${
          Math.round(rssAtStart / MiB)
        } MiB at start`,
      );
    },
    async [Symbol.asyncDispose](): Promise<void> {
      await canary.stop();
      await session[Symbol.asyncDispose]();
    },
  };
}

/** Assert that a connection from `from` is closed at accept: no hello, no TLS handshake. */
async function assertRefusedAtAccept(
  server: ServerProcess,
  tls: boolean,
  from: string,
): Promise<void> {
  await using again = await rawDial(server, { tls, from });
  assert.deepEqual(await again.receive(3_000), { text: "", closed: true }, `${from} is refused`);
}

for (const tls of [false, true]) {
  const mode = tls ? "TLS" : "plain";
  const tlsArgs = tls ? ["--tls"] : [];

  Deno.test(`rmon-server (${mode}) cuts off every pre-auth fault and penalises its source`, async (t) => {
    await using server = await startServer({
      args: [...tlsArgs, "--quiet", "--auth-timeout", "1000ms", "--penalty", "60s"],
    });
    await using w = await watch(server, tls);
    /** Connections we saw closed at accept, each of which the server logs as refused. */
    let refusals = 0;
    const refusedAtAccept = async (from: string) => {
      await assertRefusedAtAccept(server, tls, from);
      refusals++;
    };

    await t.step("a first frame that is not JSON: closed without an answer", async () => {
      const from = freshSource();
      {
        await using c = await rawDial(server, { tls, from });
        assert.ok(isHello(linesOf(await c.lines(1))[0]));
        await c.send("this is not json\n");
        const got = await c.receive();
        assert.ok(got.closed);
        assert.equal(linesOf(got).length, 1, "only the hello");
      }
      await refusedAtAccept(from);
      await w.check("a bad first frame");
    });

    await t.step("a request before auth: unauthorized, then closed", async () => {
      const from = freshSource();
      {
        await using c = await rawDial(server, { tls, from });
        await c.send('{"jsonrpc":"2.0","id":1,"method":"ram"}\n');
        const got = await c.receive();
        assert.ok(got.closed);
        const lines = linesOf(got);
        assert.equal(lines.length, 2);
        assert.ok(isHello(lines[0]));
        assert.equal(lines[1], UNAUTHORIZED_1);
      }
      await refusedAtAccept(from);
      await w.check("a request before auth");
    });

    await t.step("a first frame over 4 KiB: closed without an answer", async () => {
      const from = freshSource();
      {
        await using c = await rawDial(server, { tls, from });
        await c.send("x".repeat(10_000));
        const got = await c.receive();
        assert.ok(got.closed);
        assert.equal(linesOf(got).length, 1, "only the hello");
      }
      await refusedAtAccept(from);
      await w.check("an oversized first frame");
    });

    await t.step("bytes trickled past the deadline: closed at the deadline", async () => {
      const from = freshSource();
      {
        await using c = await rawDial(server, { tls, from });
        assert.ok(isHello(linesOf(await c.lines(1))[0]));
        let sent = 0;
        let got: Received = { text: "", closed: false };
        // One byte every 100 ms; the deadline is 1 s, so 50 rounds leave a wide margin.
        for (let i = 0; i < 50 && !got.closed; i++) {
          if (await c.send(" ")) sent++;
          got = await c.receive(100);
        }
        assert.ok(got.closed, "the server closed the connection while bytes kept coming");
        assert.ok(sent >= 5, `only ${sent} bytes were sent before the close`);
        assert.equal(linesOf(got).length, 1, "only the hello: no answer at the deadline");
      }
      await refusedAtAccept(from);
      await w.check("a trickling client");
    });

    await t.step("200 wrong MACs from one source: 1 answered, 199 closed at accept", async () => {
      const from = freshSource();
      const outcomes: Record<string, number> = {};
      const count = (what: string) => outcomes[what] = (outcomes[what] ?? 0) + 1;
      for (let i = 0; i < 200; i++) {
        await using c = await rawDial(server, { tls, from });
        const first = await c.lines(1);
        if (first.closed && first.text === "") {
          count("closed at accept");
          refusals++;
          continue;
        }
        const auth = { nonce: newNonce(), mac: "B".repeat(43) };
        await c.send(
          JSON.stringify({ jsonrpc: "2.0", id: 1, method: "auth", params: auth }) + "\n",
        );
        const got = await c.receive();
        const lines = linesOf(got);
        count(
          got.closed && lines.length === 2 && lines[1] === UNAUTHORIZED_1
            ? "unauthorized"
            : `other: ${got.text}`,
        );
      }
      assert.deepEqual(outcomes, { "unauthorized": 1, "closed at accept": 199 });
      await using other = await connect(server, { tls, from: freshSource() });
      assert.ok(await other.peer.call("ram"), "another source is unaffected");
      await w.check("200 wrong MACs");
    });

    await t.step(
      "failures and refusals are rate-limited warnings, shown with --quiet",
      async () => {
        const logged = () => {
          const log = server.stderr();
          const lines = [...log.matchAll(/ warn \S+ refused: penalised for \d+ ms more$/gm)].length;
          const suppressed = [...log.matchAll(/ warn refused: (\d+) similar lines suppressed$/gm)]
            .reduce((sum, m) => sum + Number(m[1]), 0);
          return { lines, suppressed };
        };
        // The count of the last second comes from the logger's timer, shortly after.
        assert.ok(
          await eventually(() => {
            const { lines, suppressed } = logged();
            return lines + suppressed === refusals;
          }, 3_000),
          `refusals ${refusals}, logged ${JSON.stringify(logged())}`,
        );
        assert.ok(logged().suppressed > 0, "most refusals were counted, not written");
        const log = server.stderr();
        for (
          const reason of [
            "Authentication failed: malformed first frame",
            "Authentication failed: first request was not auth",
            "Cannot read frame: \\d+ bytes exceeds the 4096-byte limit",
            "Authentication failed: no answer within 1000 ms",
            "Authentication failed: wrong token",
          ]
        ) {
          const line = new RegExp(
            ` warn \\S+ auth failed: ${reason}; 127\\.0\\.\\d+\\.\\d+ penalised for 60000 ms$`,
            "m",
          );
          assert.match(log, line);
        }
        assert.doesNotMatch(log, / info /, "--quiet keeps routine lines out");
      },
    );
  });

  Deno.test(`rmon-server (${mode}) lets a client in while silent connections flood it`, async (t) => {
    await t.step("a flood from one source holds 8 slots; others come and go freely", async () => {
      await using server = await startServer({ args: tlsArgs });
      await using w = await watch(server, tls);
      const n = tls ? 200 : 500;
      const flood = await Promise.all(
        Array.from({ length: n }, () => rawDial(server, { tls, from: "127.0.0.1" })),
      );
      try {
        const firsts = await Promise.all(flood.map((c) => c.lines(1)));
        const held = firsts.filter((f) => !f.closed && isHello(linesOf(f)[0]));
        const refused = firsts.filter((f) => f.closed && f.text === "");
        assert.equal(held.length, 8, "held: --max-startups-per-source");
        assert.equal(refused.length, n - 8, "the rest closed at accept");
        await using legit = await connect(server, { tls, from: "127.0.0.3" });
        assert.ok(await legit.peer.call("ram"), "a legitimate client authenticates and is served");
        const stillHeld = await Promise.all(
          flood.filter((_, i) => !firsts[i]!.closed).map((c) => c.receive(10)),
        );
        assert.ok(stillHeld.every((r) => !r.closed), "the flood is still held meanwhile");
        await w.check("a flood of silent connections");
        assert.match(
          server.stderr(),
          / warn 127\.0\.0\.1:\d+ refused: 8 unauthenticated connections from 127\.0\.0\.1 already$/m,
        );
      } finally {
        for (const c of flood) c.close();
      }
    });

    await t.step("--max-startups N caps unauthenticated connections in all", async () => {
      await using server = await startServer({ args: [...tlsArgs, "--max-startups", "12"] });
      const open = [];
      try {
        for (const from of ["127.0.0.4", "127.0.0.5"]) {
          for (let i = 0; i < 8; i++) open.push(await rawDial(server, { tls, from }));
        }
        const firsts = await Promise.all(open.map((c) => c.lines(1)));
        assert.equal(
          firsts.filter((f) => !f.closed).length,
          12,
          "8 from one source, 4 from the other",
        );
        await assertRefusedAtAccept(server, tls, "127.0.0.6");
        assert.match(server.stderr(), /refused: 12 unauthenticated connections already$/m);
      } finally {
        for (const c of open) c.close();
      }
      // Once the held ones are gone, their slots are free again.
      let again: Received = { text: "", closed: true };
      for (let i = 0; i < 40 && again.closed; i++) {
        await using c = await rawDial(server, { tls, from: "127.0.0.6" });
        again = await c.lines(1, 1_000);
        if (again.closed) await sleep(50);
      }
      assert.ok(isHello(linesOf(again)[0]));
    });
  });

  Deno.test(`rmon-server (${mode}) closes clients that stop reading or go quiet`, async (t) => {
    await using server = await startServer({
      args: [...tlsArgs, "--write-timeout", "500ms", "--idle-timeout", "1s"],
    });
    await using w = await watch(server, tls);

    await t.step(
      "a client that stops reading mid-exec: closed at the write deadline, processes killed",
      async () => {
        await using stuck = await connect(server, { tls, from: freshSource(), read: false });
        const call = outcome(stuck.peer.call("exec", FLOOD_EXEC));
        assert.ok(await eventually(() => descendants(server.pid).length >= 1));
        const kids = descendants(server.pid);
        assert.ok(
          await eventually(() => kids.every((pid) => !isAlive(pid)), 10_000),
          "the exec's processes were killed",
        );
        assert.ok(
          await eventually(() =>
            /closed: Connection closed: Write timed out: the peer took no data for 500 ms$/m.test(
              server.stderr(),
            )
          ),
        );
        stuck.peer.close();
        assert.ok(await call instanceof Error, "the call never got an answer");
        await w.check("a client that stopped reading");
      },
    );

    await t.step(
      "a client that sends requests and never reads: the server stops reading, then closes it",
      async () => {
        const from = freshSource();
        await using flooder = await connect(server, { tls, from, read: false });
        const frames = '{"jsonrpc":"2.0","id":1,"method":"heartbeat"}\n'.repeat(20_000);
        const chunk = new TextEncoder().encode(frames);
        let written = 0;
        let closed = false;
        const started = performance.now();
        // Bounded: a server that buffered everything would take 10 s of this without a close.
        while (!closed && performance.now() - started < 10_000) {
          try {
            written += await flooder.transport.write(chunk);
          } catch {
            closed = true;
          }
        }
        assert.ok(closed, `the server never closed the connection; ${written >> 20} MiB written`);
        assert.ok(
          written < 64 * MiB,
          `the server took ${written >> 20} MiB before it stopped reading`,
        );
        const timedOut = new RegExp(
          `${from.replaceAll(".", "\\.")}:\\d+ closed: Connection closed: Write timed out`,
        );
        assert.ok(await eventually(() => timedOut.test(server.stderr())), "closed for its writes");
        await w.check("a client that sent without reading");
      },
    );

    await t.step(
      "a silent client gets bye after the idle timeout; a long call and heartbeats keep theirs",
      async () => {
        await using idle = await connect(server, { tls, from: freshSource() });
        const byes: ByeParams[] = [];
        idle.peer.handlers.onNotification = (n) => byes.push(n.params as unknown as ByeParams);
        await using busy = await connect(server, { tls, from: freshSource() });
        await using beating = await connect(server, { tls, from: freshSource() });
        const long = busy.peer.call("exec", { shell: "sh", command: "sleep 2.5" });
        const started = performance.now();
        while (performance.now() - started < 2_500) {
          assert.ok(await beating.peer.call("heartbeat"));
          await sleep(400);
        }
        assert.equal(((await long) as unknown as CallEnd).exitCode, 0);
        assert.ok(idle.peer.isClosed, "the silent client was closed");
        assert.deepEqual(byes, [{ reason: "error", message: "Idle for 1000 ms" }]);
        assert.equal(busy.peer.isClosed, false, "a call in flight is never idle");
        assert.equal(beating.peer.isClosed, false, "heartbeats keep a connection");
        await w.check("idle clients");
      },
    );
  });

  Deno.test(`rmon-server (${mode}) finishes disconnect, reset, kill and signals within the grace while a client does not read`, async (t) => {
    /** What would bound these without the close grace: a write timeout of a minute. */
    const args = [...tlsArgs, "--write-timeout", "60s"];
    /**
     * Well above the 2 s close grace (children die at once on SIGTERM here),
     * below the server's 6 s last-resort bound on closing sessions, and far
     * below the write timeout.
     */
    const BOUND_MS = 5_000;

    /** A server with a client from `from` that runs a flooding exec and never reads. */
    async function stalled(from: string) {
      const server = await startServer({ args });
      const stuck = await connect(server, { tls, from, read: false });
      const call = outcome(stuck.peer.call("exec", FLOOD_EXEC));
      // The output fills every socket buffer on the way, then the pipeline stands still.
      assert.ok(await outputStalls(server.pid), "the pipeline stalls");
      const kids = descendants(server.pid);
      return {
        server,
        kids,
        async [Symbol.asyncDispose]() {
          stuck.peer.close();
          await call;
          await server[Symbol.asyncDispose]();
        },
      };
    }

    /** Stop the server with `stop` and assert it exited cleanly, in time, its children dead. */
    async function stopsInTime(stop: (server: ServerProcess) => Promise<void> | void) {
      await using s = await stalled(freshSource());
      const started = performance.now();
      await stop(s.server);
      assert.equal((await s.server.status).code, 0);
      const ms = performance.now() - started;
      assert.ok(ms < BOUND_MS, `exited after ${Math.round(ms)} ms`);
      assert.ok(s.kids.every((pid) => !isAlive(pid)), "every child was killed");
    }

    const scenarios: Record<string, () => Promise<void>> = {
      "kill": () =>
        stopsInTime(async (server) => {
          await using a = await connect(server, { tls });
          assert.deepEqual(await a.peer.call("kill"), { ok: true });
        }),
      "SIGINT": () => stopsInTime((server) => server.kill("SIGINT")),
      "SIGTERM": () => stopsInTime((server) => server.kill("SIGTERM")),
      "SIGHUP": () => stopsInTime((server) => server.kill("SIGHUP")),
      "reset: a client connects right after it, while the stuck one is still held": async () => {
        const stuckFrom = freshSource();
        const nextFrom = freshSource();
        await using s = await stalled(stuckFrom);
        {
          await using a = await connect(s.server, { tls });
          assert.deepEqual(await a.peer.call("reset"), { ok: true });
        }
        let next = null;
        for (let i = 0; i < 40 && next === null; i++) {
          next = await connect(s.server, { tls, from: nextFrom }).catch(() => null);
          if (next === null) await sleep(25);
        }
        assert.ok(next, "the server listens again");
        assert.ok(await next.peer.call("ram"));
        await next[Symbol.asyncDispose]();
        assert.ok(await eventually(() => s.kids.every((pid) => !isAlive(pid)), BOUND_MS));
        const closed = new RegExp(`${stuckFrom.replaceAll(".", "\\.")}:\\d+ closed`);
        assert.ok(await eventually(() => closed.test(s.server.stderr()), BOUND_MS));
        // Which of the two the log names first depends on the load of the machine (the stuck
        // one may be cut off at once, or only after the grace); that the next client got in
        // within the bound above is the claim.
        const up = s.server.stderr().search(
          new RegExp(`${nextFrom.replaceAll(".", "\\.")}:\\d+ authenticated`),
        );
        assert.ok(up >= 0, "the new client is logged");
        assert.ok(isAlive(s.server.pid));
      },
      "disconnect asked by the client that does not read": async () => {
        const from = freshSource();
        const server = await startServer({ args });
        try {
          await using w = await watch(server, tls);
          const stuck = await connect(server, { tls, from, read: false });
          const call = outcome(stuck.peer.call("exec", FLOOD_EXEC));
          assert.ok(await outputStalls(server.pid), "the pipeline stalls");
          const kids = descendants(server.pid);
          const started = performance.now();
          const bye = outcome(stuck.peer.call("disconnect"));
          const closed = new RegExp(`${from.replaceAll(".", "\\.")}:\\d+ closed`);
          assert.ok(await eventually(() => closed.test(server.stderr()), BOUND_MS));
          const ms = performance.now() - started;
          assert.ok(ms < BOUND_MS, `closed after ${Math.round(ms)} ms`);
          assert.ok(await eventually(() => kids.every((pid) => !isAlive(pid))));
          stuck.peer.close();
          await Promise.all([call, bye]);
          await w.check("a disconnect nobody read");
        } finally {
          await server[Symbol.asyncDispose]();
        }
      },
    };
    // Concurrently, each with its own server: the graces overlap instead of adding up.
    const results = await Promise.allSettled(
      Object.entries(scenarios).map(([name, run]) =>
        run().catch((err) => {
          throw new Error(`${name}: ${describeError(err)}`, { cause: err });
        })
      ),
    );
    const failed = results.filter((r) => r.status === "rejected");
    await t.step("every scenario ended as it should", () => {
      assert.deepEqual(failed.map((r) => describeError((r as PromiseRejectedResult).reason)), []);
    });
  });
}
