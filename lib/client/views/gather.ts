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
}

/**
 * Group hosts by identical output (exact text, byte for byte). The largest
 * group comes first; ties go to the group whose first host came first.
 */
export function gatherOutputs(outputs: readonly { host: string; text: string }[]): OutputGroup[] {
  const groups = new Map<string, { group: OutputGroup; first: number }>();
  outputs.forEach(({ host, text }, i) => {
    const found = groups.get(text);
    if (found === undefined) groups.set(text, { group: { hosts: [host], text }, first: i });
    else found.group.hosts.push(host);
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
    return `${groupHeader(g.hosts, color)}\n${body}`;
  });
  return blocks.join("\n");
}
