// rmon web: the page's script. Served by `rmon web` from inside the binary (see ../assets.ts);
// talks to it over one WebSocket (message types in ../web_messages.ts). Plain JavaScript, no
// build step; uPlot (window.uPlot) is the chart library, loaded before this module runs.

const $ = (id) => document.getElementById(id);

/** The columns whose values get threshold colours, as the console's `watch` paints them. */
const USAGE = new Set(["cpu", "ram", "swap", "disk"]);
/** The table's columns after the host, in order. */
const COLUMNS = ["groups", "state", "cpu", "load", "ram", "swap", "disk", "uptimeSeconds", "os"];
const WIDE = new Set(["groups", "load", "swap", "uptimeSeconds", "os"]);

const state = {
  socket: null,
  readOnly: false,
  intervalMs: 2000,
  capacity: 1800,
  /** The small charts' span (s) and their most points. */
  historySec: 3600,
  sparkPoints: 240,
  /** host → { row, tr, cells, series: {t, cpu, ram}, charts: {cpu, ram} | null, visible } */
  hosts: new Map(),
  /** The hosts the table shows, sorted; and the ones in the DOM now. */
  view: [],
  rendered: [],
  rowHeight: 37,
  rowHeightKnown: false,
  /** The scroll box's geometry (see measureBox). */
  box: null,
  sortKey: "host",
  sortDir: 1,
  /** Hosts the filter names, or null for all. */
  shown: null,
  filterText: "",
  running: null,
  detailHost: null,
  detailChart: null,
  nextId: 1,
  retryMs: 500,
};

// ---- formatting ---------------------------------------------------------------------------

function fmtPercent(v) {
  return v === null || v === undefined ? "-" : `${v.toFixed(1)}`;
}

function fmtUptime(s) {
  if (s === null || s === undefined) return "-";
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m`;
}

function fmtAgo(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function stateText(row) {
  switch (row.state) {
    case "up":
      return row.error ? `up (${row.error})` : "up";
    case "lost":
      return `lost since ${fmtAgo(row.since)} ago${row.reason ? ` (${row.reason})` : ""}`;
    case "connecting":
      // A reason means an attempt already failed: it is trying again.
      return row.reason ? `reconnecting (${row.reason})` : "connecting";
    case "auth_failed":
      return `auth failed${row.reason ? ` (${row.reason})` : ""}`;
    default:
      return row.reason ? `${row.state} (${row.reason})` : row.state;
  }
}

function cellText(key, row) {
  switch (key) {
    case "groups":
      return row.groups.length ? row.groups.join(",") : "-";
    case "state":
      return stateText(row);
    case "cpu":
    case "ram":
    case "swap":
    case "disk":
      return fmtPercent(row[key]);
    case "load":
      return row.load === null ? "-" : row.load.toFixed(2);
    case "uptimeSeconds":
      return fmtUptime(row.uptimeSeconds);
    case "os":
      // Long distribution names would push the charts off a laptop's screen; the cell's
      // title has the whole name.
      return row.os === null ? "-" : row.os.length > 26 ? `${row.os.slice(0, 25)}…` : row.os;
  }
  return "";
}

function usageClass(v) {
  if (v === null || v === undefined) return "missing";
  return v >= 90 ? "crit" : v >= 75 ? "warn" : "";
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// ---- history ------------------------------------------------------------------------------

function pushSample(series, t, cpu, ram) {
  series.t.push(t);
  series.cpu.push(cpu);
  series.ram.push(ram);
  // Trim in chunks: the ring stays bounded without a shift per sample.
  if (series.t.length > state.capacity + 64) {
    const cut = series.t.length - state.capacity;
    series.t.splice(0, cut);
    series.cpu.splice(0, cut);
    series.ram.splice(0, cut);
  }
}

/**
 * A small chart's history: every sample, but at most twice `sparkPoints` of them over the
 * span (when full, every other point goes: the resolution halves, the hour stays), so a
 * thousand hosts cost a small, bounded heap however long the page stays open. The large
 * chart keeps every sample of its one host.
 */
function pushSpark(series, t, cpu, ram) {
  series.t.push(t);
  series.cpu.push(cpu);
  series.ram.push(ram);
  let cut = 0;
  while (cut < series.t.length && series.t[cut] < t - state.historySec) cut++;
  if (cut > 0) {
    series.t.splice(0, cut);
    series.cpu.splice(0, cut);
    series.ram.splice(0, cut);
  }
  if (series.t.length > 2 * state.sparkPoints) {
    // Keep the newest point and every other one before it.
    const keep = (_, i, all) => (all.length - 1 - i) % 2 === 0;
    series.t = series.t.filter(keep);
    series.cpu = series.cpu.filter(keep);
    series.ram = series.ram.filter(keep);
  }
}

// ---- charts -------------------------------------------------------------------------------

function sparkOptions(width, colour) {
  return {
    width,
    height: 30,
    pxAlign: false,
    cursor: { show: false },
    select: { show: false },
    legend: { show: false },
    scales: { x: { time: true }, y: { range: [0, 100] } },
    axes: [{ show: false }, { show: false }],
    series: [{}, { stroke: colour, fill: `${colour}33`, width: 1, points: { show: false } }],
  };
}

function makeSparks(entry) {
  const [cpuCell, ramCell] = entry.chartCells;
  const width = Math.max(60, cpuCell.clientWidth - 8 || 110);
  const s = entry.series;
  entry.charts = {
    cpu: new globalThis.uPlot(sparkOptions(width, cssVar("--cpu")), [s.t, s.cpu], cpuCell),
    ram: new globalThis.uPlot(sparkOptions(width, cssVar("--ram")), [s.t, s.ram], ramCell),
  };
  entry.chartsStale = false;
  entry.drawnAt = performance.now();
}

function updateSparks(entry) {
  if (!entry.charts) return;
  const s = entry.series;
  entry.charts.cpu.setData([s.t, s.cpu]);
  entry.charts.ram.setData([s.t, s.ram]);
  entry.chartsStale = false;
  entry.drawnAt = performance.now();
}

function dropSparks(entry) {
  if (!entry.charts) return;
  entry.charts.cpu.destroy();
  entry.charts.ram.destroy();
  entry.charts = null;
}

// ---- the table ----------------------------------------------------------------------------
//
// Virtual: whatever the fleet's size, only the rows in (and just around) the scrolled window
// are in the DOM, each with its two small charts; the others are data. Spacers above and below
// keep the scroll bar true. So an update costs the same for a thousand hosts as for thirty.

/** Rows drawn beyond the window on each side, so a short scroll shows no gap. */
const OVERSCAN = 4;

/**
 * The scroll box's geometry, read only on scroll, resize and the first draw: reading it
 * after the DOM changed would force a layout in the middle of every update.
 */
function measureBox() {
  const box = $("fleet");
  state.box = {
    scrollTop: box.scrollTop,
    height: box.clientHeight,
    head: box.querySelector("thead").offsetHeight,
  };
}

function makeRow(entry) {
  const row = entry.row;
  const tr = document.createElement("tr");
  const host = document.createElement("td");
  host.className = "host";
  const open = document.createElement("button");
  open.type = "button";
  open.textContent = row.host;
  open.title = `${row.host} (${row.address}): open`;
  open.addEventListener("click", () => openDetail(row.host));
  host.append(open);
  tr.append(host);
  const cells = {};
  for (const key of COLUMNS) {
    const td = document.createElement("td");
    if (USAGE.has(key) || key === "load" || key === "uptimeSeconds") td.classList.add("num");
    if (WIDE.has(key)) td.classList.add("wide");
    td.dataset.key = key;
    tr.append(td);
    cells[key] = td;
  }
  const chartCells = [document.createElement("td"), document.createElement("td")];
  for (const td of chartCells) {
    td.className = "chart";
    tr.append(td);
  }
  tr.dataset.host = row.host;
  entry.tr = tr;
  entry.cells = cells;
  entry.chartCells = chartCells;
  entry.shown = {};
}

function addHost(row) {
  const entry = {
    row,
    tr: null,
    cells: null,
    chartCells: null,
    series: { t: [], cpu: [], ram: [] },
    charts: null,
    chartsStale: false,
    drawnAt: 0,
    shown: {},
  };
  state.hosts.set(row.host, entry);
  return entry;
}

function paintRow(entry) {
  const row = entry.row;
  for (const key of COLUMNS) {
    const text = cellText(key, row);
    const cls = USAGE.has(key) ? usageClass(row[key]) : key === "state" ? `state-${row.state}` : "";
    // Only what changed touches the DOM.
    const was = entry.shown[key];
    if (was && was.text === text && was.cls === cls) continue;
    const td = entry.cells[key];
    td.textContent = text;
    if (key === "os") td.title = row.os ?? "";
    if (!was || was.cls !== cls) {
      if (was?.cls) td.classList.remove(was.cls);
      if (cls) td.classList.add(cls);
    }
    entry.shown[key] = { text, cls };
  }
}

/** Names compare as people expect (`web2` before `web10`); one collator, made once, is fast. */
const collator = new Intl.Collator(undefined, { numeric: true });

function compare(a, b) {
  const key = state.sortKey;
  let x = key === "host" ? a.row.host : a.row[key];
  let y = key === "host" ? b.row.host : b.row[key];
  if (key === "groups") {
    x = a.row.groups.join(",");
    y = b.row.groups.join(",");
  }
  if (x === null || x === undefined) return 1;
  if (y === null || y === undefined) return -1;
  const c = typeof x === "number" ? x - y : collator.compare(String(x), String(y));
  return c * state.sortDir || collator.compare(a.row.host, b.row.host);
}

/** Sort and filter the hosts into the list the table shows (data only). */
function arrange() {
  const view = [];
  for (const e of state.hosts.values()) {
    if (state.shown === null || state.shown.has(e.row.host)) view.push(e);
  }
  view.sort(compare);
  state.view = view;
  let up = 0;
  for (const e of state.hosts.values()) if (e.row.state === "up") up++;
  $("count").textContent = `${view.length} of ${state.hosts.size} hosts shown · ${up} up`;
  document.body.dataset.hosts = String(state.hosts.size);
}

/** Put the rows of the scrolled window in the DOM, painted, charts drawn. */
function renderWindow() {
  if (state.box === null) measureBox();
  const { scrollTop, height, head } = state.box;
  const view = state.view;
  const rowH = state.rowHeight;
  const first = Math.max(0, Math.floor((scrollTop - head) / rowH) - OVERSCAN);
  const count = Math.ceil(height / rowH) + 2 * OVERSCAN;
  const last = Math.min(view.length, first + count);
  const wanted = view.slice(first, last);
  const keep = new Set(wanted);
  for (const e of state.rendered) {
    if (!keep.has(e)) {
      dropSparks(e);
      e.tr?.remove();
    }
  }
  for (const e of wanted) {
    if (!e.tr) makeRow(e);
    paintRow(e);
  }
  const body = $("rows");
  // Reorder only when the window's order changed: appending moves nodes, costing layout.
  const current = [...body.children];
  if (current.length !== wanted.length || current.some((tr, i) => tr !== wanted[i].tr)) {
    body.replaceChildren(...wanted.map((e) => e.tr));
  }
  $("pad-top").style.height = `${first * rowH}px`;
  $("pad-bottom").style.height = `${(view.length - last) * rowH}px`;
  state.rendered = wanted;
  if (globalThis.uPlot) {
    // New rows get their charts at once; charts already drawn are redrawn a few per round,
    // the longest-waiting first, so no round pays for them all (the table has the numbers).
    const stale = [];
    for (const e of wanted) {
      if (!e.charts) makeSparks(e);
      else if (e.chartsStale) stale.push(e);
    }
    stale.sort((a, b) => a.drawnAt - b.drawnAt);
    const budget = Math.max(4, Math.ceil(wanted.length / 6));
    for (const e of stale.slice(0, budget)) updateSparks(e);
  }
  // Learn the real row height once, from the first row drawn (fonts differ between systems).
  if (!state.rowHeightKnown && wanted.length > 0) {
    state.rowHeightKnown = true;
    requestAnimationFrame(() => {
      const sample = wanted[0].tr.offsetHeight;
      if (sample > 0 && Math.abs(sample - state.rowHeight) > 0.5) {
        state.rowHeight = sample;
        renderWindow();
      }
    });
  }
}

function renderTable() {
  arrange();
  renderWindow();
}

function applyRows(rows) {
  const seen = new Set();
  for (const row of rows) {
    seen.add(row.host);
    const entry = state.hosts.get(row.host) ?? addHost(row);
    entry.row = row;
  }
  for (const [host, entry] of state.hosts) {
    if (!seen.has(host)) {
      dropSparks(entry);
      entry.tr?.remove();
      state.hosts.delete(host);
    }
  }
}

function setSort(key) {
  if (state.sortKey === key) state.sortDir = -state.sortDir;
  else {
    state.sortKey = key;
    state.sortDir = key === "host" || key === "groups" || key === "state" || key === "os" ? 1 : -1;
  }
  for (const th of document.querySelectorAll("th[data-key]")) {
    th.setAttribute(
      "aria-sort",
      th.dataset.key === key ? (state.sortDir > 0 ? "ascending" : "descending") : "none",
    );
  }
  renderTable();
}

// ---- the host view ------------------------------------------------------------------------

function openDetail(host) {
  state.detailHost = host;
  send({ type: "detail", host });
}

function closeDetail() {
  state.detailHost = null;
  state.detailChart?.destroy();
  state.detailChart = null;
  $("detail").hidden = true;
}

function describeInfo(info, status) {
  const lines = [];
  if (status) {
    lines.push(
      `address  ${status.address}   state ${status.state}${
        status.reason ? ` (${status.reason})` : ""
      }`,
    );
    if (status.serverVersion) {
      lines.push(
        `server   rmon-server ${status.serverVersion}, ${status.security ?? "-"}${
          status.fingerprint ? ` ${status.fingerprint}` : ""
        }`,
      );
    }
    if (status.role) lines.push(`role     ${status.user ?? "?"} (${status.role})`);
  }
  if (!info) {
    lines.push("", "No answer yet.");
    return lines.join("\n");
  }
  const gib = (b) => `${(b / 1024 ** 3).toFixed(1)} GiB`;
  lines.push(
    `name     ${info.name.hostname}`,
    `os       ${info.os.name} ${info.os.release} (${info.os.platform}, ${info.os.arch})`,
    `cpu      ${info.cpu.model} · ${info.cpu.cores} cores · ${
      info.cpu.usagePercent.toFixed(1)
    } % · load ${info.cpu.loadAvg.map((x) => x.toFixed(2)).join(" ")}`,
    `ram      ${info.ram.usedPercent.toFixed(1)} % of ${gib(info.ram.totalBytes)} · ${
      gib(info.ram.availableBytes)
    } available · swap ${gib(info.ram.swapTotalBytes - info.ram.swapFreeBytes)} of ${
      gib(info.ram.swapTotalBytes)
    }`,
    `uptime   ${fmtUptime(info.uptime.uptimeSeconds)}`,
    "",
    "addresses",
  );
  for (const a of info.ip.addresses) {
    lines.push(
      `  ${a.name.padEnd(10)} ${a.family.padEnd(5)} ${a.cidr}${a.internal ? " (internal)" : ""}`,
    );
  }
  lines.push("", "disks");
  for (const m of info.disk.mounts) {
    lines.push(
      `  ${m.mount.padEnd(16)} ${m.usedPercent.toFixed(1).padStart(5)} %  ${gib(m.usedBytes)} of ${
        gib(m.sizeBytes)
      }  ${m.fsType} ${m.device}`,
    );
  }
  if (info.net) {
    lines.push("", "network (per second)");
    for (const i of info.net.interfaces) {
      lines.push(
        `  ${i.name.padEnd(10)} rx ${Math.round(i.rxBytesPerSec)} B  tx ${
          Math.round(i.txBytesPerSec)
        } B`,
      );
    }
  }
  return lines.join("\n");
}

function showDetail(msg) {
  if (msg.host !== state.detailHost) return;
  $("detail").hidden = false;
  $("detail-title").textContent = msg.host;
  $("detail-info").textContent = describeInfo(msg.info, msg.status);
  state.detailChart?.destroy();
  const box = $("detail-chart");
  const width = Math.max(280, box.clientWidth || 800);
  const s = msg.series;
  state.detailSeries = { t: [...s.t], cpu: [...s.cpu], ram: [...s.ram] };
  state.detailChart = new globalThis.uPlot(
    {
      width,
      height: Math.min(280, Math.round(width / 3)),
      scales: { x: { time: true }, y: { range: [0, 100] } },
      axes: [{ stroke: cssVar("--muted") }, { stroke: cssVar("--muted"), label: "%" }],
      series: [
        {},
        { label: "CPU %", stroke: cssVar("--cpu"), width: 1.5 },
        { label: "RAM %", stroke: cssVar("--ram"), width: 1.5 },
      ],
    },
    [state.detailSeries.t, state.detailSeries.cpu, state.detailSeries.ram],
    box,
  );
  $("detail").scrollIntoView({ block: "nearest" });
  $("detail-close").focus();
}

// ---- commands -----------------------------------------------------------------------------

function runLine(line, confirmed, id) {
  $("command-error").textContent = "";
  send({ type: "run", id, line, filter: state.filterText, confirmed });
}

function paneFor(host) {
  let pane = state.running?.panes.get(host);
  if (pane) return pane;
  const div = document.createElement("div");
  div.className = "pane";
  div.dataset.host = host;
  const h = document.createElement("h3");
  const name = document.createElement("span");
  name.textContent = host;
  const status = document.createElement("span");
  status.className = "status";
  status.textContent = "running";
  h.append(name, status);
  const pre = document.createElement("pre");
  div.append(h, pre);
  $("panes").append(div);
  pane = { div, pre, status };
  state.running?.panes.set(host, pane);
  return pane;
}

function onStarted(msg) {
  state.running = { id: msg.id, panes: new Map() };
  $("panes").replaceChildren();
  $("gathered").hidden = true;
  $("gathered").textContent = "";
  for (const host of msg.hosts) paneFor(host);
  $("cancel").disabled = false;
  $("run").disabled = true;
}

function onOutput(msg) {
  if (state.running?.id !== msg.id) return;
  const pane = paneFor(msg.host);
  if (msg.stream === "stderr") {
    const span = document.createElement("span");
    span.className = "stderr";
    span.textContent = msg.data;
    pane.pre.append(span);
  } else {
    pane.pre.append(msg.data);
  }
}

function onResult(msg) {
  if (state.running?.id !== msg.id) return;
  const pane = paneFor(msg.host);
  const code = msg.exitCode === null ? "" : ` (exit ${msg.exitCode})`;
  pane.status.textContent = msg.error ? `${msg.status}: ${msg.error}` : `${msg.status}${code}`;
  pane.status.className = `status st-${msg.status}`;
  pane.div.dataset.status = msg.status;
}

function onFinished(msg) {
  const gathered = $("gathered");
  gathered.hidden = false;
  gathered.textContent = msg.text;
  gathered.dataset.cancelled = String(msg.cancelled);
  if (state.running?.id === msg.id) state.running = null;
  $("cancel").disabled = true;
  $("run").disabled = false;
  $("line").focus();
}

function onConfirm(msg) {
  $("confirm-text").textContent = msg.question;
  const dialog = $("confirm");
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue === "yes") runLine(state.pendingLine, true, msg.id);
    else $("command-error").textContent = "Not run";
    $("line").focus();
  };
  dialog.showModal();
  $("confirm-no").focus();
}

// ---- notices ------------------------------------------------------------------------------

function notice(level, text, at = Date.now()) {
  const li = document.createElement("li");
  li.className = level;
  const time = document.createElement("time");
  time.textContent = new Date(at).toLocaleTimeString();
  li.append(time, text);
  const list = $("notices");
  list.prepend(li);
  while (list.children.length > 100) list.lastChild.remove();
}

// ---- the socket ---------------------------------------------------------------------------

function send(msg) {
  if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(msg));
}

function onMessage(msg) {
  switch (msg.type) {
    case "hello": {
      state.readOnly = msg.readOnly;
      state.intervalMs = msg.intervalMs;
      state.capacity = Math.max(2, Math.ceil(msg.historyMs / msg.intervalMs));
      state.historySec = msg.historyMs / 1000;
      state.sparkPoints = msg.sparkPoints;
      $("readonly-note").hidden = !msg.readOnly;
      $("line").placeholder = msg.readOnly
        ? "@web* ram · ping · info · help (read-only)"
        : "sh: uptime · @web* ram · ping · help";
      applyRows(msg.rows);
      for (const s of msg.series) {
        const entry = state.hosts.get(s.host);
        if (!entry) continue;
        entry.series = { t: s.t, cpu: s.cpu, ram: s.ram };
        entry.chartsStale = true;
      }
      renderTable();
      $("notices").replaceChildren();
      for (const n of msg.notices) notice(n.level, n.text, n.at);
      document.body.dataset.ready = "true";
      return;
    }
    case "rows": {
      applyRows(msg.rows);
      for (const s of msg.samples) {
        const entry = state.hosts.get(s.host);
        if (!entry) continue;
        pushSpark(entry.series, msg.t, s.cpu, s.ram);
        entry.chartsStale = true;
      }
      renderTable();
      if (state.detailChart && state.detailSeries) {
        const s = msg.samples.find((x) => x.host === state.detailHost);
        if (s) {
          pushSample(state.detailSeries, msg.t, s.cpu, s.ram);
          state.detailChart.setData([
            state.detailSeries.t,
            state.detailSeries.cpu,
            state.detailSeries.ram,
          ]);
        }
      }
      document.body.dataset.rounds = String(Number(document.body.dataset.rounds ?? 0) + 1);
      return;
    }
    case "notice":
      notice(msg.level, msg.text, msg.at);
      return;
    case "detail":
      showDetail(msg);
      return;
    case "confirm":
      onConfirm(msg);
      return;
    case "started":
      onStarted(msg);
      return;
    case "output":
      onOutput(msg);
      return;
    case "result":
      onResult(msg);
      return;
    case "finished":
      onFinished(msg);
      return;
    case "error":
      $("command-error").textContent = msg.message;
      return;
    case "filtered": {
      if (msg.text !== state.filterText) return;
      state.shown = msg.hosts === null ? null : new Set(msg.hosts);
      $("filter-error").textContent = msg.error ?? "";
      $("fleet").scrollTop = 0;
      state.box = null;
      renderTable();
      return;
    }
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  state.socket = socket;
  socket.onopen = () => {
    state.retryMs = 500;
    $("status").textContent = "live";
    $("status").className = "up";
    if (state.filterText) send({ type: "filter", text: state.filterText });
  };
  socket.onmessage = (ev) => onMessage(JSON.parse(ev.data));
  socket.onclose = () => {
    $("status").textContent = "disconnected from rmon web: retrying";
    $("status").className = "down";
    $("cancel").disabled = true;
    $("run").disabled = false;
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(10_000, state.retryMs * 2);
  };
}

// ---- wiring -------------------------------------------------------------------------------

for (const th of document.querySelectorAll("th[data-key]")) {
  th.setAttribute("aria-sort", th.dataset.key === "host" ? "ascending" : "none");
  th.addEventListener("click", () => setSort(th.dataset.key));
  th.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      setSort(th.dataset.key);
    }
  });
}

$("filter").addEventListener("input", (ev) => {
  state.filterText = ev.target.value.trim();
  if (state.filterText === "") {
    state.shown = null;
    $("filter-error").textContent = "";
    renderTable();
  } else {
    send({ type: "filter", text: state.filterText });
  }
});

$("run-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const line = $("line").value.trim();
  if (line === "" || state.running) return;
  state.pendingLine = line;
  runLine(line, false, `c${state.nextId++}`);
});

$("cancel").addEventListener("click", () => {
  if (state.running) send({ type: "cancel", id: state.running.id });
});

$("detail-close").addEventListener("click", closeDetail);

// Scrolling or resizing shows other rows: draw them (once per frame at most).
let windowQueued = false;
function queueWindow() {
  if (windowQueued) return;
  windowQueued = true;
  requestAnimationFrame(() => {
    windowQueued = false;
    measureBox();
    renderWindow();
  });
}
$("fleet").addEventListener("scroll", queueWindow, { passive: true });
addEventListener("resize", queueWindow);

document.addEventListener("keydown", (ev) => {
  const typing = ev.target instanceof HTMLInputElement;
  if (ev.key === "/" && !typing) {
    ev.preventDefault();
    $("filter").focus();
  } else if (ev.key === "Escape" && !$("detail").hidden && !$("confirm").open) {
    closeDetail();
  }
});

connect();
