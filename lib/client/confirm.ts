/**
 * The confirmation rule, one place for both modes: `kill`, `reset` and exec on
 * several hosts are risky, so they run only after a person said yes (console
 * on a terminal) or with `--yes`. One-shot mode and a console reading a script
 * have nobody to ask and refuse them with the same wording. Client layer.
 * @module
 */

import type { RemoteCommand } from "../grammar/command.ts";
import { compactHosts } from "./hostlist.ts";

/** Whether running `cmd` on `hostCount` hosts needs `--yes` (or a console confirmation). */
export function needsConfirmation(cmd: RemoteCommand, hostCount: number): boolean {
  return cmd.kind === "kill" || cmd.kind === "reset" || (cmd.kind === "exec" && hostCount > 1);
}

/** The text a confirmation quotes: what the person typed, minus the target. */
export function commandText(cmd: RemoteCommand): string {
  return cmd.kind === "exec" ? `${cmd.shell}: ${cmd.command}` : cmd.kind;
}

function hostCount(n: number): string {
  return n === 1 ? "1 host" : `${n} hosts`;
}

/** How a run is confirmed: `--yes`, or a person asked (null when nobody can be). */
export interface ConfirmWith {
  /** `--yes` was given: everything runs. */
  yes: boolean;
  /** Ask a question and return the answer (null: input ended); null when nobody is there. */
  ask: ((question: string) => Promise<string | null>) | null;
  /** Why nobody can be asked, and how to allow it: `stdin is not a terminal; …`. */
  noAsk: string;
}

/** The verdict: run, or not with the message to show (null: the person said no). */
export type Verdict = { run: true } | { run: false; refusal: string | null };

/**
 * Decide whether `cmd` may run on `names`: at once when it is not risky or
 * `--yes` was given; else ask, or refuse with `Cannot run "kill" on 3 hosts
 * without confirmation: REASON` when nobody can be asked.
 */
export async function confirmRun(
  cmd: RemoteCommand,
  names: readonly string[],
  how: ConfirmWith,
): Promise<Verdict> {
  if (!needsConfirmation(cmd, names.length) || how.yes) return { run: true };
  const what = `"${commandText(cmd)}" on ${hostCount(names.length)}`;
  if (how.ask === null) {
    return { run: false, refusal: `Cannot run ${what} without confirmation: ${how.noAsk}` };
  }
  const answer = await how.ask(`Run ${what} (${compactHosts(names)})? [y/N] `);
  if (answer !== null && /^\s*y(es)?\s*$/i.test(answer)) return { run: true };
  return { run: false, refusal: null };
}
