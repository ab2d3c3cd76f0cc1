// Istio's own opinion on what meshward generates: `istioctl validate` and `istioctl analyze`, run
// offline on files, and the cluster context Istio's analyzers need to judge the objects (the
// namespaces they name, and a pod and a Service per profile, as if the workloads were deployed).
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { type Profile, protocolOf } from "../../operator/api/schema.ts";
import { parseServiceRef } from "../../operator/builders/references.ts";
import { type IstioctlResult, runIstioctl } from "../controlplane/istioctl.ts";

type Obj = { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string } };

/** Istio's objects among `objects` (security.istio.io, telemetry.istio.io, ...). */
export function istioObjects<T extends Obj>(objects: T[]): T[] {
  return objects.filter((o) => /\.istio\.io\//.test(o.apiVersion));
}

/** Every namespace a profile lives in or names (callers, targets). */
export function namespacesOf(profiles: Profile[]): string[] {
  const out = new Set<string>();
  for (const p of profiles) {
    const ns = p.metadata.namespace;
    out.add(ns);
    for (const rule of p.spec.ingress ?? [])
      for (const s of rule.from) {
        if (s.namespace !== undefined) out.add(s.namespace);
        if (s.serviceAccount !== undefined) out.add(s.serviceAccount.namespace);
        if (s.service !== undefined) out.add(parseServiceRef(s.service, ns).namespace);
      }
    for (const t of p.spec.egress?.to ?? [])
      if (t.service !== undefined) out.add(parseServiceRef(t.service, ns).namespace);
  }
  return [...out].sort();
}

/** Ports a profile's Service would expose: its ingress ports, named after their protocol. */
function servicePorts(p: Profile): { name: string; port: number; protocol: string }[] {
  const out = new Map<string, { name: string; port: number; protocol: string }>();
  for (const rule of p.spec.ingress ?? []) {
    const protocol = protocolOf(rule);
    const prefix = protocol === "TCP" ? (rule.http ? "http" : "tcp") : protocol.toLowerCase();
    for (const port of rule.ports?.length ? rule.ports : [8080])
      out.set(`${protocol}/${port}`, { name: `${prefix}-${port}`, port, protocol });
  }
  if (out.size === 0) out.set("TCP/8080", { name: "http-8080", port: 8080, protocol: "TCP" });
  return [...out.values()];
}

/**
 * What the cluster would hold besides meshward's objects once the fleet is deployed: every
 * namespace (enrolled in the mesh: sidecar injection, or ambient), and per profile one pod (its
 * selector's labels, its service account, an injected istio-proxy in sidecar mode) and a Service.
 */
export function meshContext(
  profiles: Profile[],
  meshMode: "sidecar" | "ambient",
  opts: { namespaces?: boolean } = {},
): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  if (opts.namespaces !== false)
    for (const name of namespacesOf(profiles))
      objects.push({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name,
          labels:
            meshMode === "sidecar"
              ? { "istio-injection": "enabled" }
              : { "istio.io/dataplane-mode": "ambient" },
        },
      });
  for (const p of profiles) {
    const { name, namespace } = p.metadata;
    const containers: Record<string, unknown>[] = [
      { name: "app", image: `registry.example.com/${name}:1.0.0` },
    ];
    if (meshMode === "sidecar")
      containers.push({ name: "istio-proxy", image: "docker.io/istio/proxyv2:1.31.4" });
    objects.push({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${name}-0`,
        namespace,
        labels: { ...p.spec.selector },
        ...(meshMode === "ambient" && { annotations: { "ambient.istio.io/redirection": "enabled" } }),
      },
      spec: { serviceAccountName: p.spec.serviceAccount?.name ?? name, containers },
    });
    objects.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace },
      spec: {
        selector: { ...p.spec.selector },
        ports: servicePorts(p).map((x) => ({ ...x, targetPort: x.port })),
      },
    });
  }
  return objects;
}

export function writeYaml(file: string, objects: unknown[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, objects.map((o) => stringify(o, { lineWidth: 0 })).join("---\n"));
  return file;
}

/** One finding of `istioctl analyze -o json`. */
export interface AnalyzerMessage {
  code: string;
  level: string;
  origin: string;
  message: string;
}

/** A finding a test accepts: its exact code, the object it is about, and why it is fine. */
export interface Expected {
  code: string;
  /** The analyzer's origin, e.g. "AuthorizationPolicy payments/payments-api" (prefix match). */
  origin: string;
  why: string;
}

/** `istioctl analyze` offline (no cluster), on every namespace of the files, every level reported. */
export function analyze(
  istioctl: string,
  files: string[],
): { result: IstioctlResult; messages: AnalyzerMessage[] } {
  const result = runIstioctl(istioctl, [
    "analyze",
    "--use-kube=false",
    "--all-namespaces",
    "--output",
    "json",
    "--output-threshold",
    "Info",
    "--failure-threshold",
    "Error",
    ...files,
  ]);
  let messages: AnalyzerMessage[] = [];
  const text = result.stdout.trim();
  if (text.startsWith("[")) {
    messages = (JSON.parse(text) as Record<string, unknown>[]).map((m) => ({
      code: String((m.code as string | undefined) ?? ""),
      level: String((m.level as string | undefined) ?? ""),
      origin: String((m.origin as string | undefined) ?? ""),
      message: String((m.message as string | undefined) ?? ""),
    }));
  }
  return { result, messages };
}

/**
 * What `istioctl analyze` reports on the example fleet and accepts, rendered or reconciled. Each
 * entry names the exact code and the object; any other finding fails the tests.
 */
export const FLEET_EXPECTED: Expected[] = [];

/** Findings that no expectation explains (same code, origin starting with the expected one). */
export function unexplained(messages: AnalyzerMessage[], expected: Expected[]): AnalyzerMessage[] {
  return messages.filter((m) => !expected.some((e) => e.code === m.code && m.origin.startsWith(e.origin)));
}

/** `istioctl validate -f file`: Istio's admission validation, offline. */
export function validate(istioctl: string, file: string): IstioctlResult {
  return runIstioctl(istioctl, ["validate", "-f", file]);
}
