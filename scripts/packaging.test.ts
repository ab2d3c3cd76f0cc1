// The container image and the chart name the same versions as the project: the Node image tag is
// the Node the project is tested on (package-lock's "node"), the image and chart version are
// package.json's.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const pkg = JSON.parse(read("package.json")) as { version: string };
const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { version?: string }> };
const dockerfile = read("Dockerfile");

function arg(name: string): string | undefined {
  return new RegExp(`^ARG ${name}=(\\S*)$`, "m").exec(dockerfile)?.[1];
}

describe("packaging", () => {
  it("builds the image on the Node version the project is tested with", () => {
    const node = lock.packages["node_modules/node"]?.version;
    expect(node).toMatch(/^24\./);
    expect(arg("NODE_IMAGE")).toBe(`node:${node}-trixie-slim`);
  });

  it("labels the image with package.json's version", () => {
    expect(arg("VERSION")).toBe(pkg.version);
  });

  it("gives the chart package.json's version", () => {
    const chart = parse(read("charts/meshward/Chart.yaml")) as { version: string; appVersion: string };
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.version).toBe(pkg.version);
  });

  it("runs the image as the chart's non-root UID, with an exec-form entry point", () => {
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/operator\/main\.js"\]$/m);
    // The chart's default pod security context (values.yaml; OpenShift leaves it unset).
    const values = parse(read("charts/meshward/values.yaml")) as {
      podSecurityContext: { runAsUser: number; runAsGroup: number; runAsNonRoot: boolean };
    };
    expect(values.podSecurityContext).toMatchObject({
      runAsUser: 65532,
      runAsGroup: 65532,
      runAsNonRoot: true,
    });
  });
});
