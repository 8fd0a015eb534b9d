/**
 * The limit of exec containment, shown exactly (docs/security.md, "Escaped
 * processes"): every process left in the exec's process group is stopped when
 * the call ends, however it was started, but a descendant that leaves the
 * group with `setsid` survives the call. The test kills that one itself, by
 * the pid it wrote, so no process outlives the test.
 * @module
 */

import assert from "node:assert/strict";
import type { RpcPeer } from "../lib/protocol/connection.ts";
import type { CallEnd } from "../lib/protocol/messages.ts";
import { connect, eventually, isAlive, startServer } from "./helpers.ts";

/** The pid a command wrote to `path`, or undefined if it has not (yet). */
async function pidIn(path: string): Promise<number | undefined> {
  const text = await Deno.readTextFile(path).catch(() => "");
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** How each kind of descendant is started: `$START` stands for the process that writes its pid. */
const FORMS: [string, string][] = [
  ["a background job holding the output pipes", "$START &"],
  ["a background job holding no pipe", "$START >/dev/null 2>&1 </dev/null &"],
  ["a double fork (reparented, still in the group)", "( $START >/dev/null 2>&1 </dev/null & )"],
  ["a nohup job", "nohup $START >/dev/null 2>&1 </dev/null &"],
];

/** A process that writes its pid to `file`, then sleeps 300 s under that pid. */
const start = (file: string) => `sh -c 'echo $$ > ${file}; exec sleep 300'`;

/** The command line: start one descendant by `form`, then end once its pid is written. */
function commandFor(dir: string, form: string, file: string): string {
  return `cd '${dir}'\n${form.replace("$START", () => start(file))}\n` +
    `while [ ! -s ${file} ]; do sleep 0.01; done`;
}

Deno.test({
  name: "exec stops its whole process group at the end of the call, but not a setsid escapee",
  ignore: Deno.build.os === "windows",
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "rmon-escape-" });
    const pids: number[] = [];
    /** Run `form` as one exec call; returns the pid its descendant wrote. */
    const run = async (peer: RpcPeer, form: string, file: string) => {
      const command = commandFor(dir, form, file);
      const end = await peer.call("exec", { shell: "sh", command, timeoutMs: 10_000 });
      assert.equal((end as unknown as CallEnd).exitCode, 0);
      const pid = await pidIn(`${dir}/${file}`);
      assert.ok(pid !== undefined, `${file} was written`);
      pids.push(pid);
      return pid;
    };
    try {
      await using server = await startServer();
      await using s = await connect(server);
      for (const [i, [what, form]] of FORMS.entries()) {
        await t.step(`${what} is stopped`, async () => {
          const pid = await run(s.peer, form, `stopped-${i}.pid`);
          assert.ok(await eventually(() => !isAlive(pid), 5_000), `${pid} still runs`);
        });
      }
      await t.step("a setsid descendant survives the call (the documented limit)", async () => {
        const form = "setsid $START >/dev/null 2>&1 </dev/null &";
        const pid = await run(s.peer, form, "escaped.pid");
        // Give a kill that was coming every chance to arrive before calling it a survivor.
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.ok(isAlive(pid), `the setsid descendant (${pid}) survives the call`);
        Deno.kill(pid, "SIGKILL");
        assert.ok(await eventually(() => !isAlive(pid), 5_000), "the test killed it");
      });
    } finally {
      for (const pid of pids) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // Already gone: nothing left to clean up.
        }
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});
