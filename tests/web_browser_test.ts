/**
 * `rmon web` in a real browser: Debian's chromium, headless, driven over the
 * DevTools protocol by `npm:puppeteer-core`, against three real rmon servers
 * on loopback and the real client process. It loads the page, sees the rows
 * with numbers and the charts drawn, filters, runs a command and sees each
 * host's output, confirms, cancels, checks the keyboard and read-only mode,
 * sees a host lost, and saves a screenshot (to $RMON_WEB_SCREENSHOT, else a
 * temporary file: test output, not committed).
 */

import nodeAssert from "node:assert/strict";
import type { Page } from "puppeteer-core";
import { haveChromium, launchChromium } from "../tools/chromium.ts";
import { addr, startServers, startWeb } from "./helpers.ts";

const CHROMIUM_MISSING = !haveChromium();

/** Text of the page's elements matching `selector`. */
function texts(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(selector, (els) => els.map((e) => e.textContent ?? ""));
}

/** The value of a JavaScript expression in the page (the tests are type-checked without the DOM). */
function js<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/** Empty the input `id`. */
function clear(page: Page, id: string): Promise<void> {
  return js(page, `void (document.getElementById(${JSON.stringify(id)}).value = "")`);
}

/** Wait until `fn` (run in the page) is truthy. */
async function until(page: Page, fn: string, timeout = 20_000): Promise<void> {
  await page.waitForFunction(fn, { timeout, polling: 100 });
}

Deno.test({
  name: "rmon web in chromium: live rows, charts, filter, commands, confirm, cancel, read-only" +
    (CHROMIUM_MISSING ? " (ignored: needs /usr/bin/chromium; .ci/run installs it)" : ""),
  ignore: CHROMIUM_MISSING,
  // puppeteer keeps a few handles of its own past close; the processes are ours to end.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const servers = await startServers(3);
    const profile = await Deno.makeTempDir({ prefix: "rmon-chromium-" });
    const browser = await launchChromium(profile);
    try {
      await using web = await startWeb(servers, ["--refresh", "0.5"]);
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(String(err)));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await page.setViewport({ width: 1280, height: 720 });
      await page.goto(web.url, { waitUntil: "load" });

      await t.step("the token is exchanged and leaves the address bar", () => {
        nodeAssert.equal(page.url(), `${web.origin}/`);
      });

      await t.step("three rows with live numbers", async () => {
        await until(
          page,
          `[...document.querySelectorAll("#rows tr")].length === 3 &&
           [...document.querySelectorAll('#rows td[data-key="cpu"]')]
             .every((td) => /^\\d+\\.\\d$/.test(td.textContent))`,
        );
        const hosts = await texts(page, "#rows td.host");
        nodeAssert.deepEqual(hosts.sort(), servers.map(addr).sort());
        const states = await texts(page, '#rows td[data-key="state"]');
        nodeAssert.deepEqual(states, ["up", "up", "up"]);
        const ram = await texts(page, '#rows td[data-key="ram"]');
        for (const r of ram) nodeAssert.match(r, /^\d+\.\d$/);
      });

      await t.step("the small charts are drawn", async () => {
        // A line needs two points: wait for a few rounds.
        await until(page, `Number(document.body.dataset.rounds ?? 0) >= 3`);
        await until(page, `document.querySelectorAll("#rows td.chart canvas").length === 6`);
        const inked = await js<number[]>(
          page,
          `[...document.querySelectorAll("#rows td.chart canvas")].map((cv) => {
            const data = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
            let n = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
            return n;
          })`,
        );
        for (const n of inked) nodeAssert.ok(n > 0, `a blank chart: ${inked.join(",")}`);
      });

      await t.step("sorting by a column header, with the keyboard", async () => {
        await page.focus('th[data-key="host"]');
        await page.keyboard.press("Enter");
        const sorted = await page.$eval(
          'th[data-key="host"]',
          (th) => th.getAttribute("aria-sort"),
        );
        nodeAssert.equal(sorted, "descending");
        const hosts = await texts(page, "#rows td.host");
        nodeAssert.deepEqual(hosts, [...hosts].sort().reverse());
      });

      const one = addr(servers[1]!);
      await t.step("`/` focuses the filter, which takes the console's target syntax", async () => {
        await page.click("h1");
        await page.keyboard.press("/");
        const focused = await js<string>(page, "document.activeElement?.id");
        nodeAssert.equal(focused, "filter");
        await page.keyboard.type(one);
        await until(page, `document.querySelectorAll("#rows tr:not(.hidden)").length === 1`);
        nodeAssert.deepEqual(await texts(page, "#rows tr:not(.hidden) td.host"), [one]);
        // An exclusion, as `use` takes it.
        await clear(page, "filter");
        await page.type("#filter", `*,-${one}`);
        await until(page, `document.querySelectorAll("#rows tr:not(.hidden)").length === 2`);
        await clear(page, "filter");
        await page.type("#filter", " ");
        await page.keyboard.press("Backspace");
        await until(page, `document.querySelectorAll("#rows tr:not(.hidden)").length === 3`);
      });

      await t.step("opening a host: the large chart and its info", async () => {
        await page.click(`#rows tr[data-host="${one}"] td.host button`);
        await until(page, `!document.getElementById("detail").hidden`);
        await until(page, `document.querySelector("#detail-chart canvas") !== null`);
        const info = await page.$eval("#detail-info", (e) => e.textContent ?? "");
        nodeAssert.match(info, /addresses/);
        nodeAssert.match(info, /disks/);
        nodeAssert.match(info, /os {7}\S/);
        await page.keyboard.press("Escape");
        await until(page, `document.getElementById("detail").hidden`);
      });

      await t.step("sh: echo hi runs on every host after the confirm dialog", async () => {
        await page.click("#line");
        await page.keyboard.type("sh: echo hi");
        await page.keyboard.press("Enter");
        await until(page, `document.getElementById("confirm").open`);
        const question = await page.$eval("#confirm-text", (e) => e.textContent ?? "");
        nodeAssert.match(question, /^Run "sh: echo hi" on 3 hosts/);
        await page.click("#confirm-yes");
        await until(page, `!document.getElementById("gathered").hidden`);
        const panes = await texts(page, "#panes .pane pre");
        nodeAssert.deepEqual(panes, ["hi\n", "hi\n", "hi\n"]);
        const statuses = await js<string[]>(
          page,
          `[...document.querySelectorAll(".pane")].map((p) => p.dataset.status)`,
        );
        nodeAssert.deepEqual(statuses, ["ok", "ok", "ok"]);
        const gathered = await page.$eval("#gathered", (e) => e.textContent ?? "");
        nodeAssert.match(gathered, /\(3\)/);
        nodeAssert.match(gathered, /^hi$/m);
      });

      await t.step("kill asks first; saying no runs nothing", async () => {
        await clear(page, "line");
        await page.type("#line", `@${one} kill`);
        await page.keyboard.press("Enter");
        await until(page, `document.getElementById("confirm").open`);
        nodeAssert.match(await page.$eval("#confirm-text", (e) => e.textContent ?? ""), /"kill"/);
        await page.click("#confirm-no");
        await until(page, `document.getElementById("command-error").textContent === "Not run"`);
        const states = await texts(page, '#rows td[data-key="state"]');
        nodeAssert.deepEqual(states, ["up", "up", "up"]);
      });

      await t.step("Cancel ends sh: sleep 30 on every host as cancelled", async () => {
        await clear(page, "line");
        await page.type("#line", "sh: sleep 30");
        await page.keyboard.press("Enter");
        await until(page, `document.getElementById("confirm").open`);
        await page.click("#confirm-yes");
        await until(page, `!document.getElementById("cancel").disabled`);
        await page.click("#cancel");
        await until(page, `document.getElementById("gathered").dataset.cancelled === "true"`);
        const statuses = await js<string[]>(
          page,
          `[...document.querySelectorAll(".pane")].map((p) => p.dataset.status)`,
        );
        nodeAssert.deepEqual(statuses, ["cancelled", "cancelled", "cancelled"]);
      });

      await t.step("a phone-width screen keeps the table usable", async () => {
        await page.setViewport({ width: 390, height: 800 });
        const hidden = await js<string>(
          page,
          `getComputedStyle(document.querySelector('th[data-key="os"]')).display`,
        );
        nodeAssert.equal(hidden, "none");
        const cpu = await js<string>(
          page,
          `getComputedStyle(document.querySelector('th[data-key="cpu"]')).display`,
        );
        nodeAssert.notEqual(cpu, "none");
        await page.setViewport({ width: 1280, height: 720 });
      });

      await t.step("the system's dark preference gives a dark page", async () => {
        const background = () =>
          js<string>(page, `getComputedStyle(document.body).backgroundColor`);
        nodeAssert.equal(await background(), "rgb(255, 255, 255)");
        await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
        nodeAssert.equal(await background(), "rgb(20, 24, 28)");
        await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
      });

      await t.step("a screenshot", async () => {
        const path = Deno.env.get("RMON_WEB_SCREENSHOT") ??
          `${await Deno.makeTempDir({ prefix: "rmon-web-shot-" })}/web.png`;
        await clear(page, "line");
        await page.type("#line", "sh: uname -sr");
        await page.keyboard.press("Enter");
        await until(page, `document.getElementById("confirm").open`);
        await page.click("#confirm-yes");
        await until(
          page,
          `!document.getElementById("gathered").hidden &&
          document.getElementById("gathered").textContent.includes("Linux")`,
        );
        await page.screenshot({ path: path as `${string}.png` });
        nodeAssert.ok(Deno.statSync(path).size > 10_000);
      });

      await t.step("a host that goes away is announced", async () => {
        await servers[2]![Symbol.asyncDispose]();
        await until(page, `document.querySelector("#notices li.lost") !== null`);
        const lost = await texts(page, "#notices li.lost");
        nodeAssert.match(lost[0]!, new RegExp(`${addr(servers[2]!).replaceAll(".", "\\.")} lost`));
      });

      nodeAssert.deepEqual(errors, [], "no errors in the page (CSP violations included)");
      await page.close();

      await t.step("--web-read-only hides exec, kill and reset, and refuses them", async () => {
        await using ro = await startWeb(servers.slice(0, 1), ["--web-read-only"]);
        const p = await browser.newPage();
        try {
          await p.goto(ro.url, { waitUntil: "load" });
          await until(p, `document.body.dataset.ready === "true"`);
          const note = await js<boolean>(p, `document.getElementById("readonly-note").hidden`);
          nodeAssert.equal(note, false);
          const hint = await js<string>(p, `document.getElementById("line").placeholder`);
          nodeAssert.doesNotMatch(hint, /sh:/);
          await p.type("#line", "sh: echo hi");
          await p.keyboard.press("Enter");
          await until(p, `/read-only/.test(document.getElementById("command-error").textContent)`);
          nodeAssert.equal(await p.$eval("#panes", (e) => e.children.length), 0);
        } finally {
          await p.close();
        }
      });
    } finally {
      await browser.close();
      await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
      await Deno.remove(profile, { recursive: true });
    }
  },
});
