/**
 * Drift detection: which hosts disagree with the majority, and on which
 * fields (`os.release: 6.1.0 (web[1-9]) vs 5.10.0 (db1)`). Client view layer;
 * pure.
 * @module
 */

import { compactHosts } from "../hostlist.ts";
import { paint } from "./color.ts";
import { escapeControls } from "./escape_controls.ts";

/** Hosts sharing one value. */
export interface ValueGroup {
  hosts: string[];
  value: unknown;
}

/** The most common value and the groups that differ from it. */
export interface MajorityDiff {
  majority: ValueGroup;
  /** Largest first; ties in order of first appearance. */
  outliers: ValueGroup[];
}

/** One field on which hosts disagree; the first variant is the majority's. */
export interface FieldDiff {
  /** Dotted path (`os.release`, `mounts[0].fsType`); the root name alone for a scalar. */
  path: string;
  variants: { text: string; hosts: string[] }[];
}

/**
 * A canonical JSON text of `value`: object keys sorted, `undefined` members
 * dropped, so values that are deeply equal give equal text whatever their key
 * order. Non-finite numbers become `null` and bigints their digits, as JSON has
 * neither.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : "null";
  if (typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const members = Object.keys(obj).sort()
      .filter((k) => obj[k] !== undefined && typeof obj[k] !== "function")
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
    return `{${members.join(",")}}`;
  }
  return "null";
}

/**
 * Group hosts by deep-equal value and pick the largest group as the majority
 * (ties go to the group seen first). With no values the majority is empty.
 */
export function diffAgainstMajority(
  values: readonly { host: string; value: unknown }[],
): MajorityDiff {
  const groups = new Map<string, ValueGroup>();
  for (const { host, value } of values) {
    const key = canonicalJson(value);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { hosts: [host], value });
    else group.hosts.push(host);
  }
  // Array.prototype.sort is stable, so equal sizes keep first-appearance order.
  const sorted = [...groups.values()].sort((a, b) => b.hosts.length - a.hosts.length);
  const [majority = { hosts: [], value: undefined }, ...outliers] = sorted;
  return { majority, outliers };
}

/** How a leaf reads in a diff line: strings bare unless that would hide something. */
export function leafText(value: unknown): string {
  if (value === undefined) return "(missing)";
  if (typeof value !== "string") return canonicalJson(value);
  // Quote when the bare text would be invisible or ambiguous: empty, padded, multi-line, quoted,
  // or holding a control character a terminal would obey (JSON leaves DEL and C1 as they are).
  const plain = value !== "" && value.trim() === value && !/[\t\n\r"]/.test(value) &&
    escapeControls(value) === value;
  return plain ? value : escapeControls(JSON.stringify(value));
}

/**
 * Flatten a value into its leaves keyed by path: objects by `.key`, arrays by
 * `[i]`; empty objects and arrays are leaves themselves. `root` prefixes every
 * path (and is the whole path of a scalar).
 */
export function flattenValue(value: unknown, root = ""): Map<string, unknown> {
  const leaves = new Map<string, unknown>();
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v) && v.length > 0) {
      v.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else if (
      typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length > 0
    ) {
      for (const [k, item] of Object.entries(v)) {
        if (item !== undefined) walk(item, path === "" ? k : `${path}.${k}`);
      }
    } else {
      leaves.set(path, v);
    }
  };
  walk(value, root);
  return leaves;
}

/**
 * The fields on which outliers differ from the majority, in the majority's
 * field order (fields only outliers have come after). Outlier groups that
 * agree on a field are merged into one variant.
 */
export function differingFields(diff: MajorityDiff, root = ""): FieldDiff[] {
  const base = flattenValue(diff.majority.value, root);
  const others = diff.outliers.map((g) => ({
    hosts: g.hosts,
    leaves: flattenValue(g.value, root),
  }));
  const paths = new Set(base.keys());
  for (const o of others) for (const p of o.leaves.keys()) paths.add(p);

  const fields: FieldDiff[] = [];
  for (const path of paths) {
    const baseKey = base.has(path) ? canonicalJson(base.get(path)) : "(missing)";
    // Keyed by canonical form so that 1 and "1" stay distinct even though both print as 1.
    const variants = new Map<string, { text: string; hosts: string[] }>();
    for (const o of others) {
      const key = o.leaves.has(path) ? canonicalJson(o.leaves.get(path)) : "(missing)";
      if (key === baseKey) continue;
      const variant = variants.get(key);
      if (variant === undefined) {
        variants.set(key, { text: leafText(o.leaves.get(path)), hosts: [...o.hosts] });
      } else {
        variant.hosts.push(...o.hosts);
      }
    }
    if (variants.size === 0) continue;
    fields.push({
      path: path === "" ? "value" : path,
      variants: [
        { text: leafText(base.get(path)), hosts: [...diff.majority.hosts] },
        ...variants.values(),
      ],
    });
  }
  return fields;
}

/**
 * Render a diff: `All 10 hosts agree: web[1-9],db1` when nothing differs,
 * else one line per differing field, `os.release: 6.1.0 (web[1-9]) vs 5.10.0 (db1)`,
 * outliers in yellow when `color`. `root` names the top of every path.
 */
export function renderDiff(diff: MajorityDiff, color: boolean, root = ""): string {
  const total = diff.majority.hosts.length +
    diff.outliers.reduce((n, g) => n + g.hosts.length, 0);
  if (total === 0) return "No hosts to compare";
  if (diff.outliers.length === 0) {
    const subject = total === 1 ? "1 host" : `All ${total} hosts agree`;
    return `${subject}: ${compactHosts(diff.majority.hosts)}`;
  }
  return differingFields(diff, root).map((field) => {
    const parts = field.variants.map((v, i) => {
      const text = `${v.text} (${compactHosts(v.hosts)})`;
      return i === 0 ? text : paint(color, "yellow", text);
    });
    return `${field.path}: ${parts.join(" vs ")}`;
  }).join("\n");
}
