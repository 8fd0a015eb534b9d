/**
 * Terminal safety for remote output: control characters that a terminal would
 * obey (set-title, cursor moves, OSC 52 clipboard writes, a bell) are shown
 * escaped as `\x1b`, as `cat -v` and `less` do. Client view layer; pure.
 * @module
 */

// C0 controls but tab and LF, DEL, and the C1 controls U+0080–U+009F (a lone
// U+009B is a CSI to many terminals); a CR is harmless only right before LF.
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/g;

/** Show each control character of `text` but tab, LF and CR-before-LF as `\xHH`. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
