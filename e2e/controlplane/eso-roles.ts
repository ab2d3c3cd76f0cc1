// External Secrets Operator's user-facing ClusterRoles, rendered by the real helm from ESO's own chart
// (in the pinned module, read from the Go module cache), with the chart's default values: its
// `-edit` role is aggregated into the built-in `edit` and `admin` roles, so a tenant bound to `edit`
// may create ExternalSecrets, SecretStores and PushSecrets. Only the RBAC template is rendered.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { TestbedError, ensureHelm, goModDownload } from "./build.ts";
import { upstreamPins } from "./upstream.ts";

const CHART = "deploy/charts/external-secrets";

/**
 * The ClusterRoles of ESO's chart (release `release`) that aggregate into the built-in roles. The
 * chart declares an optional OCI sub-chart (bitwarden-sdk-server, disabled by default) that helm
 * would insist on finding; a copy of the chart without that declaration is rendered instead.
 */
export async function esoAggregatedRoles(release: string): Promise<KubernetesObject[]> {
  const pin = upstreamPins().externalSecrets;
  const dl = goModDownload(pin.module, pin.version);
  if (!dl.Dir)
    throw new TestbedError(`go mod download ${pin.module}@${pin.version}: ${dl.Error ?? "no directory"}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "eso-chart-"));
  try {
    const chart = path.join(tmp, "external-secrets");
    fs.cpSync(path.join(dl.Dir, CHART), chart, { recursive: true });
    fs.chmodSync(chart, 0o755);
    const chartYaml = path.join(chart, "Chart.yaml");
    fs.chmodSync(chartYaml, 0o644);
    fs.writeFileSync(
      chartYaml,
      fs.readFileSync(chartYaml, "utf8").replace(/^dependencies:\n(?:[ -].*\n)*/m, ""),
    );
    const { helm } = await ensureHelm();
    const r = spawnSync(helm, ["template", release, chart, "--show-only", "templates/rbac.yaml"], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new TestbedError(`helm template of ESO's chart failed: ${r.stderr}`);
    return parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as KubernetesObject | null)
      .filter(
        (o): o is KubernetesObject =>
          o?.kind === "ClusterRole" &&
          Object.keys(o.metadata?.labels ?? {}).some((k) =>
            k.startsWith("rbac.authorization.k8s.io/aggregate-to-"),
          ),
      );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
