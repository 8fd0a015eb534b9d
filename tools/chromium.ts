/**
 * Debian's headless chromium as the web tests and the web benchmark start it:
 * where it is, whether it is installed, and one launch with the flags that
 * keep it off the network (this machine's closed network refuses chromium's
 * background connections, many at a time) and on a fresh profile. Dev
 * tooling layer; never imported by the product.
 * @module
 */

import puppeteer, { type Browser } from "puppeteer-core";

/** Where `apt-get install chromium` puts it (`.ci/run` installs it when missing). */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether {@linkcode CHROMIUM} is installed. */
export function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Chromium headless with the profile folder `profile`, nothing fetched from the network. */
export async function launchChromium(profile: string): Promise<Browser> {
  return await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
  });
}
