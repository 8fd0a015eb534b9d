/**
 * Terminal colour and cursor control: whether to use colour, the few styles
 * the views paint with, and the line and cursor moves of progress lines and
 * redrawn tables. Client view layer; the only place that knows ANSI escape codes.
 * @module
 */

/** A style the views can paint text with. */
export type Style = "red" | "green" | "yellow" | "dim" | "bold";

// Each style closes with its own reset so styles nest without clearing each other.
const CODES: Readonly<Record<Style, readonly [number, number]>> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  bold: [1, 22],
  dim: [2, 22],
};

/**
 * Whether output to `stream` should be coloured: only to a terminal, and not
 * when `NO_COLOR` is set to a non-empty value (https://no-color.org). `noColor`
 * defaults to the `NO_COLOR` environment variable (null: not set); without
 * permission to read it, colour stays on for terminals.
 */
export function useColor(
  stream: { isTerminal(): boolean },
  noColor: string | null = readNoColor(),
): boolean {
  if (noColor !== null && noColor !== "") return false;
  return stream.isTerminal();
}

function readNoColor(): string | null {
  try {
    return Deno.env.get("NO_COLOR") ?? null;
  } catch (_err) {
    // Denied env access: the user did not ask us to read it, so it cannot have opted out.
    return null;
  }
}

/** Wrap `text` in the escape codes of `style` when `enabled`; otherwise return it unchanged. */
export function paint(enabled: boolean, style: Style, text: string): string {
  if (!enabled || text === "") return text;
  const [on, off] = CODES[style];
  return `\x1b[${on}m${text}\x1b[${off}m`;
}

/** Back to the start of the line and erase it, so a progress line can be rewritten. */
export function clearLine(): string {
  return "\r\x1b[2K";
}

/** Move the cursor to the start of the line `rows` rows up (nothing for 0). */
export function cursorUp(rows: number): string {
  return rows > 0 ? `\x1b[${rows}F` : "";
}

/** Erase from the cursor to the end of the screen. */
export function clearBelow(): string {
  return "\x1b[J";
}

/** Hide the cursor, e.g. while a table is redrawn in place. */
export function hideCursor(): string {
  return "\x1b[?25l";
}

/** Show the cursor again after {@linkcode hideCursor}. */
export function showCursor(): string {
  return "\x1b[?25h";
}

/** Remove ANSI escape sequences (SGR and other CSI), e.g. to measure visible width. */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex -- matching the escape character is the point
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
}
