/**
 * How the server's start-up lines name the client: the command the person
 * reading them will actually have. Server layer; pure.
 * @module
 */

/**
 * `rmon` where the server is a compiled binary (the client is then one too,
 * from the same build), `deno task client --` where it runs from a checkout
 * under `deno run` (the executable is `deno` itself, and that is how the
 * checkout runs the client).
 */
export function clientCommand(build: { standalone: boolean }, execPath: string): string {
  const name = execPath.split(/[\\/]/).pop()?.toLowerCase() ?? "";
  const underDeno = !build.standalone && /^deno(\.exe)?$/.test(name);
  return underDeno ? "deno task client --" : "rmon";
}
