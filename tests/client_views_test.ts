import assert from "node:assert/strict";
import {
  clearBelow,
  clearLine,
  cursorUp,
  hideCursor,
  paint,
  showCursor,
  stripAnsi,
  useColor,
} from "../lib/client/views/color.ts";
import {
  canonicalJson,
  diffAgainstMajority,
  differingFields,
  flattenValue,
  renderDiff,
} from "../lib/client/views/diff.ts";
import {
  formatBytes,
  formatDuration,
  formatPercent,
  formatTimestamp,
  formatUptime,
} from "../lib/client/views/format.ts";
import { gatherOutputs, groupHeader, renderGathered } from "../lib/client/views/gather.ts";
import { type MetricRow, renderMetricTable } from "../lib/client/views/metrics.ts";
import {
  exitCodeFor,
  type Failure,
  failureLines,
  failureText,
  type HostResult,
  type HostStatus,
  maxExitCode,
  summarize,
} from "../lib/client/views/summary.ts";
import { renderTable, visibleWidth } from "../lib/client/views/table.ts";

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** Join lines: expected tables read top to bottom as they print. */
const lines = (...rows: string[]) => rows.join("\n");

Deno.test("useColor() needs a terminal and no NO_COLOR", () => {
  const tty = { isTerminal: () => true };
  const pipe = { isTerminal: () => false };
  const cases: [{ isTerminal(): boolean }, string | null, boolean][] = [
    [tty, null, true],
    [tty, "", true],
    [tty, "1", false],
    [tty, "0", false],
    [pipe, null, false],
    [pipe, "", false],
  ];
  for (const [stream, noColor, want] of cases) {
    assert.equal(useColor(stream, noColor), want, `${stream.isTerminal()} ${noColor}`);
  }
});

Deno.test("clearLine(), cursorUp() and friends are the terminal's control sequences", () => {
  assert.equal(clearLine(), "\r\x1b[2K");
  assert.equal(cursorUp(3), "\x1b[3F");
  assert.equal(cursorUp(0), "");
  assert.equal(clearBelow(), "\x1b[J");
  assert.equal(hideCursor(), "\x1b[?25l");
  assert.equal(showCursor(), "\x1b[?25h");
  assert.equal(stripAnsi(`${cursorUp(2)}${clearBelow()}x`), "x");
});

Deno.test("paint() wraps only when enabled", () => {
  assert.equal(paint(true, "red", "x"), "\x1b[31mx\x1b[39m");
  assert.equal(paint(true, "green", "x"), "\x1b[32mx\x1b[39m");
  assert.equal(paint(true, "yellow", "x"), "\x1b[33mx\x1b[39m");
  assert.equal(paint(true, "bold", "x"), "\x1b[1mx\x1b[22m");
  assert.equal(paint(true, "dim", "x"), "\x1b[2mx\x1b[22m");
  assert.equal(paint(false, "red", "x"), "x");
  assert.equal(paint(true, "red", ""), "");
  assert.equal(stripAnsi(paint(true, "bold", `a${paint(true, "red", "b")}c`)), "abc");
});

Deno.test("formatBytes() uses binary units", () => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [1, "1 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [512 * MiB, "512 MiB"],
    [99.96 * MiB, "100 MiB"],
    [1023.97 * KiB, "1.0 MiB"],
    [15.6 * GiB, "15.6 GiB"],
    [16 * GiB, "16.0 GiB"],
    [3 * 1024 * GiB, "3.0 TiB"],
    [-2048, "-2.0 KiB"],
    [Number.NaN, "-"],
    [Number.POSITIVE_INFINITY, "-"],
  ];
  for (const [n, want] of cases) assert.equal(formatBytes(n), want, String(n));
});

Deno.test("formatPercent() shows one decimal", () => {
  const cases: [number, string][] = [[42, "42.0%"], [0, "0.0%"], [99.96, "100.0%"], [
    Number.NaN,
    "-",
  ]];
  for (const [x, want] of cases) assert.equal(formatPercent(x), want);
});

Deno.test("formatDuration() coarsens as time grows", () => {
  const cases: [number, string][] = [
    [0, "0 ms"],
    [850, "850 ms"],
    [999.4, "999 ms"],
    [999.6, "1.0 s"],
    [1234, "1.2 s"],
    [59_940, "59.9 s"],
    [59_960, "1 m 00 s"],
    [185_000, "3 m 05 s"],
    [3_599_999, "59 m 59 s"],
    [3_600_000, "1 h 00 m"],
    [3_720_000, "1 h 02 m"],
    [86_400_000, "1 d 00 h"],
    [2 * 86_400_000 + 4 * 3_600_000 + 59 * 60_000, "2 d 04 h"],
    [-1500, "-1.5 s"],
    [Number.NaN, "-"],
  ];
  for (const [ms, want] of cases) assert.equal(formatDuration(ms), want, String(ms));
});

Deno.test("formatUptime() counts whole seconds", () => {
  const cases: [number, string][] = [
    [0, "0 s"],
    [42.9, "42 s"],
    [185, "3 m 05 s"],
    [5 * 3600 + 7 * 60 + 30, "5 h 07 m"],
    [12 * 86400 + 3 * 3600, "12 d 03 h"],
    [-1, "-"],
  ];
  for (const [s, want] of cases) assert.equal(formatUptime(s), want, String(s));
  assert.equal(formatTimestamp(Date.UTC(2024, 4, 1, 10, 22, 59)), "2024-05-01 10:22 UTC");
  assert.equal(formatTimestamp(1e20), "-");
});

Deno.test("visibleWidth() ignores escapes and counts wide characters twice", () => {
  const cases: [string, number][] = [
    ["abc", 3],
    ["\x1b[31mabc\x1b[39m", 3],
    ["日本", 4],
    ["e\u0301", 1],
    ["🚀x", 3],
    ["", 0],
  ];
  for (const [text, want] of cases) assert.equal(visibleWidth(text), want, JSON.stringify(text));
});

Deno.test("renderTable() aligns columns by visible width", async (t) => {
  const columns = [{ title: "NAME" }, { title: "N", align: "right" as const }, { title: "NOTE" }];
  await t.step("left and right alignment, no trailing spaces", () => {
    assert.equal(
      renderTable(columns, [["web1", "1", "up"], ["db10", "100", ""]]),
      lines(
        "NAME    N  NOTE",
        "web1    1  up",
        "db10  100",
      ),
    );
  });
  await t.step("escapes and wide characters do not skew widths", () => {
    assert.equal(
      renderTable(columns, [["日本", "1", "wide"], ["a\x1b[31mb\x1b[39m", "22", "x"]]),
      lines(
        "NAME   N  NOTE",
        "日本   1  wide",
        "a\x1b[31mb\x1b[39m    22  x",
      ),
    );
  });
  await t.step("a short row's last cell spans without widening", () => {
    assert.equal(
      renderTable(columns, [["web1", "1", "up"], ["db1", "error: a long message here"]]),
      lines(
        "NAME  N  NOTE",
        "web1  1  up",
        "db1   error: a long message here",
      ),
    );
  });
  await t.step("line breaks in cells are flattened", () => {
    assert.equal(
      renderTable([{ title: "A" }, { title: "B" }], [["x\ny", "z"]]),
      lines("A    B", "x y  z"),
    );
  });
  await t.step("header only, bold when coloured", () => {
    assert.equal(renderTable(columns, []), "NAME  N  NOTE");
    assert.equal(renderTable(columns, [], { color: true }), "\x1b[1mNAME  N  NOTE\x1b[22m");
  });
  await t.step("too many cells is an error", () => {
    assert.throws(() => renderTable(columns, [["a", "b", "c", "d"]]), {
      name: "RangeError",
      message: "Cannot render table: row 1 has 4 cells for 3 columns",
    });
  });
});

const RAM = {
  usedPercent: 45.2,
  totalBytes: 16 * GiB,
  availableBytes: 8.77 * GiB,
  swapTotalBytes: 2 * GiB,
  swapFreeBytes: 1.5 * GiB,
};
const CPU = { usagePercent: 12.345, cores: 8, model: "Intel Xeon", loadAvg: [0.5, 0.25, 1] };
const OS = {
  platform: "linux",
  release: "6.1.0-18-amd64",
  arch: "x86_64",
  name: "Debian GNU/Linux 12",
};
const mount = (mount: string, size: number, used: number, usedPercent: number) => ({
  mount,
  device: "/dev/sda1",
  fsType: "ext4",
  sizeBytes: size,
  usedBytes: used,
  freeBytes: size - used,
  usedPercent,
});
const addr = (name: string, address: string, cidr: string | null, internal = false) => ({
  name,
  family: "IPv4",
  address,
  cidr,
  mac: "00:00:00:00:00:00",
  internal,
});
const INFO = {
  ram: { ...RAM, availableBytes: 8 * GiB },
  cpu: { ...CPU, usagePercent: 3.5, loadAvg: [0.42, 0.3, 0.2] },
  os: { ...OS, release: "6.1.0" },
  name: { hostname: "web1" },
  ip: { addresses: [] },
  disk: { mounts: [mount("/boot", GiB, GiB, 99), mount("/", 100 * GiB, 61 * GiB, 61.25)] },
  uptime: { uptimeSeconds: 200_000, bootTime: 0 },
};

Deno.test("renderMetricTable() renders one row per host", async (t) => {
  const cases: [string, Parameters<typeof renderMetricTable>[0], MetricRow[], string][] = [
    [
      "ram",
      "ram",
      [
        { host: "web1", result: RAM },
        {
          host: "web2",
          result: { ...RAM, usedPercent: 91.5, swapTotalBytes: 0, swapFreeBytes: 0 },
        },
        { host: "db1", error: "Connection refused" },
      ],
      lines(
        "HOST   USE%     USED     TOTAL  AVAILABLE               SWAP",
        "web1  45.2%  7.2 GiB  16.0 GiB    8.8 GiB  512 MiB / 2.0 GiB",
        "web2  91.5%  7.2 GiB  16.0 GiB    8.8 GiB               none",
        "db1   error: Connection refused",
      ),
    ],
    [
      "cpu",
      "cpu",
      [
        { host: "web1", result: CPU },
        {
          host: "web10",
          result: { usagePercent: 7, cores: 64, model: "AMD EPYC 7763", loadAvg: [12.5, 10, 8.25] },
        },
      ],
      lines(
        "HOST    CPU%  CORES  LOAD (1/5/15)     MODEL",
        "web1   12.3%      8  0.50 0.25 1.00    Intel Xeon",
        "web10   7.0%     64  12.50 10.00 8.25  AMD EPYC 7763",
      ),
    ],
    [
      "os",
      "os",
      [
        { host: "web1", result: OS },
        {
          host: "win1",
          result: { platform: "windows", release: "10.0.22631", arch: "x86_64", name: "" },
        },
      ],
      lines(
        "HOST  PLATFORM  RELEASE         ARCH    NAME",
        "web1  linux     6.1.0-18-amd64  x86_64  Debian GNU/Linux 12",
        "win1  windows   10.0.22631      x86_64  -",
      ),
    ],
    [
      "name, with a malformed result",
      "name",
      [{ host: "127.0.0.1:5051", result: { hostname: "alpha" } }, { host: "b", result: "junk" }],
      lines(
        "HOST            HOSTNAME",
        "127.0.0.1:5051  alpha",
        "b               -",
      ),
    ],
    [
      "ip, loopback only when nothing else",
      "ip",
      [
        {
          host: "web1",
          result: {
            addresses: [
              addr("lo", "127.0.0.1", "127.0.0.1/8", true),
              addr("eth0", "10.0.0.11", "10.0.0.11/24"),
              addr("eth0", "fe80::1", null),
            ],
          },
        },
        { host: "box", result: { addresses: [addr("lo", "127.0.0.1", "127.0.0.1/8", true)] } },
        { host: "none", result: { addresses: [] } },
      ],
      lines(
        "HOST  IFACE  ADDRESS",
        "web1  eth0   10.0.0.11/24",
        "web1  eth0   fe80::1",
        "box   lo     127.0.0.1/8",
        "none  (no addresses)",
      ),
    ],
    [
      "disk, one row per mount",
      "disk",
      [
        {
          host: "web1",
          result: {
            mounts: [
              mount("/", 100 * GiB, 80 * GiB, 80),
              mount("/boot", 512 * MiB, 100 * MiB, 19.53),
            ],
          },
        },
        { host: "db1", result: { mounts: [] } },
      ],
      lines(
        "HOST  MOUNT     SIZE      USED      FREE   USE%",
        "web1  /      100 GiB  80.0 GiB  20.0 GiB  80.0%",
        "web1  /boot  512 MiB   100 MiB   412 MiB  19.5%",
        "db1   (no mounts)",
      ),
    ],
    [
      "uptime",
      "uptime",
      [
        {
          host: "web1",
          result: {
            uptimeSeconds: 3 * 86400 + 4 * 3600 + 120,
            bootTime: Date.UTC(2024, 4, 1, 10, 22),
          },
        },
        { host: "web2", result: { uptimeSeconds: 42.9, bootTime: Date.UTC(2024, 4, 4, 14, 0) } },
      ],
      lines(
        "HOST    UPTIME  BOOT",
        "web1  3 d 04 h  2024-05-01 10:22 UTC",
        "web2      42 s  2024-05-04 14:00 UTC",
      ),
    ],
    [
      "info, root disk and OS fallbacks",
      "info",
      [
        { host: "web1", result: INFO },
        {
          host: "win1",
          result: {
            ...INFO,
            os: { platform: "win32", release: "10.0", arch: "x64", name: "" },
            disk: { mounts: [{ ...mount("C:\\", 1, 1, 95.04) }] },
          },
        },
        { host: "db1", error: "Timed out after 5 s" },
      ],
      lines(
        "HOST  OS                   CPU%   RAM%  LOAD  DISK%    UPTIME",
        "web1  Debian GNU/Linux 12  3.5%  45.2%  0.42  61.3%  2 d 07 h",
        "win1  win32 10.0           3.5%  45.2%  0.42  95.0%  2 d 07 h",
        "db1   error: Timed out after 5 s",
      ),
    ],
  ];
  for (const [name, method, rows, want] of cases) {
    await t.step(name, () => assert.equal(renderMetricTable(method, rows, false), want));
  }
});

Deno.test("renderMetricTable() colours errors and high usage", () => {
  assert.equal(
    renderMetricTable("ram", [{ host: "web1", error: "Connection refused" }], true),
    lines(
      "\x1b[1mHOST  USE%  USED  TOTAL  AVAILABLE  SWAP\x1b[22m",
      "web1  \x1b[31merror: Connection refused\x1b[39m",
    ),
  );
  const disk = (p: number) => ({ host: "h", result: { mounts: [mount("/", 1, 1, p)] } });
  const cell = (p: number) =>
    renderMetricTable("disk", [disk(p)], true).split("\n")[1]?.split("  ").at(-1);
  assert.equal(cell(74.9), "74.9%");
  assert.equal(cell(75), "\x1b[33m75.0%\x1b[39m");
  assert.equal(cell(90), "\x1b[31m90.0%\x1b[39m");
});

Deno.test("gatherOutputs() groups identical output, largest first", () => {
  const groups = gatherOutputs([
    { host: "db1", text: "fail\n" },
    { host: "web1", text: "ok\n" },
    { host: "db2", text: "" },
    { host: "web2", text: "ok\n" },
    { host: "web3", text: "ok\n" },
    { host: "db3", text: "fail" },
  ]);
  assert.deepEqual(groups, [
    { hosts: ["web1", "web2", "web3"], text: "ok\n" },
    { hosts: ["db1"], text: "fail\n" },
    { hosts: ["db2"], text: "" },
    { hosts: ["db3"], text: "fail" },
  ]);
  assert.deepEqual(gatherOutputs([]), []);
});

Deno.test("renderGathered() prints a header per group", () => {
  const groups = [
    { hosts: ["web1", "web2", "web3"], text: "ok\nfine\n" },
    { hosts: ["db2"], text: "" },
  ];
  assert.equal(
    renderGathered(groups, false),
    lines(
      "---------------- web[1-3] (3) ----------------",
      "ok",
      "fine",
      "---------------- db2 (1) ----------------",
      "(no output)",
    ),
  );
  assert.equal(
    groupHeader(["web1", "web2"], true),
    "\x1b[2m----------------\x1b[22m \x1b[1mweb[1-2] (2)\x1b[22m \x1b[2m----------------\x1b[22m",
  );
});

const result = (host: string, status: HostStatus, durationMs: number): HostResult => ({
  host,
  status,
  durationMs,
});

Deno.test("summarize() counts outcomes and names the slowest host", () => {
  const cases: [HostResult[], string][] = [
    [[], "0 hosts"],
    [[result("web1", "ok", 850)], "1 host: 1 ok · 850 ms"],
    [
      [
        result("web1", "ok", 200),
        result("web2", "ok", 300),
        result("web3", "timeout", 1234),
        result("db1", "nonzero", 90),
        result("db2", "error", 90),
      ],
      "5 hosts: 2 ok, 1 non-zero exit, 1 timed out, 1 error · slowest web3 1.2 s",
    ],
    [
      [
        result("a", "unreachable", 5),
        result("b", "auth_failed", 7),
        result("c", "error", 1),
        result("d", "error", 2),
        result("e", "cancelled", 3),
      ],
      "5 hosts: 0 ok, 1 unreachable, 1 auth failed, 2 errors, 1 cancelled · slowest b 7 ms",
    ],
  ];
  for (const [results, want] of cases) assert.equal(summarize(results), want);
  assert.equal(
    summarize([result("a", "ok", 1), result("b", "timeout", 2)], true),
    "2 hosts: \x1b[32m1 ok\x1b[39m, \x1b[31m1 timed out\x1b[39m · slowest b 2 ms",
  );
});

Deno.test("failureLines() folds failing hosts per status", () => {
  assert.deepEqual(
    failureLines([
      result("web1", "ok", 1),
      result("web3", "timeout", 1),
      result("web4", "timeout", 1),
      result("db1", "unreachable", 1),
    ]),
    ["timed out: web[3-4]", "unreachable: db1"],
  );
  assert.deepEqual(failureLines([result("web1", "ok", 1)]), []);
});

Deno.test("failureText() says why in words, never a raw code, never twice", () => {
  const cases: [Failure, string][] = [
    [{ status: "auth_failed", error: "bad token" }, "bad token"],
    [{ status: "auth_failed" }, "authentication failed"],
    [{ status: "cancelled", error: "Command cancelled" }, "Command cancelled"],
    [{ status: "cancelled", error: "cancelled by SIGTERM" }, "cancelled by SIGTERM"],
    [{ status: "cancelled" }, "cancelled"],
    [{ status: "unreachable", error: "refused" }, "unreachable: refused"],
    [
      { status: "unreachable", error: "the server shut down during the command" },
      "unreachable: the server shut down during the command",
    ],
    [
      { status: "timeout", error: "Command timed out after 60000 ms" },
      "Command timed out after 60000 ms",
    ],
    [
      { status: "timeout", error: 'No answer to "ram" within 1500 ms' },
      'No answer to "ram" within 1500 ms',
    ],
    [{ status: "timeout" }, "timed out"],
    [{ status: "nonzero", exitCode: 2 }, "exit code 2"],
    [{ status: "nonzero", exitCode: null, signal: "SIGKILL" }, "killed by SIGKILL"],
    [{ status: "error", error: "disconnected" }, "disconnected"],
  ];
  for (const [failure, want] of cases) assert.equal(failureText(failure), want, want);
});

Deno.test("exitCodeFor() follows the documented precedence", () => {
  const cases: [HostStatus[], number][] = [
    [[], 0],
    [["ok", "ok"], 0],
    [["ok", "nonzero"], 1],
    [["nonzero", "error"], 5],
    [["error", "unreachable"], 3],
    [["auth_failed", "ok"], 3],
    [["unreachable", "timeout", "nonzero"], 4],
    [["ok", "timeout"], 4],
    [["timeout", "cancelled"], 130],
  ];
  for (const [statuses, want] of cases) {
    assert.equal(exitCodeFor(statuses), want, statuses.join(","));
  }
});

Deno.test("maxExitCode() is the largest exit code, only when every host has one", () => {
  const cases: [{ status: HostStatus; exitCode?: number | null }[], number | null][] = [
    [[], null],
    [[{ status: "ok", exitCode: 0 }, { status: "ok", exitCode: 0 }], 0],
    [[{ status: "nonzero", exitCode: 3 }, { status: "nonzero", exitCode: 9 }], 9],
    [[{ status: "ok", exitCode: 0 }, { status: "nonzero", exitCode: 2 }], 2],
    [[{ status: "nonzero", exitCode: 2 }, { status: "unreachable" }], null],
    [[{ status: "nonzero", exitCode: 2 }, { status: "timeout" }], null],
    [[{ status: "nonzero", exitCode: null }], null],
    [[{ status: "ok" }], null],
  ];
  for (const [results, want] of cases) {
    assert.equal(maxExitCode(results), want, JSON.stringify(results));
  }
});

Deno.test("canonicalJson() ignores key order", () => {
  const cases: [unknown, string][] = [
    [{ b: 1, a: [2, { d: null, c: "x" }] }, '{"a":[2,{"c":"x","d":null}],"b":1}'],
    [{ a: undefined, b: Number.NaN }, '{"b":null}'],
    [10n, "10"],
    [undefined, "null"],
    ["é\n", '"é\\n"'],
  ];
  for (const [value, want] of cases) assert.equal(canonicalJson(value), want);
});

Deno.test("diffAgainstMajority() picks the largest group", () => {
  const diff = diffAgainstMajority([
    { host: "a", value: { x: 1, y: 2 } },
    { host: "b", value: { x: 2 } },
    { host: "c", value: { y: 2, x: 1 } },
    { host: "d", value: "1" },
    { host: "e", value: 1 },
    { host: "f", value: { x: 2 } },
    { host: "g", value: { x: 1, y: 2 } },
  ]);
  assert.deepEqual(diff, {
    majority: { hosts: ["a", "c", "g"], value: { x: 1, y: 2 } },
    outliers: [
      { hosts: ["b", "f"], value: { x: 2 } },
      { hosts: ["d"], value: "1" },
      { hosts: ["e"], value: 1 },
    ],
  });
  assert.deepEqual(diffAgainstMajority([]), {
    majority: { hosts: [], value: undefined },
    outliers: [],
  });
  // A tie goes to the value seen first.
  assert.deepEqual(
    diffAgainstMajority([{ host: "a", value: 1 }, { host: "b", value: 2 }]).majority.hosts,
    ["a"],
  );
});

Deno.test("flattenValue() keys leaves by path", () => {
  assert.deepEqual(
    [...flattenValue(
      { os: { release: "6.1" }, mounts: [{ m: "/" }], empty: {}, none: [] },
      "info",
    )],
    [["info.os.release", "6.1"], ["info.mounts[0].m", "/"], ["info.empty", {}], ["info.none", []]],
  );
  assert.deepEqual([...flattenValue(3)], [["", 3]]);
});

Deno.test("differingFields() reports only the fields that differ", () => {
  const os = (release: string, arch = "x86_64") => ({ platform: "linux", release, arch });
  const values = [
    ...["web1", "web2", "web3"].map((host) => ({ host, value: os("6.1.0") })),
    { host: "db1", value: os("5.10.0", "aarch64") },
    { host: "db2", value: { arch: "x86_64", release: "5.10.0", platform: "linux" } },
  ];
  assert.deepEqual(differingFields(diffAgainstMajority(values), "os"), [
    {
      path: "os.release",
      variants: [{ text: "6.1.0", hosts: ["web1", "web2", "web3"] }, {
        text: "5.10.0",
        hosts: ["db1", "db2"],
      }],
    },
    {
      path: "os.arch",
      variants: [{ text: "x86_64", hosts: ["web1", "web2", "web3"] }, {
        text: "aarch64",
        hosts: ["db1"],
      }],
    },
  ]);
});

Deno.test("renderDiff() prints one line per differing field", () => {
  const os = (release: string, name = "Debian GNU/Linux 12") => ({ release, name });
  const values = [
    ...Array.from({ length: 9 }, (_, i) => ({ host: `web${i + 1}`, value: os("6.1.0") })),
    { host: "db1", value: os("5.10.0", "") },
    { host: "db2", value: { release: "5.10.0" } },
  ];
  const diff = diffAgainstMajority(values);
  assert.equal(
    renderDiff(diff, false, "os"),
    lines(
      "os.release: 6.1.0 (web[1-9]) vs 5.10.0 (db[1-2])",
      'os.name: Debian GNU/Linux 12 (web[1-9]) vs "" (db1) vs (missing) (db2)',
    ),
  );
  assert.equal(
    renderDiff(diffAgainstMajority([{ host: "a", value: 1 }, { host: "b", value: 2 }]), true),
    "value: 1 (a) vs \x1b[33m2 (b)\x1b[39m",
  );
  assert.equal(
    renderDiff(diffAgainstMajority([{ host: "n1", value: 1 }, { host: "n2", value: 1 }]), false),
    "All 2 hosts agree: n[1-2]",
  );
  assert.equal(renderDiff(diffAgainstMajority([]), false), "No hosts to compare");
});

Deno.test("renderDiff() and renderMetricTable() never pass a server's control characters on", () => {
  const evil = "6.1\x1b]52;c;eA==\x07\u009b2J";
  const diff = renderDiff(
    diffAgainstMajority([{ host: "a", value: { release: "6.1" } }, {
      host: "b",
      value: { release: evil },
    }]),
    false,
    "os",
  );
  assert.equal(diff, 'os.release: 6.1 (a) vs "6.1\\u001b]52;c;eA==\\u0007\\x9b2J" (b)');
  const table = renderMetricTable("top", [{
    host: "web1",
    result: {
      processes: [{ pid: 7, user: "eve\x1b[8m", cpuPercent: 1, rssBytes: 1024, command: evil }],
    },
  }], false);
  assert.ok(![..."\x1b\x07\u009b"].some((c) => table.includes(c)), table);
  assert.match(table, /eve\\x1b\[8m/);
  assert.match(table, /6\.1\\x1b\]52;c;eA==\\x07\\x9b2J/);
});
