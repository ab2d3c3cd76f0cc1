// GitOps the way Argo CD does it, against the real API server and the real operator: profiles in a
// Git repository; a sync reads the files at HEAD and server-side applies each profile with Argo CD's
// field manager, tracking annotation and instance label; a sync with prune deletes the live profiles
// this Application tracks that are no longer in Git. meshward's objects must never look like part of
// the Application: a repeated sync changes none of them, pruning a profile takes only its own
// objects, and none carries Argo CD's tracking metadata.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { type ArgocdLua, argocdLua } from "../argocd/harness.ts";
import { MANAGED_BY, MANAGED_BY_LABEL, NAMESPACE_DEFAULT_DENY } from "../operator/builders/meta.ts";
import { CHILD_KINDS, PROFILES } from "../operator/reconcile/kinds.ts";
import type { KubeClient, KubeObjectLike, ListResult } from "../operator/runtime/client.ts";
import { resourcePath } from "../operator/runtime/client.ts";
import { listIfServed } from "./support/converge.ts";
import { createNamespace, deleteNamespace, kube, waitFor } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { getProfile, type ProfileObject, waitCondition } from "./support/profiles.ts";

const APP = "payments";
const FIELD_MANAGER = "argocd-controller";
const TRACKING_ID = "argocd.argoproj.io/tracking-id";
const INSTANCE_LABEL = "app.kubernetes.io/instance";

let client: KubeClient;
let lua: ArgocdLua;
let op: OperatorProcess;
let namespace = "";
let repo = "";

beforeAll(async () => {
  client = kube();
  lua = await argocdLua();
  namespace = await createNamespace(client, "gitops");
  // Scoped to the Application's namespace, so what other test files left behind (namespaces still
  // being deleted) cannot add to this operator's queue or write counts.
  op = await startOperator({ name: "operator-gitops", args: ["--namespaces", namespace] });
  repo = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-gitops-"));
});
afterAll(async () => {
  await op?.stop();
  if (namespace) await deleteNamespace(client, namespace);
  if (repo) fs.rmSync(repo, { recursive: true, force: true });
});

// --- Git ---------------------------------------------------------------------------------------

function git(...args: string[]): string {
  return execFileSync("git", args, {
    cwd: repo,
    encoding: "utf8",
    // Only this repository's own config: no user or system settings (signing, hooks, templates).
    env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
  });
}

function initRepo(): void {
  git("init", "-q", "-b", "main");
  git("config", "user.name", "Service Team");
  git("config", "user.email", "team@example.com");
}

/** Writes (or, for null, removes) files and commits them; returns the new HEAD. */
function commit(message: string, files: Record<string, string | null>): string {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(repo, rel);
    if (content === null) git("rm", "-q", rel);
    else {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      git("add", rel);
    }
  }
  git("commit", "-q", "-m", message);
  return git("rev-parse", "HEAD").trim();
}

/** Every object in the YAML files of HEAD, as Argo CD's repo server renders a plain directory. */
function manifestsAtHead(): KubeObjectLike[] {
  const out: KubeObjectLike[] = [];
  for (const file of git("ls-tree", "-r", "--name-only", "HEAD").split("\n")) {
    if (!/\.ya?ml$/.test(file)) continue;
    for (const doc of parseAllDocuments(git("show", `HEAD:${file}`))) {
      const obj = doc.toJS() as KubeObjectLike | null;
      if (obj) out.push(obj);
    }
  }
  return out;
}

// --- "Argo CD" -----------------------------------------------------------------------------------

/** Argo CD's annotation tracking id: <app>:<group>/<kind>:<namespace>/<name>. */
function trackingId(app: string, name: string): string {
  return `${app}:${PROFILES.group}/${PROFILES.kind}:${namespace}/${name}`;
}

interface SyncResult {
  applied: string[];
  pruned: string[];
}

/**
 * One sync of the Application: server-side apply of every profile in Git (destination namespace
 * filled in, tracking annotation and instance label added, conflicts forced), then, with prune,
 * foreground deletion of the live profiles that carry this Application's tracking id and are not
 * in Git any more.
 */
async function sync(app: string, opts: { prune: boolean }): Promise<SyncResult> {
  const result: SyncResult = { applied: [], pruned: [] };
  const inGit = new Set<string>();
  for (const manifest of manifestsAtHead()) {
    if (manifest.kind !== PROFILES.kind) throw new Error(`unexpected ${manifest.kind} in Git`);
    const obj = structuredClone(manifest);
    const meta = (obj.metadata ??= {});
    meta.namespace ??= namespace;
    const id = trackingId(app, meta.name ?? "");
    meta.annotations = { ...meta.annotations, [TRACKING_ID]: id };
    meta.labels = { ...meta.labels, [INSTANCE_LABEL]: app };
    await client.apply(resourcePath(PROFILES, meta.namespace, meta.name), obj, FIELD_MANAGER, true);
    inGit.add(id);
    result.applied.push(meta.name ?? "");
  }
  if (opts.prune) {
    const live = await client.get<ListResult<KubeObjectLike>>(resourcePath(PROFILES, namespace));
    for (const o of live.items) {
      const id = o.metadata?.annotations?.[TRACKING_ID];
      // Only what this Application tracks, by the id it would have written for this very object.
      if (id === undefined || id !== trackingId(app, o.metadata?.name ?? "")) continue;
      if (inGit.has(id) || o.metadata?.deletionTimestamp) continue;
      await client.request("DELETE", resourcePath(PROFILES, namespace, o.metadata?.name), {
        body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground" },
        verb: "delete",
      });
      result.pruned.push(o.metadata?.name ?? "");
    }
  }
  return result;
}

// --- What meshward generated -----------------------------------------------------------------------

interface Child {
  kind: string;
  name: string;
  resourceVersion: string;
  owner: string | undefined;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Every object in the namespace labelled as meshward's, by "Kind/name". */
async function children(): Promise<Map<string, Child>> {
  const out = new Map<string, Child>();
  for (const k of CHILD_KINDS) {
    // Gateway (ambient waypoints) is served only while a file installs the Gateway API CRDs.
    const items = await listIfServed(
      client,
      `${resourcePath(k.resource, namespace)}?labelSelector=${encodeURIComponent(`${MANAGED_BY_LABEL}=${MANAGED_BY}`)}`,
    );
    for (const o of items) {
      const name = o.metadata?.name ?? "";
      out.set(`${k.resource.kind}/${name}`, {
        kind: k.resource.kind,
        name,
        resourceVersion: o.metadata?.resourceVersion ?? "",
        owner: o.metadata?.ownerReferences?.find((r) => r.controller)?.name,
        labels: o.metadata?.labels ?? {},
        annotations: o.metadata?.annotations ?? {},
      });
    }
  }
  return out;
}

function versions(m: Map<string, Child>): Record<string, string> {
  return Object.fromEntries([...m].map(([k, c]) => [k, c.resourceVersion]).sort());
}

/** Waits until the operator has nothing queued, then a little longer for stragglers. */
async function settled(): Promise<void> {
  await waitFor("the operator's queue to drain", async () => (await op.metric("workqueue_depth")) === 0);
  await new Promise((r) => setTimeout(r, 1500));
  expect(await op.metric("workqueue_depth")).toBe(0);
}

function profileFile(name: string, spec: Record<string, unknown>): string {
  return stringify({
    apiVersion: "meshward.io/v1alpha1",
    kind: "ServiceSecurityProfile",
    metadata: { name },
    spec,
  });
}

const PROFILE_FILES: Record<string, string> = {
  "services/web.yaml": profileFile("web", {
    selector: { app: "web" },
    ingress: [{ from: [{ namespace: "gateways" }], ports: [8080] }],
    egress: { to: [{ service: "api", ports: [8080] }] },
  }),
  "services/api.yaml": profileFile("api", {
    selector: { app: "api" },
    ingress: [{ from: [{ service: "web" }], ports: [8080], http: { methods: ["GET", "POST"] } }],
    secrets: [
      {
        name: "api-db",
        storeRef: { name: "vault" },
        data: [{ secretKey: "password", remoteRef: { key: "db" } }],
      },
    ],
  }),
  "services/worker.yaml": profileFile("worker", {
    selector: { app: "worker" },
    egress: { to: [{ cidr: "10.30.0.0/16", ports: [5432] }] },
  }),
};

/**
 * No External Secrets Operator runs in this test: api's secret is never synced, which Argo CD shows
 * as Progressing (waiting for it), not Healthy and not Degraded.
 */
function expectedHealth(name: string) {
  return name === "api"
    ? { status: "Progressing", message: expect.stringContaining("not synced yet") as unknown }
    : { status: "Healthy" };
}

describe("GitOps: profiles synced from Git like Argo CD does", () => {
  let first: Map<string, Child>;

  it("a first sync creates the profiles; meshward makes their objects, none carrying Argo CD's tracking", async () => {
    initRepo();
    commit("three services", PROFILE_FILES);
    const r = await sync(APP, { prune: true });
    expect(r.applied.sort()).toEqual(["api", "web", "worker"]);
    expect(r.pruned).toEqual([]);
    for (const name of ["web", "api", "worker"]) {
      const p = await waitCondition(client, namespace, name);
      expect(p.metadata?.annotations?.[TRACKING_ID]).toBe(
        `${APP}:meshward.io/ServiceSecurityProfile:${namespace}/${name}`,
      );
      expect(p.metadata?.labels?.[INSTANCE_LABEL]).toBe(APP);
      expect(p.metadata?.managedFields?.some((f) => f.manager === FIELD_MANAGER)).toBe(true);
      expect(lua.health(p)).toMatchObject(expectedHealth(name));
    }
    await settled();
    first = await children();
    expect([...first.keys()].sort()).toEqual([
      "AuthorizationPolicy/api",
      "AuthorizationPolicy/web",
      "AuthorizationPolicy/worker",
      "ExternalSecret/api-db",
      "NetworkPolicy/api",
      `NetworkPolicy/${NAMESPACE_DEFAULT_DENY}`,
      "NetworkPolicy/web",
      "NetworkPolicy/worker",
      "PeerAuthentication/api",
      "PeerAuthentication/web",
      "PeerAuthentication/worker",
      "ServiceAccount/api",
      "ServiceAccount/web",
      "ServiceAccount/worker",
    ]);
    for (const [key, c] of first) {
      expect(c.labels[INSTANCE_LABEL], key).toBeUndefined();
      const argo = [...Object.keys(c.labels), ...Object.keys(c.annotations)].filter((k) =>
        k.startsWith("argocd.argoproj.io/"),
      );
      expect(argo, key).toEqual([]);
      // Argo CD shows it as a child of its profile through the owner reference (all but the shared deny).
      if (c.name !== NAMESPACE_DEFAULT_DENY)
        expect(c.owner, key).toBe(key === "ExternalSecret/api-db" ? "api" : c.name);
      else expect(c.owner, key).toBeUndefined();
    }
  });

  it("a second sync of the same commit changes nothing meshward made, and meshward writes nothing", async () => {
    const writes = await op.writes();
    const profilesBefore = await Promise.all(
      ["web", "api", "worker"].map(
        async (n) => (await getProfile(client, namespace, n))?.metadata?.resourceVersion,
      ),
    );
    const r = await sync(APP, { prune: true });
    expect(r.pruned).toEqual([]);
    await settled();
    expect(versions(await children())).toEqual(versions(first));
    expect(await op.writes()).toBe(writes);
    // Server-side apply of an unchanged manifest is itself a no-op: the profiles did not change either.
    const profilesAfter = await Promise.all(
      ["web", "api", "worker"].map(
        async (n) => (await getProfile(client, namespace, n))?.metadata?.resourceVersion,
      ),
    );
    expect(profilesAfter).toEqual(profilesBefore);
  });

  it("a metadata-only change in Git (a new label) is reconciled with zero writes, and the label stays on the profile", async () => {
    const writes = await op.writes();
    const reconciles = await op.metric("controller_runtime_reconcile_total");
    const before = await getProfile(client, namespace, "web");
    const labelled = profileFile("web", {
      selector: { app: "web" },
      ingress: [{ from: [{ namespace: "gateways" }], ports: [8080] }],
      egress: { to: [{ service: "api", ports: [8080] }] },
    }).replace("  name: web\n", "  name: web\n  labels:\n    team: payments\n");
    commit("label web", { "services/web.yaml": labelled });
    await sync(APP, { prune: true });
    const after = await getProfile(client, namespace, "web");
    expect(after?.metadata?.labels?.team).toBe("payments");
    expect(after?.metadata?.resourceVersion).not.toBe(before?.metadata?.resourceVersion);
    expect(after?.metadata?.generation).toBe(before?.metadata?.generation);
    await waitFor(
      "meshward to reconcile the relabelled profile",
      async () => (await op.metric("controller_runtime_reconcile_total")) > reconciles,
    );
    await settled();
    expect(await op.writes()).toBe(writes);
    const now = await children();
    expect(versions(now)).toEqual(versions(first));
    for (const [key, c] of now) expect(c.labels.team, key).toBeUndefined();
  });

  it("removing a profile from Git and syncing with prune deletes it and its objects, and leaves the others as they were", async () => {
    commit("worker is gone", { "services/worker.yaml": null });
    const r = await sync(APP, { prune: true });
    expect(r.pruned).toEqual(["worker"]);
    await waitFor(
      "the worker profile and its objects to be gone",
      async () => {
        if (await getProfile(client, namespace, "worker")) return false;
        const now = await children();
        return ![...now.values()].some((c) => c.owner === "worker");
      },
      60_000,
    );
    await settled();
    const after = await children();
    const expected = Object.fromEntries(
      Object.entries(versions(first)).filter(([k]) => !k.endsWith("/worker")),
    );
    expect(versions(after)).toEqual(expected);
    for (const name of ["web", "api"]) {
      const p = (await getProfile(client, namespace, name)) as ProfileObject;
      expect(lua.health(p)).toMatchObject(expectedHealth(name));
    }
  });
});
