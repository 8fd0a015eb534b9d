/**
 * Service definitions for `rmon-server service print|install`: a systemd
 * unit, a launchd plist and a Windows service command, each running one
 * binary with its options. Pure text builders: every argument is quoted by
 * the platform's own rules, word by word, so no option can be misread
 * (`%`, `$` and quotes in a systemd `ExecStart=`, XML entities in a plist,
 * `CommandLineToArgvW` rules inside a PowerShell string). Server layer.
 * @module
 */

/** The service platforms `service print` knows. */
export const SERVICE_KINDS = ["systemd", "launchd", "windows"] as const;

/** One of {@linkcode SERVICE_KINDS}. */
export type ServiceKind = typeof SERVICE_KINDS[number];

/** The service's name everywhere: the unit `rmon-server.service`, the Windows service. */
export const SERVICE_NAME = "rmon-server";

/** The launchd label (reverse-DNS, as launchd asks), also the plist's file name. */
export const LAUNCHD_LABEL = "org.rmon.rmon-server";

/**
 * Where the systemd service keeps its state: `StateDirectory=rmon` makes
 * `/var/lib/rmon` (0700), and `XDG_STATE_HOME=/var/lib` makes the server's
 * own state path (token, TLS certificate) land in it.
 */
export const SYSTEMD_STATE_HOME = "/var/lib";

/** What a service runs: the binary's absolute path and the server options after it. */
export interface ServiceCommand {
  exe: string;
  args: readonly string[];
}

/** Refuses text no service file can carry safely (a line break would start a new setting). */
function checkWord(word: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(word)) {
    throw new TypeError(
      `Cannot write a service definition: ${JSON.stringify(word)} holds a control character`,
    );
  }
  return word;
}

/**
 * One word of a systemd `ExecStart=` line: always double-quoted, with `\` and
 * `"` escaped, and `%` (a specifier) and `$` (a variable) doubled, so systemd
 * hands the program exactly `word`.
 */
export function systemdQuote(word: string): string {
  const escaped = checkWord(word)
    .replaceAll("\\", "\\\\")
    .replaceAll('"', '\\"')
    .replaceAll("%", "%%")
    .replaceAll("$", "$$$$");
  return `"${escaped}"`;
}

/** The unit `rmon-server.service`. */
export function systemdUnit(cmd: ServiceCommand): string {
  const execStart = [cmd.exe, ...cmd.args].map(systemdQuote).join(" ");
  return `# rmon-server as a systemd service; written by "rmon-server service".
[Unit]
Description=rmon-server: answers authenticated rmon requests about this machine
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${execStart}
# Its token and generated TLS certificate live in /var/lib/rmon (0700).
StateDirectory=rmon
StateDirectoryMode=0700
Environment=XDG_STATE_HOME=${SYSTEMD_STATE_HOME}
Restart=on-failure
RestartSec=2s
# SIGTERM to the server first (it cancels every call and kills their process
# groups), then SIGKILL to whatever is left: no exec tree outlives the service.
KillMode=mixed
TimeoutStopSec=15s
# Logging goes to the journal: journalctl -u ${SERVICE_NAME}
StandardOutput=journal
StandardError=journal
SyslogIdentifier=${SERVICE_NAME}

[Install]
WantedBy=multi-user.target
`;
}

/** Text for an XML element or attribute: the five predefined entities. */
export function xmlEscape(text: string): string {
  return checkWord(text)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

/** The launchd daemon plist: started at boot, restarted when it fails. */
export function launchdPlist(cmd: ServiceCommand): string {
  const args = [cmd.exe, ...cmd.args].map((w) => `    <string>${xmlEscape(w)}</string>`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- rmon-server as a launchd daemon; written by "rmon-server service". -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args.join("\n")}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>StandardOutPath</key>
  <string>/var/log/rmon-server.log</string>
  <key>StandardErrorPath</key>
  <string>/var/log/rmon-server.log</string>
</dict>
</plist>
`;
}

/**
 * One argument of a Windows command line, quoted so `CommandLineToArgvW` (and
 * every C runtime) reads it back as exactly `word`: plain words stay as they
 * are; others are wrapped in quotes, with each `"` escaped and the
 * backslashes before a `"` (or before the closing quote) doubled.
 */
export function windowsArg(word: string): string {
  checkWord(word);
  if (word !== "" && !/[\s"]/.test(word)) return word;
  let out = '"';
  let slashes = 0;
  for (const ch of word) {
    if (ch === "\\") {
      slashes++;
      continue;
    }
    // Backslashes count double only before a quote.
    out += "\\".repeat(ch === '"' ? slashes * 2 + 1 : slashes) + ch;
    slashes = 0;
  }
  return `${out}${"\\".repeat(slashes * 2)}"`;
}

/** A PowerShell single-quoted string: nothing inside is expanded; `'` is doubled. */
export function powershellQuote(text: string): string {
  return `'${checkWord(text).replaceAll("'", "''")}'`;
}

/**
 * PowerShell lines that create the Windows service, start it at boot and have
 * the service manager restart it when it fails.
 */
export function windowsService(cmd: ServiceCommand): string {
  const binPath = [cmd.exe, ...cmd.args].map(windowsArg).join(" ");
  return `# rmon-server as a Windows service (PowerShell, as Administrator); written by "rmon-server service".
# rmon-server is a console program and does not speak the service-control
# protocol, so the service manager gives up on it at start (error 1053): put a
# service wrapper (WinSW, NSSM, ...) in front of it and point -BinaryPathName at
# the wrapper, or run it from Task Scheduler "At startup" with this command line.
New-Service -Name ${SERVICE_NAME} -DisplayName 'rmon-server' -StartupType Automatic -BinaryPathName ${
    powershellQuote(binPath)
  }
sc.exe failure ${SERVICE_NAME} reset= 86400 actions= restart/2000/restart/2000/restart/2000
Start-Service -Name ${SERVICE_NAME}
`;
}

/** The definition of `kind` for `cmd`. */
export function serviceDefinition(kind: ServiceKind, cmd: ServiceCommand): string {
  switch (kind) {
    case "systemd":
      return systemdUnit(cmd);
    case "launchd":
      return launchdPlist(cmd);
    case "windows":
      return windowsService(cmd);
    default: {
      const never: never = kind;
      throw new TypeError(`Unknown service kind "${never}"`);
    }
  }
}
