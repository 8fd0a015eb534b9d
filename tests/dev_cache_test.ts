/**
 * Process-level tests of the dev launchers on a fresh machine: `deno task
 * demo` and `deno task client` with an empty Deno cache (a new DENO_DIR), on
 * a tmux screen. Deno then downloads the npm packages from the registry, so
 * these tests need it; their waits are generous (a slow registry makes them
 * slow, not red). `RMON_TEST_SKIP_FRESH_CACHE=1` skips them where there is no
 * registry at all; a skipped test is reported as ignored, never as passed.
 * @module
 */

import assert from "node:assert/strict";
import { childEnv } from "../tools/local_server.ts";
import { TmuxTerminal } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const skip = Deno.env.get("RMON_TEST_SKIP_FRESH_CACHE") === "1";
/** How long the first downloads may take before the test gives up. */
const DOWNLOAD_MS = 180_000;

/** Run `deno task ARGS` from the checkout in a tmux pane with an empty Deno cache. */
async function freshTask(args: string[], home: string): Promise<TmuxTerminal> {
  const env = childEnv({ DENO_DIR: `${home}/deno`, HOME: home, NO_COLOR: "1" });
  delete env.INIT_CWD;
  return await TmuxTerminal.start([Deno.execPath(), "task", ...args], { env, cwd: ROOT });
}

/** What Deno's downloads leave on a screen when they are drawn over a program's output. */
const DOWNLOAD_TRACES = /Download|▰|\[\d\d:\d\d\]/;

Deno.test({
  name: "deno task demo on an empty Deno cache shows the console, not a download bar",
  ignore: skip,
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "rmon-test-fresh-" });
    try {
      await using term = await freshTask(["demo"], home);
      // Downloads come first; once the console speaks, its prompt must follow at once.
      await term.waitFor(/^Connected to 3 of 3 hosts$/m, DOWNLOAD_MS);
      const screen = await term.waitFor(/rmon \[3\/3\]>$/);
      assert.match(screen, /^Started 3 servers on /m, screen);
      assert.match(screen, /^Connected to 3 of 3 hosts$/m, screen);
      assert.match(screen, /^rmon \d+\.\d+\.\d+: type help for the commands/m, screen);
      assert.doesNotMatch(screen, DOWNLOAD_TRACES, screen);
      await term.type("exit");
      await term.press("Enter");
      await term.waitFor(/^Stopped the 3 demo servers\.$/m);
      assert.equal(await term.exited(), 0);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "deno task client on an empty Deno cache shows the console, not a download bar",
  ignore: skip,
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "rmon-test-fresh-" });
    try {
      await using term = await freshTask(["client"], home);
      await term.waitFor(/^No hosts yet/m, DOWNLOAD_MS);
      const screen = await term.waitFor(/rmon \[0\/0\]>$/);
      assert.match(screen, /^No hosts yet: add some with connect ADDR/m, screen);
      assert.match(screen, /^rmon \d+\.\d+\.\d+: type help for the commands/m, screen);
      assert.doesNotMatch(screen, DOWNLOAD_TRACES, screen);
      await term.type("exit");
      await term.press("Enter");
      assert.equal(await term.exited(), 0);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
