// The operator's --help and --version: answered before the configuration is read, exit 0.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { infoRequest, loadConfig, usage } from "./config.ts";

const MAIN = path.join(import.meta.dirname, "main.ts");
const pkg = (await import("../package.json", { with: { type: "json" } })).default as { version: string };

describe("operator flags", () => {
  it("recognises --help and --version anywhere among the flags", () => {
    expect(infoRequest(["--help"])).toBe("help");
    expect(infoRequest(["--concurrency", "2", "-h"])).toBe("help");
    expect(infoRequest(["--version"])).toBe("version");
    expect(infoRequest(["--concurrency", "2"])).toBeUndefined();
  });

  it("lists every flag with its environment variable and default", () => {
    const text = usage();
    expect(text).toContain("--trust-domain <value>");
    expect(text).toContain("MESHWARD_TRUST_DOMAIN");
    expect(text).toContain("(default cluster.local)");
    // Every flag loadConfig accepts is in the help.
    for (const flag of text.matchAll(/^ {2}--([a-z-]+) <value>/gm)) {
      expect(() => loadConfig([`--${flag[1]}`, "x"], {})).not.toThrow(/Unknown option/);
    }
  });

  it("serves /metrics over HTTPS by default, with the probes on a plain port of their own", () => {
    const c = loadConfig([], {});
    expect([c.metricsSecure, c.metricsPort, c.healthPort, c.metricsCertDir]).toEqual([
      true,
      8080,
      8081,
      undefined,
    ]);
    const insecure = loadConfig(["--metrics-secure", "false", "--health-port", "0"], {});
    expect([insecure.metricsSecure, insecure.healthPort]).toEqual([false, 0]);
    expect(loadConfig([], { MESHWARD_METRICS_SECURE: "false" }).metricsSecure).toBe(false);
    expect(loadConfig(["--metrics-cert-dir", "/certs"], {}).metricsCertDir).toBe("/certs");
    // Metrics off: the health port may be anything.
    expect(loadConfig(["--metrics-port", "0", "--health-port", "0"], {}).healthPort).toBe(0);
  });

  it("refuses the probes behind HTTPS, and a certificate for plain HTTP", () => {
    for (const health of ["0", "9090"])
      expect(() => loadConfig(["--metrics-port", "9090", "--health-port", health], {})).toThrow(
        /^--health-port \(MESHWARD_HEALTH_PORT\): must be a port of its own .* HTTPS on 9090.*--metrics-secure false$/,
      );
    expect(() => loadConfig(["--metrics-secure", "false", "--metrics-cert-dir", "/certs"], {})).toThrow(
      /^--metrics-cert-dir \(MESHWARD_METRICS_CERT_DIR\): is for HTTPS metrics/,
    );
    expect(() => loadConfig(["--metrics-secure", "maybe"], {})).toThrow(/^--metrics-secure/);
  });

  // Spawning the operator imports the Kubernetes client: seconds on a busy machine.
  const SPAWN = { timeout: 120_000 };
  const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });

  it("--help prints the usage and exits 0 (no 'invalid configuration')", SPAWN, () => {
    const r = run("--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Usage: meshward-operator");
    expect(r.stderr).not.toContain("invalid configuration");
  });

  it("--version prints package.json's version and exits 0", SPAWN, () => {
    const r = run("--version");
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`meshward ${pkg.version}`);
  });

  it("a certificate directory without a usable pair is a configuration error, exit 2", SPAWN, () => {
    const r = run(
      "--metrics-cert-dir",
      path.join(import.meta.dirname, "no-such-dir"),
      "--kubeconfig",
      "/dev/null",
    );
    expect(r.status).toBe(2);
    expect(r.stdout + r.stderr).toContain("--metrics-cert-dir: cannot read");
  });

  it("an unknown flag is still a configuration error, exit 2", SPAWN, () => {
    const r = run("--frobnicate");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("invalid configuration");
  });
});
