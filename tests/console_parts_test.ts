/**
 * Unit tests of the console's parts that need no server: the confirmation
 * rule shared with one-shot mode, link notices, the local-command handler
 * record, and the rule that only views/color.ts writes escape codes.
 * @module
 */

import assert from "node:assert/strict";
import { commandText, confirmRun, needsConfirmation } from "../lib/client/confirm.ts";
import { LOCAL_HANDLERS } from "../lib/client/console_commands.ts";
import type { LinkStatus } from "../lib/client/host_link.ts";
import { LinkNotices } from "../lib/client/link_notices.ts";
import { LOCAL_SPECS } from "../lib/grammar/command_table.ts";

const exec = { kind: "exec", shell: "sh", command: "uname -r" } as const;

Deno.test("confirmRun() applies one rule for both modes", async (t) => {
  await t.step("kill, reset and exec on several hosts are risky; the rest is not", () => {
    assert.equal(needsConfirmation({ kind: "kill" }, 1), true);
    assert.equal(needsConfirmation({ kind: "reset" }, 1), true);
    assert.equal(needsConfirmation(exec, 2), true);
    assert.equal(needsConfirmation(exec, 1), false);
    assert.equal(needsConfirmation({ kind: "ram" }, 50), false);
    assert.equal(commandText(exec), "sh: uname -r");
  });
  await t.step("--yes runs without asking", async () => {
    const asked: string[] = [];
    const verdict = await confirmRun({ kind: "kill" }, ["a", "b"], {
      yes: true,
      ask: (q) => Promise.resolve(asked.push(q) ? "n" : null),
      noAsk: "x",
    });
    assert.deepEqual(verdict, { run: true });
    assert.deepEqual(asked, []);
  });
  await t.step("nobody to ask: refused with the reason", async () => {
    const verdict = await confirmRun(exec, ["web1", "web2"], {
      yes: false,
      ask: null,
      noAsk: "one-shot mode does not ask; add --yes to allow it",
    });
    assert.deepEqual(verdict, {
      run: false,
      refusal:
        'Cannot run "sh: uname -r" on 2 hosts without confirmation: one-shot mode does not ask; add --yes to allow it',
    });
  });
  await t.step("a person is asked, with the hosts folded; only yes runs", async () => {
    for (
      const [answer, run] of [["y", true], [" YES ", true], ["n", false], [null, false]] as const
    ) {
      let question = "";
      const verdict = await confirmRun(exec, ["web1", "web2", "web3"], {
        yes: false,
        ask: (q) => {
          question = q;
          return Promise.resolve(answer);
        },
        noAsk: "x",
      });
      assert.equal(question, 'Run "sh: uname -r" on 3 hosts (web[1-3])? [y/N] ');
      assert.deepEqual(verdict, run ? { run: true } : { run: false, refusal: null });
    }
  });
});

function status(name: string, state: LinkStatus["state"], since: number, reason?: string) {
  return {
    name,
    address: name === "web1" ? "10.0.0.1:7070" : name,
    state,
    since,
    rttMs: null,
    serverVersion: null,
    os: null,
    readOnly: false,
    role: null,
    user: null,
    security: null,
    fingerprint: null,
    reason: reason ?? null,
  } satisfies LinkStatus;
}

Deno.test("LinkNotices says each change once", async (t) => {
  let now = 0;
  const notices = new LinkNotices(false, () => now);
  await t.step("while connecting, only a failure is announced", async () => {
    await notices.connecting(["web1", "db1"], () => {
      assert.equal(notices.changed(status("web1", "connecting", 0)), null);
      assert.equal(notices.changed(status("web1", "up", 0)), null);
      assert.equal(
        notices.changed(status("db1", "lost", 0, "refused")),
        "Cannot connect to db1: refused",
      );
      return Promise.resolve();
    });
  });
  await t.step("lost, retried quietly, then back after the time it was down", () => {
    assert.equal(notices.changed(status("web1", "lost", 1_000, "reset")), "web1 lost: reset");
    assert.equal(notices.changed(status("web1", "lost", 5_000, "refused")), null);
    assert.equal(notices.downSince("web1"), 1_000);
    now = 13_000;
    assert.equal(notices.changed(status("web1", "up", 13_000)), "web1 is back after 12.0 s");
  });
  await t.step("a first connection after the start says Connected, with the address", () => {
    assert.equal(notices.changed(status("db1", "up", 0)), "Connected to db1");
    assert.equal(notices.changed(status("db1", "closed", 0)), null);
  });
  await t.step("a forgotten host starts afresh", () => {
    notices.forget(["web1"]);
    assert.equal(notices.changed(status("web1", "up", 0)), "Connected to web1 (10.0.0.1:7070)");
  });
});

Deno.test("LOCAL_HANDLERS has one entry per local command of the grammar", () => {
  // Each local spec is named after the kind it parses to; the compiler checks the kinds.
  assert.deepEqual(Object.keys(LOCAL_HANDLERS).sort(), LOCAL_SPECS.map((s) => s.name).sort());
});

Deno.test("only views/color.ts writes terminal escape codes", async () => {
  const root = new URL("../lib/client/", import.meta.url);
  const offenders: string[] = [];
  const walk = async (dir: URL, rel: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${rel}${entry.name}`;
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), `${path}/`);
      else if (entry.name.endsWith(".ts") && path !== "views/color.ts") {
        const text = await Deno.readTextFile(new URL(entry.name, dir));
        // An ESC written as \x1b, \u001b, \033 or \e, outside comments and the escaping filter.
        const code = text.split("\n").filter((l) => !/^\s*(\*|\/\/)/.test(l)).join("\n");
        if (/\\x1b\[|\\u001b\[|\\033\[|\\u\{1b\}\[/i.test(code)) offenders.push(path);
      }
    }
  };
  await walk(root, "");
  assert.deepEqual(offenders, []);
});
