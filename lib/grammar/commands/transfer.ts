/**
 * `push [-r] [--force] [--mode MODE] [--owner UID[:GID]] LOCAL REMOTE` and
 * `pull REMOTE LOCALDIR`: copy files to and from every selected server, as
 * `pscp`/`pslurp` do. The client carries them out itself (lib/client/
 * transfer_push.ts, transfer_pull.ts) with the wire methods `upload` and
 * `download`. Grammar layer, pure.
 * @module
 */

import type { LocalCommand } from "../command.ts";
import type { CommandSpec } from "../spec.ts";
import { quote } from "../_quote.ts";
import { remotePathProblem } from "./transfer_wire.ts";
import { wholeNumber } from "./_args.ts";

type Push = Extract<LocalCommand, { kind: "push" }>;

/** `push [-r] [--force] [--mode MODE] [--owner UID[:GID]] LOCAL REMOTE`. */
export const PUSH: CommandSpec = {
  name: "push",
  words: ["push"],
  form: "word",
  usage: "push [-rf] LOCAL REMOTE",
  summary: "Copy a local file (or a folder with -r) to each server",
  detail: "push [-r] [-f|--force] [--mode MODE] [--owner UID[:GID]] LOCAL REMOTE\n" +
    "LOCAL is hashed, then read once and streamed to every selected server.\n" +
    "REMOTE is an absolute path on the servers; one ending in / is a folder\n" +
    "that receives LOCAL under its own name. Each server writes a temporary\n" +
    "file beside the destination, checks its SHA-256 and renames it into\n" +
    "place. A destination with other content is replaced only with --force;\n" +
    "the same content is reported unchanged. --mode sets the permission bits\n" +
    "(octal, default: the local file's), --owner the numeric owner when the\n" +
    "server runs as root. Examples:\n" +
    "  push ./app.conf /etc/app/app.conf\n  push -r --force ./site /srv/www/",
  targeted: true,
  parse(input) {
    const cmd: Push = { kind: "push", local: "", remote: "", recursive: false, force: false };
    const paths: string[] = [];
    const args = input.args();
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      const value = () => {
        const next = args[++i];
        if (!next) return input.fail(`${arg.text} needs a value`, arg.start);
        return next;
      };
      if (arg.text === "--recursive") cmd.recursive = true;
      else if (arg.text === "--force") cmd.force = true;
      else if (/^-[rf]+$/.test(arg.text)) {
        // Short flags alone or together, as cp takes them: -r, -f, -rf.
        if (arg.text.includes("r")) cmd.recursive = true;
        if (arg.text.includes("f")) cmd.force = true;
      } else if (arg.text === "--mode") {
        const v = value();
        if (!/^[0-7]{1,4}$/.test(v.text)) {
          return input.fail(`mode ${quote(v.text)} is not octal permission bits`, v.start);
        }
        cmd.mode = parseInt(v.text, 8);
      } else if (arg.text === "--owner") {
        const v = value();
        const [uid, gid, extra] = v.text.split(":").map(wholeNumber);
        const parts = v.text.split(":").length;
        if (uid === undefined || parts > 2 || (parts === 2 && gid === undefined) || extra) {
          return input.fail(`owner ${quote(v.text)} is not UID or UID:GID (numbers)`, v.start);
        }
        cmd.uid = uid;
        if (gid !== undefined) cmd.gid = gid;
      } else if (arg.text.startsWith("-") && arg.text.length > 1) {
        return input.fail(`unknown option ${quote(arg.text)}`, arg.start);
      } else paths.push(arg.text);
    }
    if (paths.length < 2) return input.fail("expected LOCAL and REMOTE");
    if (paths.length > 2) return input.fail(`unexpected argument ${quote(paths[2]!)}`);
    cmd.local = paths[0]!;
    cmd.remote = paths[1]!;
    const problem = remotePathProblem(cmd.remote);
    if (problem) return input.fail(problem);
    return cmd;
  },
};

/** `pull REMOTE LOCALDIR`. */
export const PULL: CommandSpec = {
  name: "pull",
  words: ["pull"],
  form: "word",
  usage: "pull REMOTE LOCALDIR",
  summary: "Copy a file from each server into LOCALDIR/<host>/",
  detail: "Fetches the file REMOTE (an absolute path) from every selected server\n" +
    "into LOCALDIR/<host>/<name>, as pslurp does, checking each copy's SHA-256.\n" +
    "Example: pull /var/log/syslog ./logs",
  targeted: true,
  parse(input) {
    const args = input.args();
    for (const arg of args) {
      if (arg.text.startsWith("-") && arg.text.length > 1) {
        return input.fail(`unknown option ${quote(arg.text)}`, arg.start);
      }
    }
    const [remote, localDir, extra] = args;
    if (!remote || !localDir) return input.fail("expected REMOTE and LOCALDIR");
    if (extra) return input.fail(`unexpected argument ${quote(extra.text)}`, extra.start);
    const problem = remotePathProblem(remote.text);
    if (problem) return input.fail(problem, remote.start);
    if (remote.text.endsWith("/")) return input.fail("REMOTE must name a file", remote.start);
    return { kind: "pull", remote: remote.text, localDir: localDir.text };
  },
};
