/**
 * Node built-ins for the collectors, loaded on first use. Importing `node:fs`
 * at start-up alone costs about 8 MiB of resident memory in every server, most
 * of which may never be asked for `disk`; `node:os` about 1 MiB more.
 * @module
 */

let os: Promise<typeof import("node:os")> | undefined;
let fs: Promise<typeof import("node:fs")> | undefined;

/** `node:os`, imported once, when first needed. */
export function nodeOs(): Promise<typeof import("node:os")> {
  return os ??= import("node:os");
}

/** `node:fs`, imported once, when first needed. */
export function nodeFs(): Promise<typeof import("node:fs")> {
  return fs ??= import("node:fs");
}
