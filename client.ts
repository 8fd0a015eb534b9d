/**
 * `rmon` entry point: the interactive console (default), one-shot mode
 * (`-- CMD`), `rmon web`, `rmon keygen`, `rmon token new` or `rmon bootstrap`. Maps errors to
 * one-line messages and exit codes; the only place
 * the client process exits.
 * @module
 */
// deno-lint-ignore-file no-console

import { EXIT_CODES, UsageError } from "./lib/usage.ts";
import { RMON_VERSION } from "./lib/protocol/constants.ts";
import { CLIENT_USAGE, parseClientArgs } from "./lib/client/options.ts";
import { listHosts, runOneShot } from "./lib/client/oneshot.ts";
import { RunStop } from "./lib/client/oneshot_stop.ts";
import { useColor } from "./lib/client/views/color.ts";

const encoder = new TextEncoder();

/** `rmon web`'s module, named by a computed specifier (see its doc; `--include`d when compiled). */
const WEB_MODULE = ["./lib/client/web", "web_main.ts"].join("/");

/**
 * Bytes encoded per write: streamed output passes through one buffer kept for
 * the whole run instead of a fresh one per chunk, which the GC would free only
 * much later (a 500 MB stream grew the client by ~100 MB that way).
 */
const WRITE_BUFFER_BYTES = 256 * 1024;
const writeBuffer = new Uint8Array(WRITE_BUFFER_BYTES);

/**
 * A writer for `file` that writes all of each text (a pipe may take less at a
 * time) and calls `onClosed` instead of throwing when the reader has gone.
 */
function writerTo(file: typeof Deno.stdout, onClosed: () => void): (text: string) => void {
  return (text) => {
    try {
      let rest = text;
      while (rest !== "") {
        // encodeInto stops before a character that does not fit whole.
        const { read, written } = encoder.encodeInto(rest, writeBuffer);
        const bytes = writeBuffer.subarray(0, written);
        for (let done = 0; done < written;) done += file.writeSync(bytes.subarray(done));
        rest = read === rest.length ? "" : rest.slice(read);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
      onClosed();
    }
  };
}

/**
 * A writer of raw bytes to `file` (output passed through as the server sent it),
 * with the same handling of short writes and a closed reader as {@linkcode writerTo}.
 */
function bytesTo(file: typeof Deno.stdout, onClosed: () => void): (bytes: Uint8Array) => void {
  return (bytes) => {
    try {
      for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
    } catch (err) {
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
      onClosed();
    }
  };
}

async function main(args: string[]): Promise<number> {
  try {
    // Each mode's modules are loaded when it is chosen: a one-shot run (what scripts and
    // fan-outs start thousands of times) carries no console, key or page code.
    if (args[0] === "keygen") {
      const { runKeygen } = await import("./lib/client/keygen.ts");
      console.log(await runKeygen(args.slice(1)));
      return EXIT_CODES.ok;
    }
    if (args[0] === "bootstrap") {
      // Loaded only when asked for: the console and one-shot mode never need it.
      const { runBootstrap } = await import("./lib/client/bootstrap.ts");
      return await runBootstrap(args.slice(1), {
        stdout: writerTo(Deno.stdout, () => {}),
        stderr: writerTo(Deno.stderr, () => {}),
        color: useColor(Deno.stdout),
      });
    }
    if (args[0] === "web") {
      // Loaded only here: the page's files and its chart library stay out of every other start.
      const web = await import(WEB_MODULE) as typeof import("./lib/client/web/web_main.ts");
      return await web.runWebCommand(args.slice(1), {
        out: writerTo(Deno.stdout, () => {}),
        err: writerTo(Deno.stderr, () => {}),
      });
    }
    if (args[0] === "token") {
      const { runToken } = await import("./lib/client/token_new.ts");
      console.log(await runToken(args.slice(1)));
      return EXIT_CODES.ok;
    }
    let opts;
    try {
      opts = parseClientArgs(args);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      // As rmon-server does: a bad command line points at the help.
      console.error(`rmon: ${err.message}\nTry "rmon --help".`);
      return err.exitCode;
    }
    if (opts.help) {
      console.log(CLIENT_USAGE);
      return EXIT_CODES.ok;
    }
    if (opts.version) {
      console.log(`rmon ${RMON_VERSION}`);
      return EXIT_CODES.ok;
    }
    if (opts.listHosts) {
      await listHosts(opts, writerTo(Deno.stdout, () => {}), writerTo(Deno.stderr, () => {}));
      return EXIT_CODES.ok;
    }
    if (opts.command === null) {
      const { runConsole } = await import("./lib/client/console.ts");
      return await runConsole(opts);
    }
    // A signal or a closed stdout cancels the command on every host; a second
    // signal stops waiting for answers. Every host still gets its record.
    const stop = new RunStop();
    stop.listen();
    const stdout = writerTo(Deno.stdout, () => stop.stdoutClosed());
    const stdoutBytes = bytesTo(Deno.stdout, () => stop.stdoutClosed());
    try {
      return await runOneShot(opts, {
        stdout: (t) => stop.outputClosed ? undefined : stdout(t),
        stdoutBytes: (b) => stop.outputClosed ? undefined : stdoutBytes(b),
        // A closed stderr only loses progress and messages: nothing to stop for.
        stderr: writerTo(Deno.stderr, () => {}),
        stderrBytes: bytesTo(Deno.stderr, () => {}),
        progress: Deno.stderr.isTerminal() && !opts.json,
        color: !opts.json && useColor(Deno.stdout),
        terminal: Deno.stdout.isTerminal(),
        // Tables fit the terminal; in a file or a pipe, 80 columns.
        columns: Deno.stdout.isTerminal() ? Math.max(20, Deno.consoleSize().columns) : 80,
        stop,
      });
    } finally {
      stop.dispose();
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
