/**
 * The interactive console (`rmon` without `--`): connections to many servers
 * held open at once, a prompt showing the selection, every line parsed by the
 * shared grammar, and answers shown as they arrive. Client layer; the entry
 * point (`client.ts`) calls {@linkcode runConsole}.
 *
 * Behaviour worth knowing:
 * - Lines come from a terminal (prompt, history, Tab completion) or from a
 *   pipe, run one after another without prompts. The console exits 0 at
 *   `exit`, `quit`, Ctrl-D or end of input, whatever the commands returned;
 *   it fails (via a `UsageError`) only when it cannot start. Without a
 *   terminal, Ctrl-C (SIGINT) while idle leaves with 130.
 * - Ctrl-C while a command runs cancels it on all its hosts (the servers kill
 *   its processes); a second Ctrl-C stops waiting for hosts that do not answer.
 *   At an idle prompt it clears the line.
 * - `kill`, `reset` and exec on several hosts ask first, unless `--yes`. When
 *   stdin is not a terminal there is nobody to ask, so without `--yes` they
 *   are refused with a one-line error (and the script goes on).
 * - History (terminal sessions only) lives in the per-user state directory;
 *   blank lines, repeats and lines starting with a space are not saved.
 * - Lost and recovered hosts are announced on one line above the prompt.
 * - `forget` removes hosts from the fleet; `disconnect` of a host that is not
 *   connected does the same (there is nothing else to do with a dead or
 *   mistyped host). A host disconnected on purpose stays in the fleet, to be
 *   reconnected, but commands skip it rather than count it unreachable.
 * - A progress line (`connecting 3/6`, `2/3 hosts answered`) is wiped before
 *   anything else is written, so no message ever lands on its line; answers
 *   that come after a second Ctrl-C are dropped, never drawn over the prompt.
 * - A stdout closed by its reader (`rmon HOSTS < script | head`) cancels the
 *   running command and ends the console quietly with 141, like SIGPIPE.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { EXIT_CODES, UsageError } from "../usage.ts";
import { RMON_VERSION } from "../protocol/constants.ts";
import { isRemote } from "../grammar/command.ts";
import { describeSyntaxError } from "../grammar/errors.ts";
import { CommandSyntaxError, parseLine } from "../grammar/parse_line.ts";
import type { ClientOptions } from "./options.ts";
import { addHosts, collectHosts } from "./setup.ts";
import { checkLinkBudget } from "./fd_limit.ts";
import { busSettings, openBusFleet } from "./bus_setup.ts";
import { appendHistory, HISTORY_SIZE, historyPath, loadHistory, worthKeeping } from "./history.ts";
import { completeLine } from "./console_complete.ts";
import { runLocal, runRemote } from "./console_commands.ts";
import { ConsoleContext, type ConsoleEnv } from "./console_context.ts";
import { LineReader } from "./console_input.ts";
import { useColor } from "./views/color.ts";

export type { ConsoleEnv };

/** The interactive console; see the module doc. */
export class Console {
  #opts: ClientOptions;
  #env: ConsoleEnv;
  #ctx!: ConsoleContext;
  #historyFile: string | null = null;
  #lastLine: string | undefined;
  /** Set when SIGINT arrives at an idle console without a terminal. */
  #idleInterrupted = false;

  /** Create a console for `opts`; nothing happens before {@linkcode Console.run}. */
  constructor(opts: ClientOptions, env: ConsoleEnv) {
    this.#opts = opts;
    this.#env = env;
  }

  /**
   * The console's context and the hosts to connect at start: over the bus
   * (`--nats`, inventory `[nats]`), the expected hosts or those present;
   * else the command line's and inventory's servers, added to a direct fleet.
   */
  async #open(): Promise<string[]> {
    const settings = await busSettings(this.#opts);
    if (settings !== null) {
      // NATS down or refusing us is one line and exit 3, before any prompt.
      const bus = await openBusFleet(this.#opts, settings, { live: true });
      this.#ctx = new ConsoleContext(this.#opts, this.#env, bus);
      return bus.links.map((m) => m.name);
    }
    // Reconnect stays on (the default timings): a lost host comes back by itself.
    const ctx = this.#ctx = new ConsoleContext(this.#opts, this.#env);
    const book = await collectHosts(ctx.opts);
    ctx.typed = book.typed;
    // The console holds one connection per host: more than the open-files limit allows is
    // said now, not reported as hosts unreachable with "Too many open files" (fd_limit.ts).
    try {
      checkLinkBudget(book.hosts.length);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      throw new UsageError(err.message, EXIT_CODES.usage, { cause: err });
    }
    // Tokens are checked before anything is shown: a missing token is a usage error.
    await addHosts(ctx.direct!, book.hosts, ctx.credentials);
    return book.hosts.map((s) => s.name);
  }

  /** Connect to the hosts of the command line, then read and run lines until exit; returns 0. */
  async run(): Promise<number> {
    const names = await this.#open();
    const ctx = this.#ctx;
    const history = await this.#loadHistory();
    ctx.reader = new LineReader({
      terminal: ctx.env.terminal,
      history,
      historySize: HISTORY_SIZE,
      prompt: () => this.#prompt(),
      complete: (line) => completeLine(line, ctx.hosts()),
      onInterrupt: () => this.#interrupt(),
      write: (stream, text) => ctx.write(stream, text),
    });
    const onSignal = () => ctx.reader.interrupt();
    // A terminal in raw mode sends Ctrl-C as a key; SIGINT still comes from pipes and `kill`.
    Deno.addSignalListener("SIGINT", onSignal);
    try {
      if (names.length > 0) {
        await ctx.connect(names, false);
      } else if (ctx.bus) {
        ctx.notice("No hosts yet: no agent is present on the bus (they show up as they announce)");
      } else {
        ctx.notice("No hosts yet: add some with connect ADDR (help connect)");
      }
      if (ctx.env.terminal) {
        ctx.out(`rmon ${RMON_VERSION}: type help for the commands, exit or Ctrl-D to leave`);
      }
      return await this.#loop();
    } finally {
      Deno.removeSignalListener("SIGINT", onSignal);
      ctx.reader.close();
      await ctx.web?.close();
      await ctx.fleet.close();
    }
  }

  async #loop(): Promise<number> {
    const ctx = this.#ctx;
    while (true) {
      const line = await ctx.reader.read();
      if (line === null) {
        if (ctx.stdoutClosed) return EXIT_CODES.brokenPipe;
        // Ctrl-D: finish the prompt's line so the shell's prompt starts clean.
        if (ctx.env.terminal) ctx.write("out", "\n");
        return this.#idleInterrupted ? EXIT_CODES.interrupted : EXIT_CODES.ok;
      }
      ctx.lineNumber++;
      await this.#remember(line);
      const leave = await this.#execute(line);
      if (leave) return EXIT_CODES.ok;
    }
  }

  #prompt(): string {
    const ctx = this.#ctx;
    const connected = ctx.connected();
    const selected = ctx.selection.names(ctx.hosts(), connected).length;
    return `rmon [${selected}/${connected.length}]> `;
  }

  async #loadHistory(): Promise<string[]> {
    const ctx = this.#ctx;
    if (!ctx.env.interactive) return [];
    try {
      this.#historyFile = historyPath((name) => ctx.env.env(name));
      return await loadHistory(this.#historyFile);
    } catch (err) {
      this.#historyFile = null;
      ctx.write("err", `History is off: ${describeError(err)}\n`);
      return [];
    }
  }

  async #remember(line: string): Promise<void> {
    const file = this.#historyFile;
    const keep = worthKeeping(line, this.#lastLine);
    if (line.trim() !== "") this.#lastLine = line;
    if (file === null || !keep) return;
    try {
      await appendHistory(file, line);
    } catch (err) {
      // Say it once, then carry on without: a read-only home must not stop the console.
      this.#historyFile = null;
      this.#ctx.notice(`${describeError(err)}: history is off for this session`);
    }
  }

  #interrupt(): void {
    const ctx = this.#ctx;
    const running = ctx.running;
    if (running === null) {
      if (!ctx.env.terminal) {
        // A script or pipe with nothing running: Ctrl-C means stop.
        this.#idleInterrupted = true;
        ctx.reader.close();
      }
      return;
    }
    if (!running.signal.aborted) {
      if (ctx.env.terminal) ctx.write("out", "^C\n");
      running.abort("cancelled by Ctrl-C");
      return;
    }
    ctx.giveUp?.abort();
  }

  /** Run one line; true when the console should leave. */
  async #execute(line: string): Promise<boolean> {
    const ctx = this.#ctx;
    try {
      const parsed = parseLine(line);
      if (parsed === null) return false;
      const { target, command } = parsed;
      if (isRemote(command)) {
        await runRemote(ctx, target, command);
        return false;
      }
      return await runLocal(ctx, command, target) === "leave";
    } catch (err) {
      if (err instanceof CommandSyntaxError) {
        // A caret under the typed line helps a person; a script's log wants one line with the column.
        ctx.error(
          ctx.env.interactive
            ? describeSyntaxError(line, err)
            : `column ${err.position + 1}: ${err.message} (expected: ${err.expected})`,
        );
      } else if (
        err instanceof UsageError || err instanceof RangeError || err instanceof SyntaxError
      ) {
        // A target naming nobody, a bad address, an unreadable token: say so and carry on.
        ctx.error(err.message);
      } else {
        throw err;
      }
      return false;
    }
  }
}

const encoder = new TextEncoder();

/** Write all of `bytes`: a pipe may take less than asked at a time. */
function writeAll(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

/** Run the interactive console on this process's stdin/stdout; returns the exit code. */
export function runConsole(opts: ClientOptions): Promise<number> {
  const interactive = Deno.stdin.isTerminal();
  const terminal = interactive && Deno.stdout.isTerminal();
  const env: ConsoleEnv = {
    write: (stream, text) =>
      writeAll(stream === "out" ? Deno.stdout : Deno.stderr, encoder.encode(text)),
    interactive,
    terminal,
    color: useColor(Deno.stdout),
    escape: Deno.stdout.isTerminal() && !opts.raw,
    columns: () => (terminal ? Deno.consoleSize().columns : 80),
    rows: () => (terminal ? Deno.consoleSize().rows : 24),
    env: (name) => Deno.env.get(name),
  };
  return new Console(opts, env).run();
}
