// The test bed itself, and our generated objects and CRD on a real API server.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, KIND } from "../operator/api/schema.ts";
import { DEFAULT_PLATFORM } from "../operator/builders/context.ts";
import { loadProfiles } from "../operator/cli/load.ts";
import { render } from "../operator/cli/render.ts";
import { ApiError, type KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";
import { CHILD_KINDS, PROFILES } from "../operator/reconcile/kinds.ts";
import {
  CONFIGMAPS,
  createNamespace,
  getOrUndefined,
  kube,
  NAMESPACES,
  waitFor,
  testNamespaces,
} from "./support/kube.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
let client: KubeClient;
const ns = testNamespaces();

beforeAll(() => {
  client = kube();
});

function profileBody(name: string, namespace: string, spec: Record<string, unknown>) {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec };
}

describe("test bed", () => {
  it("serves the Kubernetes version it was built as", async () => {
    const v = await client.get<{ gitVersion: string }>("/version");
    expect(v.gitVersion).toMatch(/^v1\.3[67]\.\d+/);
  });

  it("has the upstream CRDs and ours established", async () => {
    const crds = await client.get<{
      items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
    }>("/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
    const established = new Set(
      crds.items
        .filter((c) => c.status?.conditions?.some((x) => x.type === "Established" && x.status === "True"))
        .map((c) => c.metadata.name),
    );
    for (const name of [
      "servicesecurityprofiles.meshward.io",
      "peerauthentications.security.istio.io",
      "authorizationpolicies.security.istio.io",
      "requestauthentications.security.istio.io",
      "externalsecrets.external-secrets.io",
    ]) {
      expect(established, name).toContain(name);
    }
    // Opt-in only (e2e/cluster-tier.e2e.test.ts installs it and removes it again).
    expect(crds.items.map((c) => c.metadata.name)).not.toContain(
      "clusternetworkpolicies.policy.networking.k8s.io",
    );
  });
});

describe("generated objects on a real API server", () => {
  it("accepts every object `meshward render examples/fleet` produces (server-side dry-run apply)", async () => {
    const target = await ns("dryrun");
    const loaded = loadProfiles([path.join(ROOT, "examples/fleet")]);
    expect(loaded.problems).toEqual([]);
    const { objects, problems } = render(loaded.profiles, {
      trustDomain: "cluster.local",
      meshMode: "sidecar",
      defaults: DEFAULT_PLATFORM,
      now: new Date(),
    });
    expect(problems).toEqual([]);
    const ambient = render(loaded.profiles, {
      trustDomain: "cluster.local",
      meshMode: "ambient",
      defaults: DEFAULT_PLATFORM,
      now: new Date(),
    });
    // The ambient waypoint's Gateway is checked against the Gateway API CRDs by
    // e2e/ambient-objects.e2e.test.ts; the test bed serves that API only while a file installs it.
    const all = [...objects, ...ambient.objects].filter((o) => o.kind !== "Gateway");
    expect(all.length).toBeGreaterThan(20);
    const kinds = new Set<string>();
    for (const o of all) {
      const kind = CHILD_KINDS.find((k) => k.resource.kind === o.kind);
      expect(kind, o.kind).toBeDefined();
      if (!kind) continue;
      kinds.add(o.kind);
      // The fleet's own namespaces are not needed: the schema check is what is tested.
      const obj = { ...o, metadata: { ...o.metadata, namespace: target } };
      const res = await client.apply<KubeObjectLike>(
        resourcePath(kind.resource, target, o.metadata.name),
        obj,
        "meshward-e2e",
        true,
        {
          dryRun: "All",
          fieldValidation: "Strict",
        },
      );
      expect(res.metadata?.name).toBe(o.metadata.name);
    }
    expect([...kinds].sort()).toEqual([
      "AuthorizationPolicy",
      "ExternalSecret",
      "NetworkPolicy",
      "PeerAuthentication",
      "RequestAuthentication",
      "ServiceAccount",
      "Telemetry",
    ]);
    // Nothing was persisted by the dry run.
    const sa = await client.get<{ items: unknown[] }>(
      resourcePath(CHILD_KINDS[0]!.resource, target) + "?labelSelector=app.kubernetes.io/managed-by=meshward",
    );
    expect(sa.items).toEqual([]);
  });

  it("accepts every example of the fleet as a profile", async () => {
    const target = await ns("fleet");
    for (const l of loadProfiles([path.join(ROOT, "examples/fleet")]).profiles) {
      const raw = parse(fs.readFileSync(l.file, "utf8")) as KubeObjectLike;
      raw.metadata = { ...raw.metadata, namespace: target };
      await client.request("POST", resourcePath(PROFILES, target), {
        body: raw,
        query: { fieldValidation: "Strict", dryRun: "All" },
      });
    }
  });

  const invalidDir = path.join(ROOT, "examples/invalid");
  for (const f of fs.readdirSync(invalidDir).filter((x) => x.endsWith(".yaml"))) {
    const text = fs.readFileSync(path.join(invalidDir, f), "utf8");
    const header = (k: string) => new RegExp(`^# ${k}: (.*)$`, "m").exec(text)?.[1]?.trim() ?? "";
    if (!header("crd").startsWith("yes")) continue;
    it(`rejects examples/invalid/${f} at apply time with our message`, async () => {
      const target = await ns("invalid");
      const raw = parse(text) as KubeObjectLike;
      raw.metadata = { ...raw.metadata, namespace: target };
      const err = await client
        .request("POST", resourcePath(PROFILES, target), { body: raw, query: { fieldValidation: "Strict" } })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, "the API server accepted it").toBeInstanceOf(ApiError);
      const e = err as ApiError;
      expect([400, 422]).toContain(e.status); // 400 for unknown fields (strict field validation)
      expect(e.message).toContain(header("crd-message") || header("expect-message"));
      const p = header("expect-path");
      expect(e.message).toContain(p.replace(/^spec\./, "spec."));
    });
  }
});

describe("kube-controller-manager", () => {
  it("garbage-collects a child when its profile is deleted", async () => {
    const target = await ns("gc");
    const p = await client.request<KubeObjectLike>("POST", resourcePath(PROFILES, target), {
      body: profileBody("owner", target, { selector: { app: "owner" } }),
    });
    const uid = p.metadata?.uid as string;
    await client.request("POST", resourcePath(CONFIGMAPS, target), {
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: "child",
          namespace: target,
          ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: "owner", uid, controller: true }],
        },
        data: { a: "b" },
      },
    });
    await client.delete(resourcePath(PROFILES, target, "owner"));
    await waitFor(
      "the child to be garbage-collected",
      async () => (await getOrUndefined(client, resourcePath(CONFIGMAPS, target, "child"))) === undefined,
      60_000,
    );
  });

  it("deletes a namespace that holds profiles completely", async () => {
    const target = await createNamespace(client, "nsdel");
    for (const name of ["a", "b"]) {
      await client.request("POST", resourcePath(PROFILES, target), {
        body: profileBody(name, target, { selector: { app: name } }),
      });
    }
    await client.delete(resourcePath(NAMESPACES, undefined, target));
    await waitFor(
      "the namespace to be gone",
      async () => (await getOrUndefined(client, resourcePath(NAMESPACES, undefined, target))) === undefined,
      90_000,
    );
  });
});
