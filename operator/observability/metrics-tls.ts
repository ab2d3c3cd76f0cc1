// The metrics server's certificate: tls.crt and tls.key from --metrics-cert-dir (a mounted
// Secret, e.g. cert-manager's; re-read when they change, as controller-runtime's certwatcher
// does), else a self-signed one made in memory at start (ADR 13).
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import type { Logger } from "../runtime/log.ts";
import { type KeyAndCertificate, selfSigned } from "./x509.ts";

export type { KeyAndCertificate };

export class MetricsTlsError extends Error {}

const YEAR_MS = 365 * 86_400_000;

/**
 * A self-signed certificate for localhost, the host name (the pod's name), 127.0.0.1, ::1 and the
 * listen address when it is one address; valid from an hour ago (clocks differ) for a year.
 */
export function selfSignedForMetrics(listenHost: string, now = new Date()): KeyAndCertificate {
  const dnsNames = [...new Set(["localhost", os.hostname()].filter((h) => h && !net.isIP(h)))];
  const specific = net.isIP(listenHost) && listenHost !== "0.0.0.0" && listenHost !== "::";
  const ipAddresses = [...new Set(["127.0.0.1", "::1", ...(specific ? [listenHost] : [])])];
  return selfSigned({
    commonName: "meshward-metrics",
    organization: "meshward",
    dnsNames,
    ipAddresses,
    notBefore: new Date(now.getTime() - 3_600_000),
    notAfter: new Date(now.getTime() + YEAR_MS),
  });
}

/** tls.crt and tls.key of `dir`, checked to be a matching PEM pair; MetricsTlsError says what is wrong. */
export function readCertDir(dir: string): KeyAndCertificate {
  const read = (name: string) => {
    const file = path.join(dir, name);
    try {
      return fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new MetricsTlsError(`--metrics-cert-dir: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  const pair = { cert: read("tls.crt"), key: read("tls.key") };
  try {
    tls.createSecureContext(pair);
  } catch (e) {
    throw new MetricsTlsError(
      `--metrics-cert-dir: ${path.join(dir, "tls.crt")} and tls.key are not a usable certificate and key: ${(e as Error).message}`,
    );
  }
  return pair;
}

/**
 * Re-reads a certificate directory and hands a changed, valid pair to `apply`. A Secret volume is
 * updated by swapping a symlink, so both files change at once; a pair that does not load (caught
 * mid-write) is skipped and tried again at the next check.
 */
export class CertDirWatcher {
  readonly #dir: string;
  readonly #apply: (kc: KeyAndCertificate) => void;
  readonly #log: Logger | undefined;
  #current: KeyAndCertificate;
  #timer: NodeJS.Timeout | undefined;

  constructor(dir: string, initial: KeyAndCertificate, apply: (kc: KeyAndCertificate) => void, log?: Logger) {
    this.#dir = dir;
    this.#current = initial;
    this.#apply = apply;
    this.#log = log;
  }

  /** One look at the files; true when a new pair was applied. */
  check(): boolean {
    let next: KeyAndCertificate;
    try {
      next = readCertDir(this.#dir);
    } catch (e) {
      this.#log?.warn(
        { error: (e as Error).message },
        "metrics certificate not reloaded; keeping the current one",
      );
      return false;
    }
    if (next.cert === this.#current.cert && next.key === this.#current.key) return false;
    this.#apply(next);
    this.#current = next;
    this.#log?.info({ dir: this.#dir }, "metrics certificate reloaded");
    return true;
  }

  start(intervalMs = 60_000): void {
    this.stop();
    this.#timer = setInterval(() => this.check(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
