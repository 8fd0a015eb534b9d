/**
 * Where the console's lines come from: `node:readline` over stdin, with a
 * prompt, history, Tab completion and Ctrl-C handling when stdin and stdout
 * are a terminal, and plain line reading otherwise (piped scripts). Lines
 * typed while a command runs are queued, not lost. Client I/O edge.
 * @module
 */

import { clearLine, createInterface, cursorTo, type Interface } from "node:readline";
import process from "node:process";
import type { Completion } from "./console_complete.ts";

/** Which stream a text goes to. */
export type Stream = "out" | "err";

/** Options of {@linkcode LineReader}. */
export interface LineReaderOptions {
  /** Line editing, prompt, history and completion (stdin and stdout are a terminal). */
  terminal: boolean;
  /** Earlier lines for the Up key, oldest first. */
  history: readonly string[];
  /** The most history lines kept in memory. */
  historySize: number;
  /** The prompt, computed whenever it is shown (it carries live counts). */
  prompt: () => string;
  /** Tab completion of the line typed so far. */
  complete: (line: string) => Completion;
  /** Ctrl-C while no line is being read, i.e. while a command runs. */
  onInterrupt: () => void;
  /** Writes text to stdout or stderr as is. */
  write: (stream: Stream, text: string) => void;
}

/** Readline's history array: not in the typings, so reached structurally and checked. */
function historyOf(rl: Interface): string[] | undefined {
  const history = (rl as unknown as { history?: unknown }).history;
  return Array.isArray(history) ? history as string[] : undefined;
}

/**
 * Console input; see the module doc. Output that must not garble a line being
 * typed goes through {@linkcode LineReader.write}, which clears the input
 * line, prints, and redraws the prompt and the typed text below.
 */
export class LineReader {
  readonly terminal: boolean;
  #rl: Interface;
  #opts: LineReaderOptions;
  #queue: string[] = [];
  #closed = false;
  /** Resolves the pending read; set only while a prompt or question is shown. */
  #waiter: ((line: string | null) => void) | null = null;
  /** What is shown in front of the input while waiting. */
  #shown = "";
  /** Whether the pending read is a command line (not the answer to a question). */
  #atCommandPrompt = false;
  /** Called on any input: a line, end of input, or (terminal) a key. */
  #inputListeners = new Set<() => void>();

  /** Start reading stdin. */
  constructor(opts: LineReaderOptions) {
    this.terminal = opts.terminal;
    this.#opts = opts;
    this.#rl = createInterface({
      input: process.stdin,
      output: opts.terminal ? process.stdout : undefined,
      terminal: opts.terminal,
      // Readline wants the most recent line first.
      history: [...opts.history].reverse(),
      historySize: opts.historySize,
      completer: opts.terminal ? opts.complete : undefined,
      prompt: "",
    });
    this.#rl.on("line", (line) => {
      const waiter = this.#waiter;
      if (waiter) waiter(line);
      else this.#queue.push(line);
      this.#inputArrived();
    });
    this.#rl.on("close", () => {
      this.#closed = true;
      this.#waiter?.(null);
      this.#inputArrived();
    });
    if (opts.terminal) {
      // Raw mode turns Ctrl-C into a key; readline reports it as this event.
      this.#rl.on("SIGINT", () => this.interrupt());
      process.stdin.on("keypress", this.#onKey);
    }
  }

  #onKey = () => this.#inputArrived();

  #inputArrived(): void {
    for (const listener of [...this.#inputListeners]) listener();
  }

  /** Whether a prompt or question is waiting for a line. */
  get waiting(): boolean {
    return this.#waiter !== null;
  }

  /** The next command line, or null at end of input (Ctrl-D, EOF). */
  read(): Promise<string | null> {
    return this.#next(this.#opts.prompt(), true);
  }

  /**
   * Ask a question and read the answer line (null at end of input). The
   * answer stays out of the history, so Up never brings back a stray `y`.
   */
  async ask(question: string): Promise<string | null> {
    if (!this.terminal) this.#opts.write("err", question);
    const answer = await this.#next(question, false);
    const history = historyOf(this.#rl);
    if (answer !== null && history?.[0] === answer) history.shift();
    return answer;
  }

  #next(prompt: string, command: boolean): Promise<string | null> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.resolve(null);
    this.#shown = prompt;
    this.#atCommandPrompt = command;
    if (this.terminal) {
      this.#rl.setPrompt(prompt);
      // true: keep what was typed ahead while the last command ran, cursor at its end.
      this.#rl.prompt(true);
    }
    return new Promise((resolve) => {
      this.#waiter = (line) => {
        this.#waiter = null;
        this.#shown = "";
        // Typed-ahead text echoes without a prompt until the next read shows one.
        if (this.terminal) this.#rl.setPrompt("");
        resolve(line);
      };
    });
  }

  /**
   * Ctrl-C (the key, or SIGINT from elsewhere). On a terminal, at a prompt or
   * question: drop the typed line and answer with an empty line, like a shell.
   * A question without a terminal is answered empty too (no). Anything else —
   * a running command, or a script waiting for its next line — is for the
   * console's `onInterrupt` to decide.
   */
  interrupt(): void {
    const waiter = this.#waiter;
    if (!waiter || (!this.terminal && this.#atCommandPrompt)) {
      this.#opts.onInterrupt();
      return;
    }
    if (this.terminal) {
      // Cursor to the end of the line, echo ^C as a terminal would, then empty the buffer.
      this.#rl.write(null, { ctrl: true, name: "e" });
      this.#opts.write("out", "^C\n");
      this.#rl.write(null, { ctrl: true, name: "u" });
    }
    waiter("");
  }

  /** Redraw the command prompt if it is shown and its counts changed. */
  refreshPrompt(): void {
    if (!this.terminal || this.#waiter === null || !this.#atCommandPrompt) return;
    const prompt = this.#opts.prompt();
    if (prompt === this.#shown) return;
    this.#shown = prompt;
    this.#rl.setPrompt(prompt);
    this.#rl.prompt(true);
  }

  /** Write text (whole lines) without garbling the line being typed. */
  write(stream: Stream, text: string): void {
    if (!this.terminal || (this.#waiter === null && this.#rl.line === "")) {
      this.#opts.write(stream, text);
      return;
    }
    clearLine(process.stdout, 0);
    cursorTo(process.stdout, 0);
    this.#opts.write(stream, text);
    // Readline's prompt is the shown one while waiting and "" while a command runs.
    this.#rl.prompt(true);
  }

  /**
   * Resolve at the next input: a key press on a terminal, else a line or the
   * end of input (immediately if one is already queued); or when `signal` aborts.
   */
  waitForInput(signal: AbortSignal): Promise<void> {
    if (!this.terminal && (this.#queue.length > 0 || this.#closed)) return Promise.resolve();
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#inputListeners.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#inputListeners.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Forget the text typed so far (e.g. the key that stopped `watch`). */
  discardTyped(): void {
    if (!this.terminal || this.#rl.line === "") return;
    this.#rl.write(null, { ctrl: true, name: "e" });
    this.#rl.write(null, { ctrl: true, name: "u" });
  }

  /** Stop reading; restores the terminal's mode. */
  close(): void {
    if (this.terminal) process.stdin.off("keypress", this.#onKey);
    this.#rl.close();
  }
}
