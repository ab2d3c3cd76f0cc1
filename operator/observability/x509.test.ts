// The DER encoders against hand-checked encodings, and the self-signed certificate as node:crypto,
// OpenSSL's parser behind it, and a TLS client read it.
import * as crypto from "node:crypto";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { describe, expect, it } from "vitest";
import { certificateDer, der, ipBytes, selfSigned } from "./x509.ts";

const hex = (b: Buffer) => b.toString("hex");

describe("DER", () => {
  it("encodes integers as positive two's complement, minimal", () => {
    expect(hex(der.integer(0))).toBe("020100");
    expect(hex(der.integer(127))).toBe("02017f");
    expect(hex(der.integer(128))).toBe("02020080");
    expect(hex(der.integer(256))).toBe("02020100");
    expect(hex(der.integer(Buffer.from([0, 0, 0x05])))).toBe("020105");
    expect(hex(der.integer(Buffer.from([0xff, 0x01])))).toBe("020300ff01");
  });

  it("encodes lengths in short and long form", () => {
    expect(hex(der.octetString(Buffer.alloc(127))).slice(0, 4)).toBe("047f");
    expect(hex(der.octetString(Buffer.alloc(200))).slice(0, 6)).toBe("0481c8");
    expect(hex(der.octetString(Buffer.alloc(300))).slice(0, 8)).toBe("0482012c");
    expect(der.octetString(Buffer.alloc(70_000)).subarray(0, 5)).toEqual(
      Buffer.from([0x04, 0x83, 0x01, 0x11, 0x70]),
    );
  });

  it("encodes object identifiers in base 128", () => {
    expect(hex(der.oid("1.2.840.113549"))).toBe("06062a864886f70d");
    expect(hex(der.oid("2.5.29.17"))).toBe("0603551d11");
    expect(hex(der.oid("1.2.840.10045.4.3.2"))).toBe("06082a8648ce3d040302");
    expect(() => der.oid("1")).toThrow(/not an OID/);
  });

  it("writes UTCTime through 2049 and GeneralizedTime from 2050", () => {
    const text = (b: Buffer) => `${b[0]?.toString(16)}:${b.subarray(2).toString("ascii")}`;
    expect(text(der.time(new Date("2049-12-31T23:59:59.900Z")))).toBe("17:491231235959Z");
    expect(text(der.time(new Date("2050-01-01T00:00:00Z")))).toBe("18:20500101000000Z");
    expect(text(der.time(new Date("1999-02-03T04:05:06Z")))).toBe("17:990203040506Z");
    expect(() => der.time(new Date("1949-12-31T00:00:00Z"))).toThrow(/year 1949/);
  });

  it("turns IP addresses into their 4 or 16 bytes", () => {
    expect(hex(ipBytes("10.0.255.1"))).toBe("0a00ff01");
    expect(hex(ipBytes("::1"))).toBe(`${"0".repeat(30)}01`);
    expect(hex(ipBytes("fd00::1:2"))).toBe("fd000000000000000000000000010002");
    expect(hex(ipBytes("2001:db8:0:0:1:0:0:1"))).toBe("20010db8000000000001000000000001");
    expect(hex(ipBytes("::ffff:10.1.2.3"))).toBe("00000000000000000000ffff0a010203");
    expect(() => ipBytes("localhost")).toThrow(/not an IP address/);
  });
});

describe("self-signed certificate", () => {
  const notBefore = new Date("2026-01-01T00:00:00Z");
  const notAfter = new Date("2051-06-01T12:00:00Z");
  const req = {
    commonName: "meshward-metrics",
    organization: "meshward",
    dnsNames: ["localhost", "meshward-7d9f-abcde"],
    ipAddresses: ["127.0.0.1", "::1"],
    notBefore,
    notAfter,
  };

  it("parses back with its names, validity, usages and a valid self-signature", () => {
    const kc = selfSigned(req);
    const x = new crypto.X509Certificate(kc.cert);
    expect(x.subject).toBe("O=meshward\nCN=meshward-metrics");
    expect(x.issuer).toBe(x.subject);
    expect(x.subjectAltName).toBe(
      "DNS:localhost, DNS:meshward-7d9f-abcde, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    );
    expect(new Date(x.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(x.validTo).toISOString()).toBe(notAfter.toISOString());
    expect(x.ca).toBe(false);
    expect(x.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(x.checkHost("localhost")).toBe("localhost");
    expect(x.checkHost("example.com")).toBeUndefined();
    expect(x.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(x.checkIP("10.0.0.1")).toBeUndefined();
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.checkPrivateKey(crypto.createPrivateKey(kc.key))).toBe(true);
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    // Another key's certificate is not signed by this one.
    const other = new crypto.X509Certificate(selfSigned(req).cert);
    expect(other.verify(x.publicKey)).toBe(false);
    expect(other.serialNumber).not.toBe(x.serialNumber);
  });

  it("keeps the serial positive and rejects what RFC 5280 forbids", () => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const cert = certificateDer({ ...req, serial: Buffer.from([0xff, 0xee]) }, publicKey, privateKey);
    expect(new crypto.X509Certificate(cert).serialNumber).toBe("7FEE");
    expect(() => certificateDer({ ...req, serial: Buffer.alloc(4) }, publicKey, privateKey)).toThrow(
      /serial/,
    );
    expect(() =>
      certificateDer({ ...req, notAfter: notBefore, notBefore: notAfter }, publicKey, privateKey),
    ).toThrow(/notAfter/);
    const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 1024 });
    expect(() => certificateDer(req, rsa.publicKey, rsa.privateKey)).toThrow(/P-256/);
  });

  it("serves TLS that a client verifies with the certificate as its CA, by name and by IP", async () => {
    const now = Date.now();
    const kc = selfSigned({ ...req, notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) });
    const server = tls.createServer({ key: kc.key, cert: kc.cert }, (s) => s.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const connect = (o: tls.ConnectionOptions) =>
      new Promise<string>((resolve) => {
        const c = tls.connect({ port, host: "127.0.0.1", ...o }, () => c.resume());
        c.on("end", () => resolve("ok"));
        c.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
    try {
      expect(await connect({ ca: kc.cert, servername: "localhost" })).toBe("ok");
      expect(await connect({ ca: kc.cert })).toBe("ok"); // by IP: 127.0.0.1
      expect(await connect({ ca: kc.cert, servername: "example.com" })).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
      expect(await connect({ ca: selfSigned(req).cert, servername: "localhost" })).toBe(
        "DEPTH_ZERO_SELF_SIGNED_CERT",
      );
    } finally {
      server.close();
    }
  });
});
