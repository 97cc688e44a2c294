// CIDR blocks as ranges of addresses, for the questions the evaluator asks of `ipBlock`s: does one
// contain another, do they meet, is it every address of its family.

export interface Cidr {
  family: 4 | 6;
  /** The first address, as a number. */
  start: bigint;
  prefix: number;
}

/** The block `text` names (host bits ignored, as the API server does); undefined when it is not one. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const family = address.includes(':') ? 6 : 4;
  const value = family === 4 ? ipv4(address) : ipv6(address);
  const bits = family === 4 ? 32 : 128;
  if (value === undefined || prefix > bits) return undefined;
  const host = bits - prefix;
  return { family, start: (value >> BigInt(host)) << BigInt(host), prefix };
}

/** Whether every address of `inner` is in `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  const host = BigInt((outer.family === 4 ? 32 : 128) - outer.prefix);
  return inner.start >> host === outer.start >> host;
}

/** Whether two blocks share an address (blocks are either nested or apart). */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return contains(a, b) || contains(b, a);
}

function ipv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n);
}

function ipv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  // An embedded IPv4 address (::ffff:10.0.0.1) is two groups.
  const last = tail.length ? tail : head;
  if (last.at(-1)?.includes('.')) {
    const v4 = ipv4(last.pop()!);
    if (v4 === undefined) return undefined;
    last.push((v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16));
  }
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.reduce((n, g) => (n << 16n) | BigInt(`0x${g}`), 0n);
}

/** Whether the blocks together hold every address of `family` (0.0.0.0/1 and 128.0.0.0/1 do). */
export function coverFamily(blocks: readonly Cidr[], family: 4 | 6): boolean {
  const bits = BigInt(family === 4 ? 32 : 128);
  const ranges = blocks
    .filter((b) => b.family === family)
    .map((b) => [b.start, b.start + (1n << (bits - BigInt(b.prefix))) - 1n] as const)
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  let next = 0n; // the first address not yet covered
  for (const [start, end] of ranges) {
    if (start > next) return false;
    if (end + 1n > next) next = end + 1n;
  }
  return next === 1n << bits;
}
