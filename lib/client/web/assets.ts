/**
 * The page's files, inside the program itself: the HTML, script and style
 * sheet beside this module and uPlot (the chart library, from npm, pinned in
 * deno.json) are imported as text, so they are part of the module graph that
 * `deno compile` embeds (the `compile:client` task also names `static/` with
 * `--include`, belt and braces: `deno info` lists these files with no size).
 * Nothing comes from a CDN and nothing is read from disk by path: the page
 * works offline.
 * Client web layer.
 * @module
 */

import indexHtml from "./static/index.html" with { type: "text" };
import appJs from "./static/app.js" with { type: "text" };
import styleCss from "./static/style.css" with { type: "text" };
import faviconSvg from "./static/favicon.svg" with { type: "text" };
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };

/** One file the page loads. */
export interface Asset {
  body: string;
  contentType: string;
}

/** Every file by its path on the web server. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["/", { body: indexHtml, contentType: "text/html; charset=utf-8" }],
  ["/app.js", { body: appJs, contentType: "text/javascript; charset=utf-8" }],
  ["/style.css", { body: styleCss, contentType: "text/css; charset=utf-8" }],
  ["/favicon.svg", { body: faviconSvg, contentType: "image/svg+xml" }],
  ["/uplot.js", { body: uplotJs, contentType: "text/javascript; charset=utf-8" }],
  ["/uplot.css", { body: uplotCss, contentType: "text/css; charset=utf-8" }],
]);
