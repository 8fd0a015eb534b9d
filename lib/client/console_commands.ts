/**
 * The console's commands: one handler per local command in a record keyed by
 * its kind (so a new command without a handler is a compile error), and the
 * one path every remote command takes — pick the hosts, set aside those
 * disconnected on purpose, confirm, fan out, show. Adding a console command is
 * its grammar spec plus one entry here. Client layer.
 * @module
 */

import { DEFAULT_MAX_RECORD_OUTPUT, GATHER_SAMPLE_BYTES } from "./oneshot_output.ts";
import type { LocalCommand, RemoteCommand, TargetExpr } from "../grammar/command.ts";
import { formatHelp } from "../grammar/help.ts";
import { compactHosts } from "./hostlist.ts";
import { addHosts } from "./setup.ts";
import { resolveTargets } from "./targets.ts";
import { renderCommandDiff } from "./console_diff.ts";
import type { ConsoleContext } from "./console_context.ts";
import { runWatch } from "./console_watch.ts";
import { FanoutView } from "./views/fanout.ts";
import { renderHostDetail, renderHosts, stateText } from "./views/hosts.ts";
import type { HostResult } from "./fleet.ts";
import { listPushFiles, pushFiles } from "./transfer_push.ts";
import { pullFiles } from "./transfer_pull.ts";
import { transferViewCommand } from "./views/transfer.ts";

/** The tag of a local command. */
export type LocalKind = LocalCommand["kind"];

/** The local command with tag `K`. */
export type LocalCommandOf<K extends LocalKind> = Extract<LocalCommand, { kind: K }>;

/** What a handler may ask of the console once it is done: to leave. */
export type HandlerOutcome = "leave" | void;

/** Runs one local command; `target` is the line's `@TARGET`, if any. */
export type LocalHandler<K extends LocalKind> = (
  ctx: ConsoleContext,
  cmd: LocalCommandOf<K>,
  target: TargetExpr | undefined,
) => HandlerOutcome | Promise<HandlerOutcome>;

/** A target expression for a list of names and globs (`+web*,db1`). */
export function namesTarget(names: readonly string[]): TargetExpr {
  return {
    items: names.map((value) => ({
      op: "add",
      kind: /[*?[]/.test(value) ? "glob" : "name",
      value,
    })),
    text: names.join(","),
  };
}

// ---- remote commands --------------------------------------------------------------

/**
 * The hosts a command is really sent to. `disconnect` of a host that is not
 * connected forgets it; any other command skips hosts disconnected on purpose
 * (they are not unreachable, and the summary must not say so).
 */
async function setAside(
  ctx: ConsoleContext,
  names: readonly string[],
  command: RemoteCommand,
): Promise<string[]> {
  const state = (name: string) => ctx.fleet.get(name)?.state;
  if (command.kind === "disconnect") {
    const idle = names.filter((n) => state(n) !== "up");
    if (idle.length > 0) {
      const link = idle.length === 1 ? ctx.fleet.get(idle[0]!) : undefined;
      const why = link
        ? `it was not connected: ${stateText(link.status(), false)}`
        : "they were not connected";
      await ctx.forget(idle, why);
    }
    return names.filter((n) => !idle.includes(n));
  }
  const closed = names.filter((n) => state(n) === "closed");
  if (closed.length > 0) {
    const them = closed.length === 1 ? "it" : "them";
    ctx.out(
      `Skipped ${compactHosts(closed)}: disconnected (connect ${them} again, or forget ${them})`,
    );
  }
  return names.filter((n) => !closed.includes(n));
}

/**
 * The preamble every remote command shares: the target's hosts (or the
 * selection), minus those set aside, confirmed when risky, and an exec given
 * the client's timeout. Null when nothing is to run (the reason was shown).
 */
export async function prepareRemote(
  ctx: ConsoleContext,
  target: TargetExpr | undefined,
  command: RemoteCommand,
  none: string,
): Promise<{ names: string[]; cmd: RemoteCommand } | null> {
  let names = ctx.targetNames(target);
  if (names.length === 0) {
    ctx.error(`${none}: connect some, or change the selection with use`);
    return null;
  }
  names = await setAside(ctx, names, command);
  if (names.length === 0) return null;
  if (!await ctx.confirmed(command, names)) return null;
  const cmd = command.kind === "exec" && command.timeoutMs === undefined
    ? { ...command, timeoutMs: ctx.opts.timeoutMs }
    : command;
  return { names, cmd };
}

/** Run a remote command: streamed output, then the table or gathered blocks and the summary. */
export async function runRemote(
  ctx: ConsoleContext,
  target: TargetExpr | undefined,
  command: RemoteCommand,
): Promise<void> {
  const ready = await prepareRemote(ctx, target, command, "No hosts selected");
  if (ready === null) return;
  const { names, cmd } = ready;
  const view = new FanoutView(ctx.sink(), cmd, names);
  const results = await ctx.fanOut(names, cmd, {
    collectOutput: true,
    // Output is shown as it streams; the gathered blocks need only a sample and a hash per
    // host, so the console's memory follows the hosts, not the size of their output.
    capture: { keepBytes: GATHER_SAMPLE_BYTES, hash: names.length > 1 },
    onOutput: (host, stream, data) => view.output(host, stream, data),
    onResult: (r) => view.result(r),
  });
  view.finish(results);
}

// ---- local commands ---------------------------------------------------------------

async function diff(
  ctx: ConsoleContext,
  command: LocalCommandOf<"diff">,
  target: TargetExpr | undefined,
): Promise<void> {
  const ready = await prepareRemote(ctx, target, command.command, "No hosts to compare");
  if (ready === null) return;
  const { names, cmd } = ready;
  let done = 0;
  const sink = ctx.sink();
  const progress = sink.progress && names.length > 1;
  const results = await ctx.fanOut(names, cmd, {
    collectOutput: true,
    // Compared line by line up to the record limit; past it, by the hash of the whole output.
    capture: { keepBytes: DEFAULT_MAX_RECORD_OUTPUT, hash: true },
    onResult: () => {
      if (progress) sink.status(`${++done}/${names.length} hosts answered`);
    },
  });
  if (progress) sink.status("");
  ctx.out(renderCommandDiff(cmd, results, ctx.env.color));
}

/** `push` and `pull`: the transfer on the target hosts, shown as a fan-out (Ctrl-C cancels). */
async function transfer(
  ctx: ConsoleContext,
  command: LocalCommandOf<"push" | "pull">,
  target: TargetExpr | undefined,
): Promise<void> {
  const direct = ctx.direct;
  if (direct === null) {
    // Chunk streams need a connection's ordered frames, which the bus does not carry (yet).
    ctx.error(`Cannot ${command.kind} over the bus (--nats): it needs direct connections`);
    return;
  }
  const shown = transferViewCommand(command);
  const ready = await prepareRemote(ctx, target, shown, "No hosts selected");
  if (ready === null) return;
  const { names } = ready;
  const files = command.kind === "push" ? await listPushFiles(command) : [];
  const view = new FanoutView(ctx.sink(), shown, names);
  const controller = new AbortController();
  ctx.running = controller;
  try {
    const opts = {
      signal: controller.signal,
      waitMs: ctx.opts.waitMs,
      onResult: (r: HostResult) => view.result(r),
    };
    const results = command.kind === "push"
      ? await pushFiles(direct, names, command, files, opts)
      : await pullFiles(direct, names, command.remote, command.localDir, opts);
    view.finish(results);
  } finally {
    ctx.running = null;
  }
}

async function connect(ctx: ConsoleContext, command: LocalCommandOf<"connect">): Promise<void> {
  const direct = ctx.direct;
  if (direct === null) return await busConnect(ctx, command);
  const fresh = new Set<string>();
  for (const address of command.addresses) {
    const spec = ctx.typed(address);
    // One entry per server: by name (an inventory host, an address typed before), else by
    // address and port (`localhost:7101` is `127.0.0.1:7101`); see server_key.ts.
    const known = direct.get(spec.name) ?? direct.findServer(spec);
    if (known && known.name !== spec.name) {
      ctx.out(`${spec.name} is already in the fleet as ${known.name}`);
    } else if (known?.state === "up") {
      ctx.out(`Already connected to ${spec.name}`);
    }
    if (known?.state === "up") continue;
    // A known host (reconnected) keeps its own token and groups; a new one uses the defaults.
    if (!known) await addHosts(direct, [spec], ctx.credentials);
    fresh.add(known?.name ?? spec.name);
  }
  await connected(ctx, fresh);
}

/** Connect the hosts `fresh` and add those that came up to a selection fixed by `use`. */
async function connected(ctx: ConsoleContext, fresh: ReadonlySet<string>): Promise<void> {
  if (fresh.size === 0) return;
  await ctx.connect([...fresh], true);
  const up = [...fresh].filter((n) => ctx.fleet.get(n)?.state === "up");
  // A selection fixed by `use` does not follow new connections; `connect` adds to it.
  if (up.length > 0 && !ctx.selection.followsConnected) {
    ctx.selection.add(namesTarget(up), ctx.hosts(), ctx.connected());
  }
}

/**
 * `connect` over the bus: there are no addresses to dial (agents dial out to
 * NATS themselves), so it takes names: a host disconnected or forgotten here,
 * or an agent present on the bus, is taken (back) into the fleet. Anything
 * else is one line saying so.
 */
async function busConnect(ctx: ConsoleContext, command: LocalCommandOf<"connect">): Promise<void> {
  const bus = ctx.bus!;
  const fresh = new Set<string>();
  for (const name of command.addresses) {
    const known = bus.get(name);
    if (known?.state === "up") {
      ctx.out(`Already connected to ${name}`);
    } else if (known || bus.adopt(name)) {
      fresh.add(name);
    } else {
      ctx.error(
        `Cannot connect to "${name}" over the bus: no agent of that name is present ` +
          "(agents dial out to NATS themselves; hosts lists them)",
      );
    }
  }
  await connected(ctx, fresh);
}

function showHosts(ctx: ConsoleContext, target: TargetExpr | undefined): void {
  const hosts = ctx.hosts();
  const shown = new Set(target ? resolveTargets(target, hosts) : hosts.map((h) => h.name));
  const selected = new Set(ctx.selection.names(hosts, ctx.connected()));
  const rows = ctx.fleet.links.filter((l) => shown.has(l.name)).map((l) => {
    const status = l.status();
    // A link's own `since` restarts at every retry; "lost since" means since it first went down.
    const down = status.state !== "up" && status.state !== "closed"
      ? ctx.notices.downSince(l.name)
      : undefined;
    return {
      ...status,
      since: down ?? status.since,
      groups: l.groups,
      selected: selected.has(l.name),
    };
  });
  // One host asked for by name: all of it, the whole error included.
  if (target && rows.length === 1) {
    ctx.out(renderHostDetail(rows[0]!, Date.now(), ctx.env.color, ctx.width()));
    return;
  }
  ctx.out(renderHosts(rows, Date.now(), ctx.env.color, ctx.width()));
  ctx.describeSelection();
}

async function watch(
  ctx: ConsoleContext,
  command: LocalCommandOf<"watch">,
  target: TargetExpr | undefined,
): Promise<void> {
  const controller = new AbortController();
  ctx.running = controller;
  try {
    await ctx.holdingNotices(() =>
      runWatch({
        fleet: ctx.fleet,
        names: () => ctx.targetNames(target),
        intervalSeconds: command.intervalSeconds,
        columns: command.columns,
        waitMs: ctx.opts.waitMs,
        signal: controller.signal,
        stopOn: ctx.reader.waitForInput(controller.signal),
        write: (text) => ctx.write("out", text),
        redraw: ctx.env.terminal,
        color: ctx.env.color,
        terminalColumns: () => ctx.env.columns(),
        terminalRows: () => ctx.env.rows(),
        hint: ctx.env.terminal ? "Press any key to stop" : "",
      })
    );
  } finally {
    ctx.running = null;
    controller.abort();
    ctx.reader.discardTyped();
  }
}

/**
 * Every local command's handler, by kind: one entry per command. A kind of
 * `LocalCommand` without an entry here does not compile.
 */
export const LOCAL_HANDLERS: { readonly [K in LocalKind]: LocalHandler<K> } = {
  exit: () => "leave",
  help: (ctx, cmd) => ctx.out(formatHelp(cmd.topic)),
  hosts: (ctx, cmd, target) => showHosts(ctx, cmd.target ?? target),
  connect: (ctx, cmd) => connect(ctx, cmd),
  forget: (ctx, cmd) => ctx.forget(resolveTargets(cmd.target, ctx.hosts())),
  use: (ctx, cmd) => {
    ctx.selection.use(cmd.target, ctx.hosts());
    ctx.describeSelection();
  },
  "select-add": (ctx, cmd) => {
    ctx.selection.add(namesTarget(cmd.names), ctx.hosts(), ctx.connected());
    ctx.describeSelection();
  },
  "select-remove": (ctx, cmd) => {
    ctx.selection.remove(namesTarget(cmd.names), ctx.hosts(), ctx.connected());
    ctx.describeSelection();
  },
  watch,
  diff,
  web: (ctx, cmd) => webCommand(ctx, cmd),
  push: transfer,
  pull: transfer,
};

/** Run a local command through its handler; "leave" when the console should end. */
export function runLocal<K extends LocalKind>(
  ctx: ConsoleContext,
  cmd: LocalCommandOf<K>,
  target: TargetExpr | undefined,
): HandlerOutcome | Promise<HandlerOutcome> {
  const handler = LOCAL_HANDLERS[cmd.kind as K] as LocalHandler<K>;
  return handler(ctx, cmd, target);
}

/** `web`'s module, by a computed specifier so the console's start never loads it (see client.ts). */
const WEB_MODULE = ["./web", "web_main.ts"].join("/");

/** `web`: serve the fleet on a page beside the prompt; again: a fresh address; `web stop`. */
async function webCommand(ctx: ConsoleContext, command: LocalCommandOf<"web">): Promise<void> {
  if (command.action === "stop") {
    if (ctx.web === null) ctx.out("No web page is being served");
    else {
      await ctx.web.close();
      ctx.web = null;
      ctx.out("Stopped serving the web page");
    }
    return;
  }
  if (ctx.web !== null) {
    ctx.out(`Serving at ${ctx.web.renew()} (a fresh one-time address; web stop stops it)`);
    return;
  }
  // Loaded only now, as `rmon web` loads it (see client.ts).
  const web = await import(WEB_MODULE) as typeof import("./web/web_main.ts");
  ctx.web = await web.startConsoleWeb(ctx.fleet, {
    listen: command.listen,
    readOnly: command.readOnly,
    timeoutMs: ctx.opts.timeoutMs,
    waitMs: ctx.opts.waitMs,
    log: (text) => ctx.notice(text),
  });
  const ro = command.readOnly ? " (read-only)" : "";
  ctx.out(`Serving the fleet${ro} at ${ctx.web.url} (its token works once; web stop stops it)`);
}
