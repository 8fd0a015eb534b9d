/**
 * The server's lifecycle: the listener and its accept loop (where admission
 * limits and penalties are applied, before any TLS or handshake work), the
 * set of live sessions and the sweep over their deadlines, `reset` (listen
 * again on the same address at once, and close every session) and shutdown
 * (stop accepting, cancel every call, kill children, close sessions). However
 * many clients have stopped reading, reset and shutdown finish within the
 * close grace plus the kill grace.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { TIMEOUTS } from "../protocol/constants.ts";
import { deadline } from "../async.ts";
import {
  closeQuietly,
  type Endpoint,
  formatEndpoint,
  type Listener,
  type ListenFn,
} from "../protocol/transport.ts";
import { Admission, type AdmissionLimits } from "./admission.ts";
import { Session, type SessionHost, type SessionSettings } from "./session.ts";
import { Sweeper, sweepPeriod } from "./sweeper.ts";

/** Settings of a running server: the sessions' settings, plus where to listen and its limits. */
export interface RmonServerConfig extends SessionSettings {
  endpoint: Endpoint;
  /** Opens the listener: plain TCP or TLS (see lib/protocol/*_transport.ts). */
  listen: ListenFn;
  /** Connection limits and penalties (see admission.ts; `DEFAULT_ADMISSION` holds the defaults). */
  limits: AdmissionLimits;
}

/** How long to keep retrying to bind the same address after a reset. */
const REBIND_ATTEMPTS = 250;
const REBIND_DELAY_MS = 20;
/**
 * Longest wait for closing sessions: the close grace, the kill grace of
 * their processes, and slack. Past it, reset and shutdown go on regardless.
 */
const CLOSE_BOUND_MS = TIMEOUTS.closeGraceMs + TIMEOUTS.killGraceMs + 2_000;

type CloseReason = "reset" | "kill" | "shutdown" | "error";

/** A running rmon server; see the module doc. */
export class RmonServer {
  #config: RmonServerConfig;
  #host: SessionHost;
  #admission: Admission;
  #sweeper: Sweeper;
  #listener: Listener | null = null;
  /** Each live session and the promise of its end. */
  #sessions = new Map<Session, Promise<void>>();
  #stopping = false;
  #resetting = false;
  #doneResolve!: () => void;
  /** Resolves once the server has shut down completely. */
  readonly done: Promise<void> = new Promise((r) => this.#doneResolve = r);

  /** Create a server; nothing listens until `start()`. */
  constructor(config: RmonServerConfig) {
    this.#config = config;
    this.#admission = new Admission(config.limits);
    const deadlines = [config.writeTimeoutMs, config.idleTimeoutMs].filter((ms) => ms > 0);
    this.#sweeper = new Sweeper(sweepPeriod(Math.min(...deadlines)));
    this.#host = {
      ...config,
      lifecycle: (action) => {
        if (action === "kill") this.shutdown("kill");
        else this.reset();
      },
    };
  }

  /** Bind the listener and start accepting; resolves with the bound address. */
  async start(): Promise<Endpoint> {
    const listener = await this.#config.listen(this.#config.endpoint);
    // Keep the port a reset re-binds, even when port 0 was asked for.
    this.#config.endpoint = { hostname: this.#config.endpoint.hostname, port: listener.addr.port };
    this.#listener = listener;
    this.#acceptLoop(listener);
    return listener.addr;
  }

  /** The bound address. */
  get addr(): Endpoint | null {
    return this.#listener?.addr ?? null;
  }

  /** Live sessions (authenticated or still in the handshake). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  async #acceptLoop(listener: Listener): Promise<void> {
    const log = this.#config.log;
    while (true) {
      let transport;
      try {
        transport = await listener.accept();
      } catch (err) {
        if (listener !== this.#listener || this.#stopping) return; // closed on purpose
        log.warn(`accept failed: ${describeError(err)}`);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      // Decided before any TLS or handshake work, so a refusal costs next to nothing.
      const ticket = this.#admission.admit(transport.peerAddress);
      if ("refused" in ticket) {
        log.warnLimited("refused", `${transport.remote} refused: ${ticket.refused}`);
        transport.close();
        continue;
      }
      log.info(`${transport.remote} connected`);
      const session = new Session(transport, this.#host, ticket);
      this.#sweeper.add(session);
      const run = session.run().finally(() => {
        this.#sessions.delete(session);
        this.#sweeper.delete(session);
      });
      this.#sessions.set(session, run);
    }
  }

  /**
   * Listen again on the same address at once, and close every session. The
   * new listener is bound before the old sessions are awaited, so the address
   * is never left unbound for longer than the re-bind takes.
   */
  async reset(): Promise<void> {
    if (this.#stopping || this.#resetting) return;
    this.#resetting = true;
    const log = this.#config.log;
    log.info("reset: closing sessions and listening again");
    try {
      const old = this.#closeSessions("reset");
      this.#closeListener();
      if (!await this.#rebind()) await this.shutdown("error");
      else if (this.#listener) {
        log.info(`reset: listening again on ${formatEndpoint(this.#listener.addr)}`);
      }
      await old;
    } finally {
      this.#resetting = false;
    }
  }

  /** Bind the configured address again, retrying while the old socket still holds it. */
  async #rebind(): Promise<boolean> {
    for (let attempt = 1;; attempt++) {
      if (this.#stopping) return true; // a kill or signal came first: nothing to listen for
      try {
        await this.start();
        // A kill or signal during the bind: the new listener must not outlive the server.
        if (this.#stopping) this.#closeListener();
        return true;
      } catch (err) {
        if (!(err instanceof Deno.errors.AddrInUse) || attempt >= REBIND_ATTEMPTS) {
          this.#config.log.warn(`reset: cannot listen again: ${describeError(err)}; shutting down`);
          return false;
        }
        await new Promise((r) => setTimeout(r, REBIND_DELAY_MS));
      }
    }
  }

  /**
   * Close the sessions of operator keys that `stillValid` no longer accepts
   * (a key removed from the authorized keys file); returns how many.
   */
  revoke(stillValid: (publicKey: string) => boolean): number {
    let closed = 0;
    for (const s of this.#sessions.keys()) {
      const who = s.identity;
      if (who?.kind === "key" && who.publicKey !== undefined && !stillValid(who.publicKey)) {
        this.#config.log.warn(`${s.remote} ${who.user}: key revoked, closing`);
        s.close("revoked");
        closed++;
      }
    }
    return closed;
  }

  /** Stop: no new connections, every call cancelled and its processes killed, sessions closed. */
  async shutdown(reason: "kill" | "shutdown" | "error" = "shutdown"): Promise<void> {
    if (this.#stopping) return this.done;
    this.#stopping = true;
    this.#config.log.info(`shutting down (${reason})`);
    this.#closeListener();
    await this.#closeSessions(reason);
    this.#config.log.flush();
    this.#doneResolve();
  }

  #closeListener(): void {
    const listener = this.#listener;
    this.#listener = null;
    if (listener) closeQuietly(listener);
  }

  /**
   * Close the sessions live now (not ones accepted later) and wait for them,
   * at most `CLOSE_BOUND_MS`: sessions end only after their calls' processes
   * have been reaped, which the kill grace bounds.
   */
  async #closeSessions(reason: CloseReason): Promise<void> {
    const closing = [...this.#sessions];
    for (const [session] of closing) session.close(reason);
    const ended = Promise.allSettled(closing.map(([, run]) => run));
    if (await deadline(ended, CLOSE_BOUND_MS, () => "late" as const) === "late") {
      this.#config.log.warn(`${reason}: sessions still closing after ${CLOSE_BOUND_MS} ms`);
    }
  }
}
