// The metrics certificate: the self-signed default's names and validity, a certificate directory
// read and checked, and a changed directory reloaded (a broken one skipped).
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  CertDirWatcher,
  type KeyAndCertificate,
  MetricsTlsError,
  readCertDir,
  selfSignedForMetrics,
} from "./metrics-tls.ts";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function certDir(kc?: KeyAndCertificate): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-metrics-tls-"));
  dirs.push(d);
  if (kc) write(d, kc);
  return d;
}

function write(d: string, kc: KeyAndCertificate): void {
  fs.writeFileSync(path.join(d, "tls.crt"), kc.cert);
  fs.writeFileSync(path.join(d, "tls.key"), kc.key);
}

describe("selfSignedForMetrics", () => {
  it("names localhost, the host, loopback and a specific listen address; valid for a year", () => {
    const now = new Date("2026-12-07T10:00:00Z");
    const x = new X509Certificate(selfSignedForMetrics("10.1.2.3", now).cert);
    expect(x.subject).toContain("CN=meshward-metrics");
    expect(x.checkHost("localhost")).toBe("localhost");
    expect(x.checkHost(os.hostname())).toBe(os.hostname());
    for (const ip of ["127.0.0.1", "10.1.2.3"]) expect(x.checkIP(ip)).toBe(ip);
    expect(x.subjectAltName).toContain("IP Address:0:0:0:0:0:0:0:1");
    expect(new Date(x.validFrom).toISOString()).toBe("2026-12-07T09:00:00.000Z");
    expect(new Date(x.validTo).toISOString()).toBe("2027-12-07T10:00:00.000Z");
    const any = new X509Certificate(selfSignedForMetrics("0.0.0.0", now).cert);
    expect(any.checkIP("0.0.0.0")).toBeUndefined();
  });
});

describe("readCertDir", () => {
  it("reads a matching pair", () => {
    const kc = selfSignedForMetrics("127.0.0.1");
    expect(readCertDir(certDir(kc))).toEqual(kc);
  });

  it("says which file is missing, and refuses a key of another certificate", () => {
    const d = certDir();
    expect(() => readCertDir(d)).toThrow(MetricsTlsError);
    expect(() => readCertDir(d)).toThrow(`cannot read ${path.join(d, "tls.crt")}`);
    const a = selfSignedForMetrics("127.0.0.1");
    const b = selfSignedForMetrics("127.0.0.1");
    write(d, { cert: a.cert, key: b.key });
    expect(() => readCertDir(d)).toThrow(/not a usable certificate and key/);
    fs.writeFileSync(path.join(d, "tls.crt"), "not PEM");
    expect(() => readCertDir(d)).toThrow(/not a usable certificate and key/);
  });
});

describe("CertDirWatcher", () => {
  it("applies a changed pair once, and skips a broken one until it is whole", () => {
    const first = selfSignedForMetrics("127.0.0.1");
    const d = certDir(first);
    const applied: KeyAndCertificate[] = [];
    const w = new CertDirWatcher(d, readCertDir(d), (kc) => applied.push(kc));
    expect(w.check()).toBe(false);
    const second = selfSignedForMetrics("127.0.0.1");
    // Half-written: the new certificate with the old key.
    fs.writeFileSync(path.join(d, "tls.crt"), second.cert);
    expect(w.check()).toBe(false);
    fs.writeFileSync(path.join(d, "tls.key"), second.key);
    expect(w.check()).toBe(true);
    expect(w.check()).toBe(false);
    expect(applied).toEqual([second]);
    fs.rmSync(path.join(d, "tls.key"));
    expect(w.check()).toBe(false);
    expect(applied).toHaveLength(1);
  });
});
