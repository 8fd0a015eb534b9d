/**
 * Aligned text tables: the one layout every per-host view uses. Client view
 * layer; pure, returns text without a trailing newline.
 * @module
 */

import { paint, stripAnsi } from "./color.ts";

/** One column: its header, which side its cells hug (default left), and how it may narrow. */
export interface Column {
  title: string;
  align?: "left" | "right";
  /**
   * How the column gives up width when the table is wider than `width`:
   * `wrap` (cells continue on more lines, at spaces when it can), `cut`
   * (cells end in `…`; the whole value must be shown elsewhere), or not at all
   * (default).
   */
  shrink?: "wrap" | "cut";
  /** The narrowest a shrinking column gets (default 8, never below its title). */
  min?: number;
}

/** Options of {@linkcode renderTable}. */
export interface TableOptions {
  /** Paint the header bold (default false). */
  color?: boolean;
  /**
   * The most columns a line may take (default: no limit). A wider table first
   * narrows its shrinking columns; when that is not enough it is shown as a
   * vertical list instead, one block per row (`TITLE  value` lines).
   */
  width?: number;
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

/** The narrowest a shrinking column may get. */
function minWidth(column: Column): number {
  return Math.max(visibleWidth(column.title), column.min ?? 8);
}

/** Cut `text` (escapes dropped) to at most `width` columns, ending in `…` when cut. */
export function cutText(text: string, width: number): string {
  if (visibleWidth(text) <= width) return text;
  let out = "";
  let used = 0;
  for (const ch of stripAnsi(text)) {
    const w = visibleWidth(ch);
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return out + "…";
}

/**
 * Break `text` into lines of at most `width` columns: at spaces where it can,
 * inside a word longer than a line where it must. Escape codes are dropped
 * from text that has to be broken (a colour cannot be split safely).
 */
export function wrapText(text: string, width: number): string[] {
  if (visibleWidth(text) <= width) return [text];
  const lines: string[] = [];
  let line = "";
  const push = () => {
    if (line !== "") lines.push(line);
    line = "";
  };
  for (const word of stripAnsi(text).split(" ").filter((w) => w !== "")) {
    const joined = line === "" ? word : `${line} ${word}`;
    if (visibleWidth(joined) <= width) {
      line = joined;
      continue;
    }
    push();
    let rest = word;
    while (visibleWidth(rest) > width) {
      let head = "";
      for (const ch of rest) {
        if (visibleWidth(head + ch) > width) break;
        head += ch;
      }
      // A character wider than the whole column still has to go somewhere.
      if (head === "") head = [...rest][0] ?? "";
      lines.push(head);
      rest = rest.slice(head.length);
    }
    line = rest;
  }
  push();
  return lines.length > 0 ? lines : [""];
}

/** A cell in `width` columns, as the lines it takes. */
function fitCell(cell: string, column: Column | undefined, width: number): string[] {
  if (visibleWidth(cell) <= width) return [cell];
  return column?.shrink === "cut" ? [cutText(cell, width)] : wrapText(cell, width);
}

/**
 * The table as a vertical list: each row's first cell on a line of its own,
 * then `TITLE  value` for each other cell (a short row's last cell alone),
 * values wrapped to `width`.
 */
function renderVertical(
  columns: readonly Column[],
  cells: readonly (readonly string[])[],
  width: number,
  color: boolean,
): string {
  const label = Math.max(...columns.slice(1).map((c) => visibleWidth(c.title)));
  const indent = "  ";
  const lines: string[] = [];
  for (const row of cells) {
    lines.push(row[0] ?? "");
    const spanFrom = row.length < columns.length ? row.length - 1 : -1;
    row.forEach((cell, i) => {
      if (i === 0) return;
      const title = i === spanFrom ? "" : (columns[i]?.title ?? "");
      const head = i === spanFrom ? indent : `${indent}${title.padEnd(label)}${GAP}`;
      const shown = color && title !== "" ? head.replace(title, paint(true, "dim", title)) : head;
      const room = Math.max(10, width - visibleWidth(head));
      wrapText(cell, room).forEach((part, n) => {
        lines.push(`${n === 0 ? shown : " ".repeat(visibleWidth(head))}${part}`.trimEnd());
      });
    });
  }
  return lines.join("\n");
}

/**
 * Each column's width: its widest cell (a short row's spanning last cell not
 * counted), narrowed to fit `limit` if given; null when it cannot fit.
 */
function columnWidths(
  columns: readonly Column[],
  cells: readonly (readonly string[])[],
  limit: number | undefined,
): number[] | null {
  const widths = columns.map((c) => visibleWidth(c.title));
  for (const row of cells) {
    const spanning = row.length < columns.length ? row.length - 1 : -1;
    row.forEach((cell, i) => {
      if (i !== spanning) widths[i] = Math.max(widths[i] ?? 0, visibleWidth(flatten(cell)));
    });
  }
  if (limit === undefined) return widths;
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP.length * (columns.length - 1);
  // Narrow the widest shrinking column, one column at a time, until the table fits.
  while (total() > limit) {
    let widest = -1;
    columns.forEach((c, i) => {
      if (c.shrink && widths[i]! > minWidth(c) && (widest < 0 || widths[i]! > widths[widest]!)) {
        widest = i;
      }
    });
    if (widest < 0) break;
    widths[widest]!--;
  }
  if (total() > limit && columns.length > 1) return null;
  // Wrapping at spaces can leave a narrowed column wider than its longest line: give it back.
  columns.forEach((c, i) => {
    if (c.shrink !== "wrap") return;
    let used = visibleWidth(c.title);
    for (const row of cells) {
      const cell = row.length < columns.length && i === row.length - 1 ? undefined : row[i];
      if (cell === undefined) continue;
      for (const line of wrapText(flatten(cell), widths[i]!)) {
        used = Math.max(used, visibleWidth(line));
      }
    }
    widths[i] = Math.min(widths[i]!, used);
  });
  return widths;
}

/** Whether {@linkcode renderTable} can show these rows as a table within `width` columns. */
export function fitsWidth(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  width: number,
): boolean {
  return columnWidths(columns, rows, width) !== null;
}

/**
 * Render rows under a header, each column as wide as its widest cell by
 * visible width, two spaces apart, with no trailing spaces. A row shorter
 * than the columns lets its last cell span the rest: it is not measured, so a
 * long error message on a failed host's row does not widen the whole column
 * (with a `width`, it wraps within what is left of the line). With a `width`
 * the table is fitted to it; see {@linkcode TableOptions.width}.
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
  const limit = opts.width;
  const widths = columnWidths(columns, cells, limit);
  if (widths === null) return renderVertical(columns, cells, limit!, opts.color === true);

  const lines = (row: readonly string[], spanFrom: number): string[] => {
    let offset = 0;
    const parts = row.map((cell, i) => {
      const start = offset;
      offset += (widths[i] ?? 0) + GAP.length;
      if (limit === undefined) return [cell];
      // A spanning cell has the rest of the line.
      const room = i === spanFrom ? Math.max(10, limit - start) : (widths[i] ?? 0);
      return fitCell(cell, i === spanFrom ? { title: "" } : columns[i], room);
    });
    const height = Math.max(1, ...parts.map((p) => p.length));
    const out: string[] = [];
    for (let n = 0; n < height; n++) {
      let line = "";
      parts.forEach((part, i) => {
        const cell = part[n] ?? "";
        const pad = i === spanFrom ? 0 : Math.max(0, (widths[i] ?? 0) - visibleWidth(cell));
        const right = columns[i]?.align === "right" && i !== spanFrom;
        if (i > 0) line += GAP;
        line += right ? " ".repeat(pad) + cell : cell + " ".repeat(pad);
      });
      out.push(line.trimEnd());
    }
    return out;
  };

  const head = lines(columns.map((c) => c.title), -1)[0] ?? "";
  const out = [opts.color === true ? paint(true, "bold", head) : head];
  for (const row of cells) {
    out.push(...lines(row, row.length < columns.length ? row.length - 1 : -1));
  }
  return out.join("\n");
}
