/**
 * Which NATS server URLs and credentials files rmon takes, for both entry points and the
 * inventory: `nats://HOST:PORT` or `tls://HOST:PORT`, and never credentials
 * in the URL (they would show in `ps`, in logs and in the agent's banner: use
 * a creds or token file). Protocol layer; pure.
 * @module
 */

/** Why `url` is not a NATS URL rmon takes, or null when it is. */
export function natsUrlProblem(url: string): string | null {
  if (/^(nats|tls):\/\/[^\s/]*@/.test(url)) {
    return `"${
      url.replace(/\/\/[^@]*@/, "//…@")
    }" holds credentials: use --nats-creds or --nats-token-file`;
  }
  if (!/^(nats|tls):\/\/[^\s/@]+$/.test(url)) {
    return `"${url}" is not a nats://HOST:PORT or tls://HOST:PORT URL`;
  }
  return null;
}

/**
 * What a `--nats-creds` file holds: a NATS `.creds` file (user JWT and nkey
 * seed, as `nsc` writes it), or a bare user nkey seed (`SU…`, for servers
 * that list nkey users). Throws `SyntaxError` for anything else.
 */
export function natsCredsKind(text: string): { kind: "jwt" } | { kind: "seed"; seed: string } {
  if (text.includes("-----BEGIN NATS USER JWT-----")) return { kind: "jwt" };
  const seed = /\bSU[A-Z2-7]{56}\b/.exec(text)?.[0];
  if (seed !== undefined) return { kind: "seed", seed };
  throw new SyntaxError(
    "neither a NATS .creds file (user JWT and seed) nor a user nkey seed (SU…)",
  );
}
