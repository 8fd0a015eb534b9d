/**
 * Line-by-line comparison of two texts and its unified-diff form (`---`,
 * `+++`, `@@ -a,b +c,d @@` hunks with three lines of context), as `diff -u`
 * prints it. Myers' O((N+M)·D) algorithm on what is left once the common
 * head and tail are set aside. Client view layer; pure.
 * @module
 */

/** One line of an edit script: kept (` `), only in the old text (`-`), only in the new (`+`). */
export interface LineEdit {
  op: " " | "-" | "+";
  line: string;
}

/**
 * Past this many differences the script is not searched for: the changed
 * middle is shown as all removed then all added (still a correct diff,
 * only not the shortest), so a huge output cannot take quadratic time.
 */
const MAX_EDITS = 4_000;

/** The lines of `text`: split at LF (a CR before it kept out), one final newline not making an empty line. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * The shortest edit script turning `a` into `b` (Myers), or, past
 * `MAX_EDITS` differences, the middle removed and added whole.
 */
export function diffLines(a: readonly string[], b: readonly string[]): LineEdit[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head && tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) tail++;
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  const middle = myers(x, y) ?? [
    ...x.map((line) => ({ op: "-" as const, line })),
    ...y.map((line) => ({ op: "+" as const, line })),
  ];
  return [
    ...a.slice(0, head).map((line) => ({ op: " " as const, line })),
    ...middle,
    ...a.slice(a.length - tail).map((line) => ({ op: " " as const, line })),
  ];
}

/** Myers' greedy algorithm with the V array kept per step for the walk back; null past MAX_EDITS. */
function myers(a: readonly string[], b: readonly string[]): LineEdit[] | null {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  if (max === 0) return [];
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(max, MAX_EDITS); d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      // Down (an insertion) from diagonal k+1, or right (a deletion) from k-1: whichever went further.
      let xi = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
        ? v[offset + k + 1]!
        : v[offset + k - 1]! + 1;
      let yi = xi - k;
      while (xi < n && yi < m && a[xi] === b[yi]) {
        xi++;
        yi++;
      }
      v[offset + k] = xi;
      if (xi >= n && yi >= m) return backtrack(trace, a, b, offset);
    }
  }
  return null;
}

/** Walk the saved V arrays back from the end to recover the edit script. */
function backtrack(
  trace: readonly Int32Array[],
  a: readonly string[],
  b: readonly string[],
  offset: number,
): LineEdit[] {
  const edits: LineEdit[] = [];
  let xi = a.length;
  let yi = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const v = trace[d]!;
    const k = xi - yi;
    const down = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!);
    const prevK = down ? k + 1 : k - 1;
    const prevX = v[offset + prevK]!;
    const prevY = prevX - prevK;
    while (xi > prevX && yi > prevY) {
      edits.push({ op: " ", line: a[--xi]! });
      yi--;
    }
    if (d === 0) break;
    if (down) edits.push({ op: "+", line: b[--yi]! });
    else edits.push({ op: "-", line: a[--xi]! });
  }
  return edits.reverse();
}

/** The `@@` range of a hunk: `start,count`, or `start` alone for one line (as diff -u writes it). */
function range(start: number, count: number): string {
  if (count === 1) return `${start}`;
  // An empty side names the line before it.
  return `${count === 0 ? start - 1 : start},${count}`;
}

/**
 * The hunks of a unified diff from `a` to `b` (without the `---`/`+++`
 * header), with `context` unchanged lines around each change; empty when the
 * texts have the same lines.
 */
export function unifiedHunks(a: readonly string[], b: readonly string[], context = 3): string[] {
  const edits = diffLines(a, b);
  const changed = edits.map((e, i) => e.op !== " " ? i : -1).filter((i) => i >= 0);
  if (changed.length === 0) return [];
  const out: string[] = [];
  let i = 0;
  while (i < changed.length) {
    // A hunk runs from context before its first change to context after its last,
    // taking in later changes whose context would touch it.
    const first = changed[i]!;
    let last = first;
    while (i + 1 < changed.length && changed[i + 1]! - last <= 2 * context + 1) {
      last = changed[++i]!;
    }
    i++;
    const from = Math.max(0, first - context);
    const to = Math.min(edits.length - 1, last + context);
    let aLine = 1;
    let bLine = 1;
    for (let j = 0; j < from; j++) {
      if (edits[j]!.op !== "+") aLine++;
      if (edits[j]!.op !== "-") bLine++;
    }
    const body = edits.slice(from, to + 1);
    const aCount = body.filter((e) => e.op !== "+").length;
    const bCount = body.filter((e) => e.op !== "-").length;
    out.push(`@@ -${range(aLine, aCount)} +${range(bLine, bCount)} @@`);
    for (const e of body) out.push(`${e.op}${e.line}`);
  }
  return out;
}
