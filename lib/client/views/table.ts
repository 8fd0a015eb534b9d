/**
 * Aligned text tables: the one layout every per-host view uses. Client view
 * layer; pure, returns text without a trailing newline.
 * @module
 */

import { paint, stripAnsi } from "./color.ts";

/** One column: its header and which side its cells hug (default left). */
export interface Column {
  title: string;
  align?: "left" | "right";
}

/** Options of {@linkcode renderTable}. */
export interface TableOptions {
  /** Paint the header bold (default false). */
  color?: boolean;
}

/** Whether a code point takes no column (combining marks, zero-width characters). */
function isZeroWidth(cp: number): boolean {
  return (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) || cp === 0x2060 || cp === 0xfeff;
}

/** Whether a code point takes two columns: East Asian wide/full-width and emoji, roughly. */
function isWide(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd);
}

/** How many terminal columns `text` takes: escapes count zero, wide characters two. */
export function visibleWidth(text: string): number {
  let width = 0;
  for (const ch of stripAnsi(text)) {
    const cp = ch.codePointAt(0) ?? 0;
    if (isZeroWidth(cp)) continue;
    width += isWide(cp) ? 2 : 1;
  }
  return width;
}

// Line breaks inside a cell would break the grid; tabs would misalign it.
function flatten(cell: string): string {
  return cell.replace(/\r?\n|\r|\t/g, " ");
}

const GAP = "  ";

/**
 * Render rows under a header, each column as wide as its widest cell by
 * visible width, two spaces apart, with no trailing spaces. A row shorter
 * than the columns lets its last cell span the rest: it is not measured, so a
 * long error message on a failed host's row does not widen the whole column.
 * Throws RangeError for a row longer than the columns.
 */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  opts: TableOptions = {},
): string {
  const cells = rows.map((row, i) => {
    if (row.length > columns.length) {
      throw new RangeError(
        `Cannot render table: row ${i + 1} has ${row.length} cells for ${columns.length} columns`,
      );
    }
    return row.map(flatten);
  });
  const widths = columns.map((c) => visibleWidth(c.title));
  for (const row of cells) {
    const spanning = row.length < columns.length ? row.length - 1 : -1;
    row.forEach((cell, i) => {
      if (i !== spanning) widths[i] = Math.max(widths[i] ?? 0, visibleWidth(cell));
    });
  }

  const line = (row: readonly string[], spanFrom: number) => {
    let out = "";
    row.forEach((cell, i) => {
      const pad = i === spanFrom ? 0 : Math.max(0, (widths[i] ?? 0) - visibleWidth(cell));
      const right = columns[i]?.align === "right" && i !== spanFrom;
      if (i > 0) out += GAP;
      out += right ? " ".repeat(pad) + cell : cell + " ".repeat(pad);
    });
    return out.trimEnd();
  };

  const header = line(columns.map((c) => c.title), -1);
  const lines = [opts.color === true ? paint(true, "bold", header) : header];
  for (const row of cells) {
    lines.push(line(row, row.length < columns.length ? row.length - 1 : -1));
  }
  return lines.join("\n");
}
