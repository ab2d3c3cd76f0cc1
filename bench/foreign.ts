// Objects meshward did not create, for `npm run bench -- --foreign N` (issue 23): the operator caches
// them (operator/reconcile/foreign.ts) and decides per profile whether they widen it
// (operator/perimeter/widening.ts). N objects are spread evenly over a fleet's namespaces, in blocks
// of ten: seven NetworkPolicies, two ExternalSecrets, one AuthorizationPolicy. Of a block's
// NetworkPolicies, one admits everything to one profile's pods (that profile is Widened), three
// select a profile's pods and admit only what the profile declares, three select pods of no
// profile. The ExternalSecrets widen nothing (no MeshwardPolicy sets a secrets guardrail in the
// bench), nor does the AuthorizationPolicy (a DENY: only an ALLOW widens). Objects and expected
// verdicts are pure; createForeign applies them.
import type { ProfileStatus } from "../operator/api/schema.ts";
import { WIDENED } from "../operator/perimeter/condition.ts";
import { type KubeClient, resourcePath } from "../operator/runtime/client.ts";
import { CHILD_KINDS, PROFILES } from "../operator/reconcile/kinds.ts";
import { type Fleet, pool } from "./lib.ts";

export interface ForeignObject {
  apiVersion: string;
  kind: "NetworkPolicy" | "ExternalSecret" | "AuthorizationPolicy";
  metadata: { name: string; namespace: string };
  spec: Record<string, unknown>;
}

export interface ForeignSet {
  objects: ForeignObject[];
  /** The profiles ("namespace/name") some object widens: their Widened condition is True. */
  widened: Set<string>;
}

function resource(kind: ForeignObject["kind"]) {
  const r = CHILD_KINDS.find((k) => k.resource.kind === kind)?.resource;
  if (!r) throw new Error(`kind ${kind}`);
  return r;
}

const apiVersion = (kind: ForeignObject["kind"]) => {
  const r = resource(kind);
  return r.group ? `${r.group}/${r.version}` : r.version;
};

/** The profiles' pods carry app: <profile name> (bench/lib.ts spec()). */
const app = (profile: string) => ({ app: profile });

/**
 * `count` foreign objects over the fleet's namespaces: object k goes to namespace
 * ⌊k × namespaces / count⌋ (so namespaces get ⌊count / namespaces⌋ or one more) and is of the kind
 * of its place k mod 10 in the blocks described above; the profile it is about turns with k.
 */
export function foreignObjects(fleet: Fleet, count: number): ForeignSet {
  const byNs = new Map<string, string[]>();
  for (const p of fleet.profiles) byNs.set(p.namespace, [...(byNs.get(p.namespace) ?? []), p.name]);
  const objects: ForeignObject[] = [];
  const widened = new Set<string>();
  for (let k = 0; k < count; k++) {
    const namespace = fleet.namespaces[Math.floor((k * fleet.namespaces.length) / count)] as string;
    const profiles = byNs.get(namespace) ?? [];
    const slot = k % 10;
    const block = Math.floor(k / 10);
    // Which of the namespace's profiles the object is about: turns within a block and between blocks.
    const at = (d: number) => profiles[(slot + block + d) % profiles.length] as string;
    const meta = (name: string) => ({ name: `${name}-${k}`, namespace });
    if (slot === 0) {
      widened.add(`${namespace}/${at(0)}`);
      objects.push({
        apiVersion: apiVersion("NetworkPolicy"),
        kind: "NetworkPolicy",
        metadata: meta("tenant-allow-all"),
        spec: { podSelector: { matchLabels: app(at(0)) }, policyTypes: ["Ingress"], ingress: [{}] },
      });
    } else if (slot <= 3) {
      // What the profile declares already: its first ingress peer (the next profile) on 8080.
      objects.push({
        apiVersion: apiVersion("NetworkPolicy"),
        kind: "NetworkPolicy",
        metadata: meta("tenant-narrow"),
        spec: {
          podSelector: { matchLabels: app(at(0)) },
          policyTypes: ["Ingress"],
          ingress: [{ from: [{ podSelector: { matchLabels: app(at(1)) } }], ports: [{ port: 8080 }] }],
        },
      });
    } else if (slot <= 6) {
      objects.push({
        apiVersion: apiVersion("NetworkPolicy"),
        kind: "NetworkPolicy",
        metadata: meta("tenant-batch"),
        spec: {
          podSelector: { matchLabels: { app: `batch-${k}` } },
          policyTypes: ["Ingress", "Egress"],
          ingress: [{}],
          egress: [{}],
        },
      });
    } else if (slot <= 8) {
      objects.push({
        apiVersion: apiVersion("ExternalSecret"),
        kind: "ExternalSecret",
        metadata: meta("tenant-secret"),
        spec: {
          secretStoreRef: { kind: "SecretStore", name: "vault" },
          target: { name: `tenant-secret-${k}` },
          data: [{ secretKey: "token", remoteRef: { key: `tenant/${at(0)}/token` } }],
        },
      });
    } else {
      objects.push({
        apiVersion: apiVersion("AuthorizationPolicy"),
        kind: "AuthorizationPolicy",
        metadata: meta("tenant-deny-admin"),
        spec: {
          selector: { matchLabels: app(at(0)) },
          action: "DENY",
          rules: [{ to: [{ operation: { paths: ["/admin/*"] } }] }],
        },
      });
    }
  }
  return { objects, widened };
}

/** Applies the objects (as a tenant would: no meshward label), 8 at a time. */
export async function createForeign(client: KubeClient, objects: ForeignObject[]): Promise<void> {
  await pool(objects, 8, (o) =>
    client.apply(
      resourcePath(resource(o.kind), o.metadata.namespace, o.metadata.name),
      o,
      "bench-tenant",
      true,
    ),
  );
}

/** The fleet's profiles ("namespace/name") whose Widened condition is True, as the operator wrote it. */
export async function widenedProfiles(client: KubeClient, fleet: Fleet): Promise<Set<string>> {
  const namespaces = new Set(fleet.namespaces);
  const list = await client.get<{
    items: { metadata: { namespace: string; name: string }; status?: ProfileStatus }[];
  }>(resourcePath(PROFILES));
  return new Set(
    list.items
      .filter((p) => namespaces.has(p.metadata.namespace))
      .filter((p) => p.status?.conditions?.some((c) => c.type === WIDENED && c.status === "True"))
      .map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
  );
}
