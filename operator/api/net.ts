// CIDR arithmetic for validation (pure; no I/O). Mirrors the Kubernetes CEL `isCIDR`, `cidr()`,
// `containsCIDR` and `masked` functions that the CRD uses, so offline validation agrees with the
// API server.

export interface Cidr {
  family: 4 | 6;
  /** Address as a big integer (32 or 128 bits). */
  addr: bigint;
  prefix: number;
}

function parseIPv4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIPv6(s: string): bigint | undefined {
  if (s.includes("%") || s.includes(".")) return undefined; // no zones, no embedded IPv4
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  }
  // Kubernetes' CEL library (isCIDR, cidr()) rejects IPv4-mapped addresses (::ffff:0:0/96).
  if (v >> 32n === 0xffffn) return undefined;
  return v;
}

export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf("/");
  if (slash < 0 || s.indexOf("/", slash + 1) >= 0) return undefined;
  const ip = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(len)) return undefined;
  const prefix = Number(len);
  const v4 = parseIPv4(ip);
  if (v4 !== undefined) return prefix <= 32 ? { family: 4, addr: v4, prefix } : undefined;
  const v6 = parseIPv6(ip);
  if (v6 !== undefined) return prefix <= 128 ? { family: 6, addr: v6, prefix } : undefined;
  return undefined;
}

function bits(c: Cidr): number {
  return c.family === 4 ? 32 : 128;
}

function mask(c: Cidr, prefix: number): bigint {
  const host = BigInt(bits(c) - prefix);
  return (c.addr >> host) << host;
}

/** True when the address has no bits set past the prefix (10.0.0.0/8, not 10.1.0.0/8). */
export function isCanonical(c: Cidr): boolean {
  return mask(c, c.prefix) === c.addr;
}

export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix >= outer.prefix &&
    mask(inner, outer.prefix) === mask(outer, outer.prefix)
  );
}
