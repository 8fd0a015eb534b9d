/**
 * Host list folding for display: `web1,web2,web3,web5` reads as `web[1-3,5]`,
 * the notation clush and pdsh made familiar. Client view layer; pure.
 * @module
 */

/** A name split around its last run of digits, which is the part that folds. */
interface Split {
  prefix: string;
  digits: string;
  suffix: string;
}

// Longer digit runs would lose precision as numbers; such names stay unfolded.
const MAX_DIGITS = 15;

function split(name: string): Split | undefined {
  const m = /^(.*?)(\d+)(\D*)$/s.exec(name);
  if (m === null) return undefined;
  const [, prefix = "", digits = "", suffix = ""] = m;
  if (digits.length > MAX_DIGITS) return undefined;
  return { prefix, digits, suffix };
}

/** Whether the digits carry zero padding that must be kept (`01`, but not `0` or `10`). */
function isPadded(digits: string): boolean {
  return digits.length > 1 && digits.startsWith("0");
}

/** One foldable family: same prefix, suffix and padding width. */
interface Family {
  prefix: string;
  suffix: string;
  /** Zero-padding width; 0 means plain numbers. */
  width: number;
  numbers: Set<number>;
  /** The name as typed, used when the family holds a single host. */
  firstName: string;
}

/** Render sorted unique numbers as `1-3,5`, padded to `width`. */
function ranges(numbers: number[], width: number): string {
  const pad = (n: number) => String(n).padStart(width, "0");
  const parts: string[] = [];
  let start = numbers[0];
  let prev = start;
  for (const n of [...numbers.slice(1), Number.NaN]) {
    if (start === undefined || prev === undefined) break;
    if (n === prev + 1) {
      prev = n;
      continue;
    }
    parts.push(start === prev ? pad(start) : `${pad(start)}-${pad(prev)}`);
    start = n;
    prev = n;
  }
  return parts.join(",");
}

/**
 * Fold host names into a compact list, e.g. `web1,web2,web3,web5,db1` →
 * `web[1-3,5],db1`. The last run of digits in a name folds (`127.0.0.1:5051`,
 * `127.0.0.1:5052` → `127.0.0.1:[5051-5052]`); zero padding is kept
 * (`n01,n02` → `n[01-02]`). Families appear in order of their first name in
 * the input and numbers ascend within a family, so equal inputs give equal
 * output. Duplicates are dropped.
 */
export function compactHosts(names: readonly string[]): string {
  const unique = [...new Set(names)];
  const splits = new Map<string, Split>();
  // Widths of padded numbers per prefix/suffix, so that `n09` and `n10` can share `n[09-10]`.
  const paddedWidths = new Map<string, Set<number>>();
  for (const name of unique) {
    const s = split(name);
    if (s === undefined) continue;
    splits.set(name, s);
    if (isPadded(s.digits)) {
      const key = JSON.stringify([s.prefix, s.suffix]);
      const widths = paddedWidths.get(key) ?? new Set<number>();
      widths.add(s.digits.length);
      paddedWidths.set(key, widths);
    }
  }

  // Map preserves insertion order: that is the output order.
  const families = new Map<string, Family | string>();
  for (const name of unique) {
    const s = splits.get(name);
    if (s === undefined) {
      families.set(`=${name}`, name);
      continue;
    }
    let width = 0;
    if (isPadded(s.digits)) {
      width = s.digits.length;
    } else {
      // An unpadded number prints the same under any padding no wider than itself.
      const widths = paddedWidths.get(JSON.stringify([s.prefix, s.suffix])) ?? new Set<number>();
      for (const w of widths) if (w <= s.digits.length && w > width) width = w;
    }
    const key = JSON.stringify([s.prefix, s.suffix, width]);
    const family = families.get(key);
    if (family === undefined || typeof family === "string") {
      families.set(key, {
        prefix: s.prefix,
        suffix: s.suffix,
        width,
        numbers: new Set([Number(s.digits)]),
        firstName: name,
      });
    } else {
      family.numbers.add(Number(s.digits));
    }
  }

  const parts: string[] = [];
  for (const family of families.values()) {
    if (typeof family === "string") {
      parts.push(family);
    } else if (family.numbers.size === 1) {
      parts.push(family.firstName);
    } else {
      const sorted = [...family.numbers].sort((a, b) => a - b);
      parts.push(`${family.prefix}[${ranges(sorted, family.width)}]${family.suffix}`);
    }
  }
  return parts.join(",");
}
