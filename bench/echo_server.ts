/**
 * The floor of the network benchmarks: the least a Deno TCP server can do per
 * message. Listens on 127.0.0.1 (port 0), prints `echo listening on HOST:PORT`,
 * and writes every byte it reads straight back: no framing, no parsing, no
 * authentication. Runs until it is sent SIGTERM.
 *
 *   deno run --allow-net=127.0.0.1 bench/echo_server.ts
 * @module
 */
// deno-lint-ignore-file no-console

const READ_BYTES = 64 * 1024;

async function echo(conn: Deno.TcpConn): Promise<void> {
  // Same socket option as rmon's transport, so both pay the same per-write cost.
  conn.setNoDelay(true);
  const buf = new Uint8Array(READ_BYTES);
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  } catch (_err) {
    // A peer that vanished mid-write is the end of this connection, nothing more.
  } finally {
    try {
      conn.close();
    } catch (_err) {
      // Already closed.
    }
  }
}

if (import.meta.main) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
  console.log(`echo listening on 127.0.0.1:${listener.addr.port}`);
  for await (const conn of listener) echo(conn);
}
