// A self-signed X.509 certificate for the metrics server when no certificate is given (ADR 13):
// an ECDSA P-256 key from node:crypto and a certificate written as DER by the few encoders below.
// Node reads certificates (X509Certificate) but cannot make one. Only what a TLS server
// certificate needs: version 3, a random serial, one common name as subject and issuer, validity,
// key usage digitalSignature, extended key usage serverAuth, subject alternative names.
import * as crypto from "node:crypto";
import * as net from "node:net";

// --- DER (X.690): tag, length, contents

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

export const der = {
  sequence: (...items: Buffer[]) => tlv(0x30, Buffer.concat(items)),
  set: (...items: Buffer[]) => tlv(0x31, Buffer.concat(items)),
  boolean: (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00])),
  /** A non-negative INTEGER from its big-endian bytes (or a small number). */
  integer(v: Buffer | number): Buffer {
    let bytes = typeof v === "number" ? bigEndian(v) : v;
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    bytes = bytes.subarray(i);
    if (bytes.length === 0) bytes = Buffer.from([0]);
    // A set high bit would make it negative (two's complement): a zero byte in front.
    if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return tlv(0x02, bytes);
  },
  oid(dotted: string): Buffer {
    const arcs = dotted.split(".").map(Number);
    if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0))
      throw new Error(`not an OID: ${dotted}`);
    const out: number[] = [];
    for (const arc of [(arcs[0] ?? 0) * 40 + (arcs[1] ?? 0), ...arcs.slice(2)]) {
      const base128: number[] = [arc & 0x7f];
      for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift(0x80 | (v & 0x7f));
      out.push(...base128);
    }
    return tlv(0x06, Buffer.from(out));
  },
  utf8: (s: string) => tlv(0x0c, Buffer.from(s, "utf8")),
  octetString: (b: Buffer) => tlv(0x04, b),
  /** A BIT STRING of whole bytes, or `unusedBits` of the last byte unused. */
  bitString: (b: Buffer, unusedBits = 0) => tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), b])),
  /** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; in seconds, UTC. */
  time(d: Date): Buffer {
    const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
    const digits = iso.slice(0, 19).replace(/[-T:]/g, "");
    const year = d.getUTCFullYear();
    if (year < 1950 || year > 9999) throw new Error(`a certificate cannot hold the year ${year}`);
    return year < 2050
      ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, "ascii"))
      : tlv(0x18, Buffer.from(`${digits}Z`, "ascii"));
  },
  /** [n] EXPLICIT: the whole encoding inside a constructed context-specific tag. */
  explicit: (n: number, inner: Buffer) => tlv(0xa0 | n, inner),
  /** [n] IMPLICIT of a primitive type: its contents under a context-specific tag. */
  implicit: (n: number, contents: Buffer) => tlv(0x80 | n, contents),
};

function bigEndian(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${n}`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from(bytes.length ? bytes : [0]);
}

/** The 4 or 16 bytes of an IP address. */
export function ipBytes(ip: string): Buffer {
  if (net.isIPv4(ip)) return Buffer.from(ip.split(".").map(Number));
  if (!net.isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  let text = ip.split("%")[0] ?? ip;
  // An IPv4 tail (::ffff:10.0.0.1) as two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const b = v4[1].split(".").map(Number) as [number, number, number, number];
    text = `${text.slice(0, -v4[1].length)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const groups = (s: string) => (s ? s.split(":") : []);
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return der.sequence(der.oid(oid), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

export interface CertificateRequest {
  commonName: string;
  organization?: string;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  /** Random when not given (16 bytes, positive). */
  serial?: Buffer;
}

export interface KeyAndCertificate {
  /** PKCS#8 PEM. */
  key: string;
  /** PEM. */
  cert: string;
}

function pem(label: string, body: Buffer): string {
  const lines = body.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The DER of a certificate for `publicKey`, signed by `privateKey` (both P-256), issuer = subject. */
export function certificateDer(
  req: CertificateRequest,
  publicKey: crypto.KeyObject,
  privateKey: crypto.KeyObject,
): Buffer {
  if (publicKey.asymmetricKeyType !== "ec" || publicKey.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    throw new Error("the key must be ECDSA P-256");
  if (req.notAfter.getTime() <= req.notBefore.getTime())
    throw new Error("notAfter must be later than notBefore");
  const serial = req.serial ?? crypto.randomBytes(16);
  if (serial.length === 0 || serial.length > 20 || serial.every((b) => b === 0))
    throw new Error("the serial must be 1 to 20 bytes, not zero");
  // RFC 5280 4.1.2.2: positive. Clearing the top bit keeps it at its length.
  const positive = Buffer.from(serial);
  positive[0] = (positive[0] ?? 0) & 0x7f;
  const name = der.sequence(
    ...(req.organization
      ? [der.set(der.sequence(der.oid(OID.organization), der.utf8(req.organization)))]
      : []),
    der.set(der.sequence(der.oid(OID.commonName), der.utf8(req.commonName))),
  );
  const algorithm = der.sequence(der.oid(OID.ecdsaWithSha256));
  const altNames = [
    ...req.dnsNames.map((d) => der.implicit(2, Buffer.from(d, "ascii"))),
    ...req.ipAddresses.map((ip) => der.implicit(7, ipBytes(ip))),
  ];
  const extensions = [
    // Not a CA.
    extension(OID.basicConstraints, true, der.sequence()),
    // digitalSignature: bit 0, the first bit of one byte, 7 bits unused.
    extension(OID.keyUsage, true, der.bitString(Buffer.from([0x80]), 7)),
    extension(OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth))),
    ...(altNames.length ? [extension(OID.subjectAltName, false, der.sequence(...altNames))] : []),
  ];
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)), // v3
    der.integer(positive),
    algorithm,
    name, // issuer
    der.sequence(der.time(req.notBefore), der.time(req.notAfter)),
    name, // subject
    publicKey.export({ type: "spki", format: "der" }),
    der.explicit(3, der.sequence(...extensions)),
  );
  const signature = crypto.sign("sha256", tbs, { key: privateKey, dsaEncoding: "der" });
  return der.sequence(tbs, algorithm, der.bitString(signature));
}

/** A new P-256 key and a self-signed certificate for it, as PEM. */
export function selfSigned(req: CertificateRequest): KeyAndCertificate {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return {
    key: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    cert: pem("CERTIFICATE", certificateDer(req, publicKey, privateKey)),
  };
}
