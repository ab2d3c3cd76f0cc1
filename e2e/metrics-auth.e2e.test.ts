// Secure /metrics on the real test bed (ADR 13): HTTPS, and only for bearer tokens the API server
// authenticates (TokenReview) whose user may get /metrics (SubjectAccessReview). A ServiceAccount
// without RBAC is refused, one bound to a ClusterRole with the chart's metrics-reader rule reads the
// metrics; the probes stay plain HTTP on the health port. Then the same with a certificate from
// --metrics-cert-dir, which a client verifies.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeClient, type Resource, resourcePath } from "../operator/runtime/client.ts";
import { selfSigned } from "../operator/observability/x509.ts";
import { freePort } from "../test-support/harness/ports.ts";
import { createNamespace, deleteNamespace, kube, serviceAccountToken, waitFor } from "./support/kube.ts";
import { httpsGet, METRICS_READER_RULES } from "./support/metrics.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";

const RBAC = "rbac.authorization.k8s.io";
const CLUSTER_ROLES: Resource = {
  group: RBAC,
  version: "v1",
  plural: "clusterroles",
  kind: "ClusterRole",
  namespaced: false,
};
const CLUSTER_ROLE_BINDINGS: Resource = {
  group: RBAC,
  version: "v1",
  plural: "clusterrolebindings",
  kind: "ClusterRoleBinding",
  namespaced: false,
};
const SERVICE_ACCOUNTS: Resource = {
  group: "",
  version: "v1",
  plural: "serviceaccounts",
  kind: "ServiceAccount",
  namespaced: true,
};

let client: KubeClient;
let ns = "";
let role = "";
let readerToken = "";
let strangerToken = "";
const ops: OperatorProcess[] = [];
const dirs: string[] = [];

/** May `user` get /metrics, by the API server's RBAC? */
async function mayGetMetrics(user: string, namespace: string): Promise<boolean> {
  const r = await client.request<{ status: { allowed: boolean } }>(
    "POST",
    "/apis/authorization.k8s.io/v1/subjectaccessreviews",
    {
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user,
          groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
          nonResourceAttributes: { path: "/metrics", verb: "get" },
        },
      },
    },
  );
  return r.status.allowed;
}

/** The operator on this test's namespace only, with secure metrics and a health port of its own. */
async function secureOperator(name: string, extra: string[] = []): Promise<OperatorProcess> {
  const healthPort = await freePort();
  const op = await startOperator({
    name,
    args: ["--namespaces", ns, "--metrics-secure", "true", "--health-port", String(healthPort), ...extra],
  });
  ops.push(op);
  return op;
}

beforeAll(async () => {
  client = kube();
  ns = await createNamespace(client, "metrics-auth");
  role = `e2e-${ns}-metrics-reader`;
  for (const name of ["scraper", "stranger"])
    await client.request("POST", resourcePath(SERVICE_ACCOUNTS, ns), {
      body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } },
    });
  await client.request("POST", resourcePath(CLUSTER_ROLES), {
    body: {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRole",
      metadata: { name: role },
      rules: METRICS_READER_RULES,
    },
  });
  await client.request("POST", resourcePath(CLUSTER_ROLE_BINDINGS), {
    body: {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: role },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: role },
      subjects: [{ kind: "ServiceAccount", name: "scraper", namespace: ns }],
    },
  });
  readerToken = await serviceAccountToken(client, ns, "scraper");
  strangerToken = await serviceAccountToken(client, ns, "stranger");
  // The authorizer sees a new binding a moment later; a 403 before then would be cached.
  await waitFor("the metrics-reader binding to take effect", () =>
    mayGetMetrics(`system:serviceaccount:${ns}:scraper`, ns),
  );
  expect(await mayGetMetrics(`system:serviceaccount:${ns}:stranger`, ns)).toBe(false);
});

afterAll(async () => {
  for (const op of ops) await op.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  await client.delete(resourcePath(CLUSTER_ROLE_BINDINGS, undefined, role)).catch(() => undefined);
  await client.delete(resourcePath(CLUSTER_ROLES, undefined, role)).catch(() => undefined);
  await deleteNamespace(client, ns);
});

describe("secure metrics", () => {
  it("401 without a token or with a forged one, 403 without RBAC, 200 for the metrics reader", async () => {
    const op = await secureOperator("operator-metrics-auth");
    // Plain HTTP gets nothing from the TLS port.
    expect(await fetch(`http://127.0.0.1:${op.port}/metrics`).catch(() => "no answer")).toBe("no answer");

    const anonymous = await httpsGet(op.port, "/metrics");
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).not.toContain("meshward_");
    // The self-signed certificate made at start.
    expect(anonymous.cert.subject.CN).toBe("meshward-metrics");
    expect(anonymous.cert.subjectaltname).toContain("DNS:localhost");
    expect(anonymous.cert.subjectaltname).toContain("IP Address:127.0.0.1");

    expect((await httpsGet(op.port, "/metrics", { token: "not-a-token" })).status).toBe(401);
    // The reader's token with one more character is not the reader's.
    expect((await httpsGet(op.port, "/metrics", { token: `${readerToken}x` })).status).toBe(401);

    const stranger = await httpsGet(op.port, "/metrics", { token: strangerToken });
    expect(stranger.status).toBe(403);
    expect(stranger.body).toBe(
      `Forbidden: user "system:serviceaccount:${ns}:stranger" cannot get path "/metrics"\n`,
    );

    const reader = await httpsGet(op.port, "/metrics", { token: readerToken });
    expect(reader.status).toBe(200);
    expect(reader.body).toMatch(/^meshward_build_info\{version="[^"]+",nodejs_version="v24\./m);
    expect(reader.body).toContain(
      'controller_runtime_max_concurrent_reconciles{controller="servicesecurityprofile"}',
    );
    // Again, from the cache: the same answer.
    expect((await httpsGet(op.port, "/metrics", { token: readerToken })).status).toBe(200);

    // The probes: plain HTTP on the health port, and only there.
    const ready = await fetch(`http://127.0.0.1:${op.healthPort}/readyz`);
    expect(ready.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${op.healthPort}/metrics`)).status).toBe(404);
    expect((await httpsGet(op.port, "/readyz", { token: readerToken })).status).toBe(404);

    // No token reached the log.
    const log = op.log();
    for (const t of [readerToken, strangerToken]) expect(log).not.toContain(t);
    expect(log).toContain('"metrics":"https://127.0.0.1:');
  });

  it("serves the certificate of --metrics-cert-dir, which a client verifies", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-e2e-metrics-tls-"));
    dirs.push(dir);
    const now = Date.now();
    const kc = selfSigned({
      commonName: "meshward-e2e-metrics",
      dnsNames: ["meshward-metrics.e2e.svc"],
      ipAddresses: ["127.0.0.1"],
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
    });
    fs.writeFileSync(path.join(dir, "tls.crt"), kc.cert);
    fs.writeFileSync(path.join(dir, "tls.key"), kc.key, { mode: 0o600 });
    const op = await secureOperator("operator-metrics-cert-dir", ["--metrics-cert-dir", dir]);
    const verified = await httpsGet(op.port, "/metrics", { token: readerToken, ca: kc.cert });
    expect(verified.authorized).toBe(true);
    expect(verified.cert.subject.CN).toBe("meshward-e2e-metrics");
    expect(verified.status).toBe(200);
    expect(verified.body).toContain("meshward_build_info");
    const byName = await httpsGet(op.port, "/metrics", {
      ca: kc.cert,
      servername: "meshward-metrics.e2e.svc",
    });
    expect(byName.status).toBe(401);
    // Another CA does not verify it.
    const other = selfSigned({
      commonName: "someone-else",
      dnsNames: [],
      ipAddresses: ["127.0.0.1"],
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
    });
    await expect(httpsGet(op.port, "/metrics", { ca: other.cert })).rejects.toThrow(
      /self-signed|certificate/,
    );
  });
});
