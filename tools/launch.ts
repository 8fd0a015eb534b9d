// deno-lint-ignore-file no-console
/**
 * Dev launcher behind `deno task server -- ARGS` and `deno task client -- ARGS`:
 * runs the real entry point under `deno run` with the flags of its compile task,
 * so a dev run has exactly the permissions of the shipped binary. Dev tooling
 * layer; a thin parent that stays out of the child's way. The entry's
 * dependencies are cached first, quietly (one line if that takes a while),
 * so Deno's download progress never mixes with the program's own output.
 *
 * @module
 */

import { type Entry, runArgs } from "./entry_flags.ts";
import { quietRun, warmCache } from "./warm_cache.ts";

const ENTRIES: readonly Entry[] = ["server", "client"];

// Signals a supervisor or `deno task` may send us that the child must see too.
// SIGINT is handled apart, in `launch()`. Windows only lets us listen for SIGINT.
const FORWARDED: readonly Deno.Signal[] = Deno.build.os === "windows" ? [] : ["SIGTERM", "SIGHUP"];

/** Runs `entry` with `args` and resolves to the exit code to leave with. */
export async function launch(entry: Entry, args: readonly string[]): Promise<number> {
  // deno task runs us in the project root; INIT_CWD is where the user typed the
  // command, so relative paths in ARGS mean what they would for the binary.
  const cwd = Deno.env.get("INIT_CWD") || Deno.cwd();
  await warmCache([entry], { cwd, notice: (text) => console.error(text) });
  const command = new Deno.Command(Deno.execPath(), {
    args: [...quietRun(runArgs(entry)), ...args],
    cwd,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  });
  const child = command.spawn();
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // The child already exited; its status is on the way.
    }
  };
  // At a terminal, Ctrl-C already reaches the child through the foreground process
  // group, so a second copy would look like a double Ctrl-C: only stay alive until
  // the child is done. Without a terminal the signal came from a script (or from
  // `deno task`, which relays it to us alone), so pass it on.
  const handlers = new Map<Deno.Signal, () => void>([
    ["SIGINT", Deno.stdin.isTerminal() ? () => {} : forward("SIGINT")],
    ...FORWARDED.map((signal) => [signal, forward(signal)] as const),
  ]);
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  try {
    // Deno reports a child killed by a signal as 128 + its number, like a shell.
    return (await child.status).code;
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  }
}

async function main(argv: string[]): Promise<number> {
  const [entry, ...rest] = argv;
  if (!ENTRIES.includes(entry as Entry)) {
    console.error(
      `Cannot launch "${entry ?? ""}": expected "server" or "client" as the first argument`,
    );
    return 2;
  }
  // `deno task server -- --port 5051` hands us the `--` too; it only separated the
  // task's arguments from deno's, so it is not one of the program's arguments.
  const args = rest[0] === "--" ? rest.slice(1) : rest;
  try {
    return await launch(entry as Entry, args);
  } catch (error) {
    console.error(`Cannot launch "${entry}": ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
