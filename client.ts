/**
 * `rmon` entry point: the interactive console (default), one-shot mode
 * (`-- CMD`), or `rmon keygen`. Maps errors to one-line messages and exit codes; the only place
 * the client process exits.
 * @module
 */
// deno-lint-ignore-file no-console

import { EXIT_CODES, UsageError } from "./lib/usage.ts";
import { RMON_VERSION } from "./lib/protocol/constants.ts";
import { CLIENT_USAGE, parseClientArgs } from "./lib/client/options.ts";
import { runOneShot } from "./lib/client/oneshot.ts";
import { runConsole } from "./lib/client/console.ts";
import { runKeygen } from "./lib/client/keygen.ts";
import { useColor } from "./lib/client/views/color.ts";

const encoder = new TextEncoder();

async function main(args: string[]): Promise<number> {
  try {
    if (args[0] === "keygen") {
      console.log(await runKeygen(args.slice(1)));
      return EXIT_CODES.ok;
    }
    const opts = parseClientArgs(args);
    if (opts.help) {
      console.log(CLIENT_USAGE);
      return EXIT_CODES.ok;
    }
    if (opts.version) {
      console.log(`rmon ${RMON_VERSION}`);
      return EXIT_CODES.ok;
    }
    if (opts.command === null) return await runConsole(opts);
    const interrupt = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      // First Ctrl-C cancels the command on every host; a second one leaves at once.
      if (++interrupts > 1) Deno.exit(EXIT_CODES.interrupted);
      interrupt.abort();
    };
    Deno.addSignalListener("SIGINT", onSigint);
    try {
      return await runOneShot(opts, {
        stdout: (t) => Deno.stdout.writeSync(encoder.encode(t)),
        stderr: (t) => Deno.stderr.writeSync(encoder.encode(t)),
        progress: Deno.stderr.isTerminal() && !opts.json,
        color: !opts.json && useColor(Deno.stdout),
        signal: interrupt.signal,
      });
    } finally {
      Deno.removeSignalListener("SIGINT", onSigint);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`rmon: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
