/**
 * The server's lifecycle: the listener and its accept loop, the set of live
 * sessions, `reset` (close every session and re-open the listener on the same
 * address, keeping the process) and shutdown (stop accepting, cancel every
 * call, kill children, close sessions).
 * @module
 */

import { describeError } from "../errors.ts";
import {
  type Endpoint,
  formatEndpoint,
  type Listener,
  type ListenFn,
} from "../protocol/transport.ts";
import { Session, type SessionHost, type SessionSettings } from "./session.ts";

/** Settings of a running server: the sessions' settings, plus where to listen and how many. */
export interface RmonServerConfig extends SessionSettings {
  endpoint: Endpoint;
  /** Opens the listener: plain TCP or TLS (see lib/protocol/*_transport.ts). */
  listen: ListenFn;
  maxConnections: number;
}

/** How long to keep retrying to bind the same address after a reset. */
const REBIND_ATTEMPTS = 50;
const REBIND_DELAY_MS = 100;

/** A running rmon server; see the module doc. */
export class RmonServer {
  #config: RmonServerConfig;
  #host: SessionHost;
  #listener: Listener | null = null;
  #sessions = new Set<Session>();
  #running = new Set<Promise<void>>();
  #stopping = false;
  #doneResolve!: () => void;
  /** Resolves once the server has shut down completely. */
  readonly done: Promise<void> = new Promise((r) => this.#doneResolve = r);

  /** Create a server; nothing listens until `start()`. */
  constructor(config: RmonServerConfig) {
    this.#config = config;
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
      if (this.#sessions.size >= this.#config.maxConnections) {
        log.warn(`${transport.remote} refused: ${this.#config.maxConnections} connections already`);
        transport.close();
        continue;
      }
      log.info(`${transport.remote} connected`);
      const session = new Session(transport, this.#host);
      this.#sessions.add(session);
      const run = session.run().finally(() => this.#sessions.delete(session));
      this.#running.add(run);
      run.finally(() => this.#running.delete(run));
    }
  }

  /** Close every session and the listener, then listen again on the same address. */
  async reset(): Promise<void> {
    if (this.#stopping) return;
    const log = this.#config.log;
    log.info("reset: closing sessions and the listener");
    this.#closeListener();
    await this.#closeSessions("reset");
    for (let attempt = 1;; attempt++) {
      try {
        await this.start();
        log.info(`reset: listening again on ${formatEndpoint(this.#listener!.addr)}`);
        return;
      } catch (err) {
        if (!(err instanceof Deno.errors.AddrInUse) || attempt >= REBIND_ATTEMPTS) {
          log.warn(`reset: cannot listen again: ${describeError(err)}; shutting down`);
          await this.shutdown("error");
          return;
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
    for (const s of this.#sessions) {
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
    await this.#closeSessions(reason === "error" ? "error" : reason);
    this.#doneResolve();
  }

  #closeListener(): void {
    const listener = this.#listener;
    this.#listener = null;
    try {
      listener?.close();
    } catch (err) {
      if (!(err instanceof Deno.errors.BadResource)) throw err;
    }
  }

  async #closeSessions(reason: "reset" | "kill" | "shutdown" | "error"): Promise<void> {
    for (const s of this.#sessions) s.close(reason);
    // Sessions end only after their calls' processes have been reaped.
    await Promise.allSettled([...this.#running]);
  }
}
