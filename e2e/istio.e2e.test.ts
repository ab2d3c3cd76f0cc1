// Istio's opinion on a reconciled fleet: the operator reconciles the example fleet on the test bed,
// the workloads' pods and Services are created as a deployment would, then everything the
// namespaces hold is dumped and given to `istioctl analyze` offline. Zero errors; every other
// finding is one of FLEET_EXPECTED (e2e/support/istio.ts), with its exact code.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Profile } from "../operator/api/schema.ts";
import { loadProfiles } from "../operator/cli/load.ts";
import type { KubeClient, KubeObjectLike, Resource } from "../operator/runtime/client.ts";
import { resourcePath } from "../operator/runtime/client.ts";
import { CHILD_KINDS } from "../operator/reconcile/kinds.ts";
import { ensureIstioctl } from "./controlplane/istioctl.ts";
import {
  analyze,
  FLEET_EXPECTED,
  meshContext,
  namespacesOf,
  unexplained,
  writeYaml,
} from "./support/istio.ts";
import { listIfServed } from "./support/converge.ts";
import { deleteNamespace, kube, NAMESPACES } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, waitCondition } from "./support/profiles.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const OUT = path.join(ROOT, ".cache/e2e/istio");
const SUFFIX = randomBytes(2).toString("hex");

let client: KubeClient;
let op: OperatorProcess | undefined;
let istioctl = "";
const created: string[] = [];

/** The fleet, moved to namespaces of its own (every namespace it names gets the suffix). */
function relocate(p: Profile): Profile {
  const ns = (n: string) => `${n}-${SUFFIX}`;
  const ref = (r: string) => (r.includes("/") ? `${ns(r.split("/")[0] as string)}/${r.split("/")[1]}` : r);
  const spec = structuredClone(p.spec);
  for (const rule of spec.ingress ?? [])
    for (const s of rule.from) {
      if (s.service !== undefined) s.service = ref(s.service);
      if (s.namespace !== undefined) s.namespace = ns(s.namespace);
      if (s.serviceAccount !== undefined) s.serviceAccount.namespace = ns(s.serviceAccount.namespace);
    }
  for (const t of spec.egress?.to ?? []) if (t.service !== undefined) t.service = ref(t.service);
  return { ...p, metadata: { ...p.metadata, namespace: ns(p.metadata.namespace) }, spec };
}

const SERVICES: Resource = {
  group: "",
  version: "v1",
  plural: "services",
  kind: "Service",
  namespaced: true,
};
const PODS: Resource = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };

/** The object as a file would hold it: no server-set metadata or status. */
function clean(o: KubeObjectLike, r: Resource): Record<string, unknown> {
  const {
    managedFields: _m,
    resourceVersion: _v,
    uid: _u,
    creationTimestamp: _c,
    generation: _g,
    ...metadata
  } = o.metadata ?? {};
  const { status: _s, ...rest } = o as Record<string, unknown>;
  return { ...rest, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind, metadata };
}

beforeAll(async () => {
  client = kube();
  istioctl = (await ensureIstioctl()).istioctl;
}, 3_600_000);
afterAll(async () => {
  await op?.stop();
  for (const n of created) await deleteNamespace(client, n);
});

describe("istioctl analyze on a reconciled fleet", () => {
  it("finds no error and nothing unexplained in what the namespaces hold", async () => {
    const profiles = loadProfiles([path.join(ROOT, "examples/fleet")]).profiles.map((l) =>
      relocate(l.profile),
    );
    const namespaces = namespacesOf(profiles);
    for (const name of namespaces) {
      await client.request("POST", resourcePath(NAMESPACES), {
        body: {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name, labels: { "istio-injection": "enabled" } },
        },
      });
      created.push(name);
    }
    op = await startOperator({ name: "operator-istio", args: ["--namespaces", namespaces.join(",")] });
    for (const p of profiles) await applyProfile(client, p.metadata.namespace, p.metadata.name, p.spec);
    for (const p of profiles) await waitCondition(client, p.metadata.namespace, p.metadata.name);

    // The workloads, as a deployment would create them (after meshward created their accounts).
    for (const o of meshContext(profiles, "sidecar", { namespaces: false })) {
      const meta = o.metadata as { namespace: string };
      await client.request("POST", resourcePath(o.kind === "Pod" ? PODS : SERVICES, meta.namespace), {
        body: o,
      });
    }

    const dump: Record<string, unknown>[] = [];
    for (const name of namespaces)
      dump.push(
        clean(await client.get<KubeObjectLike>(resourcePath(NAMESPACES, undefined, name)), NAMESPACES),
      );
    const kinds = [...CHILD_KINDS.map((k) => k.resource), PODS, SERVICES];
    for (const r of kinds)
      for (const name of namespaces) {
        // Gateway (ambient waypoints) is served only while a file installs the Gateway API CRDs.
        for (const o of await listIfServed(client, resourcePath(r, name))) dump.push(clean(o, r));
      }
    const kindsFound = new Set(dump.map((o) => o.kind));
    for (const k of [
      "AuthorizationPolicy",
      "PeerAuthentication",
      "RequestAuthentication",
      "Telemetry",
      "NetworkPolicy",
    ])
      expect(kindsFound, `the dump holds a ${k}`).toContain(k);

    fs.rmSync(OUT, { recursive: true, force: true });
    const file = writeYaml(path.join(OUT, "cluster.yaml"), dump);
    const { result, messages } = analyze(istioctl, [file]);
    fs.writeFileSync(path.join(OUT, "analyze.json"), JSON.stringify(messages, null, 2));
    expect(messages.filter((m) => m.level === "Error")).toEqual([]);
    // Origins carry the relocated namespaces: compare with the suffix taken out.
    const plain = messages.map((m) => ({ ...m, origin: m.origin.replaceAll(`-${SUFFIX}`, "") }));
    expect(unexplained(plain, FLEET_EXPECTED)).toEqual([]);
    expect(result.status, result.stderr).toBe(0);
  });
});
