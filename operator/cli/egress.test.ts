// The CLI and egress by host: malformed hosts refused with file, line and field; the host guardrail
// offline with the message the cluster gives; --dataplane and Namespace manifests choosing what
// render builds; hosts as graph nodes.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { validatePolicy } from "../api/validate-policy.ts";
import { validateProfile } from "../api/validate.ts";
import { evaluateProfile } from "../policy/engine.ts";
import { defaultNamespaceLabels } from "../policy/fleet.ts";
import { run } from "./main.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const EXAMPLE = path.join(ROOT, "examples/egress");
const NOW = ["--now", "2026-11-20T00:00:00Z"];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-egress-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = run(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join(""), err: err.join("\n") };
}

function write(name: string, content: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, content);
  return f;
}

type Obj = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };
function kinds(yaml: string, namespace?: string): string[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Obj)
    .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
    .map((o) => `${o.kind} ${o.metadata.name}`);
}

const PROFILE = `apiVersion: meshward.io/v1alpha1
kind: ServiceSecurityProfile
metadata: {name: api, namespace: pay}
spec:
  selector: {app: api}
  egress:
    to:
      - host: api.stripe.com
        ports: [443]
      - host: api.paypal.com
        ports: [443]
`;

describe("meshward validate and malformed hosts", () => {
  it("names the file, line, field and what to write instead", () => {
    const f = write(
      "bad-host.yaml",
      PROFILE.replace("host: api.paypal.com", "host: https://api.paypal.com/v1"),
    );
    const r = cli("validate", f, ...NOW);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `${f}:10:9: pay/api: spec.egress.to[1].host: error: host must be a bare DNS name without scheme or path: write api.stripe.com, not https://api.stripe.com/v1`,
    );
  });
});

describe("guardrails.egressHosts offline", () => {
  const policyYaml = (mode: string) => `apiVersion: meshward.io/v1alpha1
kind: MeshwardPolicy
metadata: {name: hosts}
spec:
  guardrails:
    egressHosts: {mode: ${mode}, allowed: ["*.stripe.com"]}
`;

  function engineMessage(mode: string): string {
    const prof = validateProfile(parse(PROFILE));
    const pol = validatePolicy(parse(policyYaml(mode)));
    if (!prof.ok || !pol.ok) throw new Error("fixture invalid");
    const findings = evaluateProfile({
      profile: prof.profile,
      namespaceProfiles: [prof.profile],
      policies: [pol.policy],
      namespaceLabels: defaultNamespaceLabels("pay"),
      now: new Date(NOW[1] as string),
    }).findings;
    expect(findings).toHaveLength(1);
    return findings[0]?.message ?? "";
  }

  it("Enforce: an error with the cluster's message; render leaves the host's ServiceEntry out", () => {
    const prof = write("guarded.yaml", PROFILE);
    const pol = write("hosts-enforce.yaml", policyYaml("Enforce"));
    const message = engineMessage("Enforce");
    expect(message).toBe(
      "MeshwardPolicy hosts allows egress only to the hosts *.stripe.com: call api.paypal.com through an allowed host, or ask the platform team to allow it",
    );
    const r = cli("validate", prof, "--policy", pol, ...NOW);
    expect(r.err).toContain(
      `${prof}:10:9: pay/api: spec.egress.to[1].host: error: ${message} [EgressHostNotAllowed, Enforce, MeshwardPolicy hosts]`,
    );
    expect(r.code).toBe(1);
    const rendered = cli("render", prof, "--policy", pol, ...NOW);
    expect(rendered.code).toBe(1);
    expect(kinds(rendered.out).filter((k) => k.startsWith("ServiceEntry"))).toEqual([
      "ServiceEntry api-egress.api.stripe.com",
    ]);
  });

  it("Audit: a warning with the same message; render keeps the host", () => {
    const prof = write("audited.yaml", PROFILE);
    const pol = write("hosts-audit.yaml", policyYaml("Audit"));
    const r = cli("validate", prof, "--policy", pol, ...NOW);
    expect(r.err).toContain(
      `spec.egress.to[1].host: warning: ${engineMessage("Audit")} [EgressHostNotAllowed, Audit, MeshwardPolicy hosts]`,
    );
    expect(r.code).toBe(0);
    expect(
      kinds(cli("render", prof, "--policy", pol, ...NOW).out).filter((k) => k.startsWith("ServiceEntry")),
    ).toEqual(["ServiceEntry api-egress.api.paypal.com", "ServiceEntry api-egress.api.stripe.com"]);
  });

  it("governs only the namespaces its selector picks, by a Namespace manifest's labels", () => {
    const prof = write("selected.yaml", PROFILE);
    const pol = write(
      "hosts-selected.yaml",
      policyYaml("Enforce").replace("spec:\n", "spec:\n  namespaceSelector: {team: payments}\n"),
    );
    expect(cli("validate", prof, "--policy", pol, ...NOW).code).toBe(0);
    const ns = write(
      "pay-ns.yaml",
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: pay\n  labels: {team: payments}\n",
    );
    const r = cli("validate", prof, ns, "--policy", pol, ...NOW);
    expect(r.err).toContain("[EgressHostNotAllowed, Enforce, MeshwardPolicy hosts]");
    expect(r.code).toBe(1);
  });
});

describe("render --dataplane and Namespace manifests", () => {
  const billing = (yaml: string) => kinds(yaml, "billing");

  it("--dataplane sidecar: ServiceEntries and the REGISTRY_ONLY Sidecar", () => {
    const r = cli("render", "--dataplane", "sidecar", EXAMPLE, ...NOW);
    expect(r.code).toBe(0);
    expect(billing(r.out)).toContain("Sidecar billing-api");
    expect(billing(r.out)).toContain("ServiceEntry billing-api-egress-any.googleapis.com");
  });

  it("--dataplane ambient: ServiceEntries bound to the egress waypoint, no Sidecar", () => {
    const r = cli("render", "--dataplane", "ambient", EXAMPLE, ...NOW);
    expect(r.code).toBe(0);
    expect(billing(r.out).filter((k) => k.startsWith("Sidecar"))).toEqual([]);
    const se = parseAllDocuments(r.out)
      .map((d) => d.toJS() as Obj)
      .filter((o) => o.kind === "ServiceEntry");
    expect(se).toHaveLength(3);
    for (const o of se) expect(o.metadata.labels?.["istio.io/use-waypoint"]).toBe("waypoint");
  });

  it("a Namespace manifest's Istio labels win over --dataplane, as Istio's do in the cluster", () => {
    const ns = write(
      "billing-ns.yaml",
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: billing\n  labels: {istio.io/dataplane-mode: ambient}\n",
    );
    const r = cli("render", "--dataplane", "sidecar", EXAMPLE, ns, ...NOW);
    expect(r.code).toBe(0);
    expect(billing(r.out).filter((k) => k.startsWith("Sidecar"))).toEqual([]);
    expect(r.out).toContain(
      "# namespace billing: ambient data plane (the namespace has istio.io/dataplane-mode=ambient)",
    );
    // orders has no manifest: the default (--dataplane sidecar) applies there.
    expect(r.out).toContain("port: 15012");
    // --namespace-labels wins over the manifest.
    const flag = cli("render", EXAMPLE, ns, "--namespace-labels", "billing:istio-injection=enabled", ...NOW);
    expect(billing(flag.out)).toContain("Sidecar billing-api");
    // Not a skipped document: --no-skip-unknown does not refuse it.
    expect(cli("validate", "--no-skip-unknown", EXAMPLE, ns, ...NOW).code).toBe(0);
  });

  it("refuses a bad --dataplane, and --mesh-mode saying otherwise", () => {
    const bad = cli("render", "--dataplane", "ztunnel", EXAMPLE);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--dataplane must be sidecar or ambient, not "ztunnel"');
    const both = cli("render", "--dataplane", "ambient", "--mesh-mode", "sidecar", EXAMPLE);
    expect(both.code).toBe(2);
    expect(both.err).toContain("--dataplane ambient and --mesh-mode sidecar disagree");
  });
});

describe("graph", () => {
  it("draws each external host as a node with an edge from the profile that declares it", () => {
    const dot = cli("graph", "-o", "dot", EXAMPLE).out;
    expect(dot).toContain('"host:api.stripe.com" [label="api.stripe.com", shape=ellipse');
    expect(dot).toContain('"billing/billing-api" -> "host:api.stripe.com" [label="443 TLS"]');
    expect(dot).toContain('"billing/billing-api" -> "host:*.googleapis.com" [label="443 TLS"]');
    expect(dot).toContain('"billing/billing-api" -> "host:status.example.com" [label="80 HTTP"]');
    const mermaid = cli("graph", EXAMPLE).out;
    expect(mermaid).toMatch(/n\d\(\["\*\.googleapis\.com"\]\):::external/);
  });
});
