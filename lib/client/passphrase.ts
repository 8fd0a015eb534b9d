/**
 * Asking for a key's passphrase: on a terminal, a prompt on stderr with the
 * typed characters hidden; otherwise the `RMON_KEY_PASSPHRASE` environment
 * variable (for scripts and tests), else none. Client layer.
 * @module
 */

/** The environment variable read when there is no terminal to ask on. */
export const PASSPHRASE_ENV = "RMON_KEY_PASSPHRASE";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Read one line from the terminal without echoing it; null at end of input or Ctrl-C. */
async function readHidden(prompt: string): Promise<string | null> {
  Deno.stderr.writeSync(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buf = new Uint8Array(64);
  try {
    while (true) {
      const n = await Deno.stdin.read(buf);
      if (n === null) return null;
      for (const b of buf.subarray(0, n)) {
        if (b === 0x0d || b === 0x0a) return decoder.decode(new Uint8Array(bytes));
        if (b === 0x03 || b === 0x04) return null; // Ctrl-C, Ctrl-D
        if (b === 0x7f || b === 0x08) bytes.pop();
        else bytes.push(b);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
}

/** Ask for a passphrase with `prompt`: the terminal if there is one, else the environment. */
export async function askPassphrase(prompt: string): Promise<string | null> {
  const fromEnv = Deno.env.get(PASSPHRASE_ENV);
  if (fromEnv !== undefined) return fromEnv;
  if (!Deno.stdin.isTerminal()) return null;
  return await readHidden(prompt);
}
