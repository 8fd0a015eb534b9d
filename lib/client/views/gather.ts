/**
 * Gathered output, clush `-b` style: hosts that printed the same text are
 * shown once under a header naming them all. Client view layer; pure.
 * @module
 */

import { compactHosts } from "../hostlist.ts";
import { paint } from "./color.ts";

/** Hosts that printed one identical text, in the order they were given. */
export interface OutputGroup {
  hosts: string[];
  text: string;
  /** Said under the text: e.g. that it is only the start of a longer output. */
  note?: string;
}

/** One host's output to gather. */
export interface GatherInput {
  host: string;
  /** What is shown (for a long output, its start). */
  text: string;
  /** What decides identity when `text` is not the whole output (e.g. a digest); default `text`. */
  key?: string;
  /** See {@linkcode OutputGroup.note}. */
  note?: string;
}

/**
 * Group hosts by identical output (exact text, byte for byte, or equal keys).
 * The largest group comes first; ties go to the group whose first host came first.
 */
export function gatherOutputs(outputs: readonly GatherInput[]): OutputGroup[] {
  const groups = new Map<string, { group: OutputGroup; first: number }>();
  outputs.forEach(({ host, text, key, note }, i) => {
    // Keys and texts never meet: a text cannot pass for a digest or the reverse.
    const id = key === undefined ? `t${text}` : `k${key}`;
    const found = groups.get(id);
    if (found !== undefined) found.group.hosts.push(host);
    else {
      groups.set(id, {
        group: note === undefined ? { hosts: [host], text } : { hosts: [host], text, note },
        first: i,
      });
    }
  });
  return [...groups.values()]
    .sort((a, b) => b.group.hosts.length - a.group.hosts.length || a.first - b.first)
    .map((g) => g.group);
}

const RULE = "-".repeat(16);

/** The header line of one group: `---------------- web[1-3] (3) ----------------`. */
export function groupHeader(hosts: readonly string[], color: boolean): string {
  const label = `${compactHosts(hosts)} (${hosts.length})`;
  return `${paint(color, "dim", RULE)} ${paint(color, "bold", label)} ${paint(color, "dim", RULE)}`;
}

/**
 * Render groups as a header line followed by the text, one group after the
 * other. An empty output reads `(no output)`. The result ends without a newline.
 */
export function renderGathered(groups: readonly OutputGroup[], color: boolean): string {
  const blocks = groups.map((g) => {
    const body = g.text === "" ? paint(color, "dim", "(no output)") : g.text.replace(/\n$/, "");
    const note = g.note === undefined ? "" : `\n${paint(color, "yellow", g.note)}`;
    return `${groupHeader(g.hosts, color)}\n${body}${note}`;
  });
  return blocks.join("\n");
}
