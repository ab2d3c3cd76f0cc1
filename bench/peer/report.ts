// Writes the side-by-side section of docs/benchmarks.md, one per N (between two markers; the rest of the file is kept).
import { writeSection } from "../section.ts";

/** The section of docs/benchmarks.md this command owns: one per N. */
export const peerSectionId = (profiles: number) => `peer N=${profiles}`;

export interface Report {
  started: string;
  finished: string;
  command: string;
  profiles: number;
  perNamespace: number;
  quietMinutes: number;
  deletions: number;
  edits: number;
  kubernetesVersion: string;
  kyvernoVersion: string;
  kyvernoCommands: { admission: string[]; background: string[] };
  meshwardArgs: string[];
  machine: string;
  load: { start: string; kyverno: string; meshward: string; end: string };
  table: string;
  kyvernoTimeoutMinutes: number;
  raw: unknown;
}

const redact = (args: string[]) =>
  args.map((a) => (a.startsWith("--kubeconfig=") ? "--kubeconfig=<service account kubeconfig>" : a));

export function renderSection(r: Report): string {
  return [
    `## Side by side: Kyverno generate rules (N = ${r.profiles})`,
    "",
    `\`${r.command}\` (bench/peer/). Started ${r.started}, finished ${r.finished}.`,
    "",
    `- Machine: ${r.machine}; Kubernetes ${r.kubernetesVersion} (local test bed, same machine). The machine is shared with other jobs: load averages (1, 5, 15 min) at the start ${r.load.start}; at the end of Kyverno's run ${r.load.kyverno}; at the end of meshward's ${r.load.meshward}; at the end ${r.load.end}.`,
    `- Work: ${r.profiles} ServiceSecurityProfiles in ${Math.ceil(r.profiles / r.perNamespace)} new namespaces (${r.perNamespace} each), applied by the admin user 8 requests at a time; each profile selects \`app: <name>\` and admits port 8080 from the gateways namespace. Both sides must create, per profile, a ServiceAccount, PeerAuthentication, AuthorizationPolicy and NetworkPolicy, and per namespace the default-deny NetworkPolicy: the objects meshward's builders produce (checked on one profile and namespace after the run).`,
    '- Each side runs on a fresh test bed whose API server audits every request (reads too) at Metadata level; each controller uses its own ServiceAccount token, so its requests are counted from the audit log by user. Time runs from the first namespace applied to the poll (every 500 ms) that sees every expected object. "Until settled" ends 10 s after the controller\'s last write other than a lease renewal.',
    `- Probes: ${r.deletions} deletions of generated objects (the four kinds in turn), each timed until an object with a new UID is back (polling every 5 ms for 1 s, then 50 ms; 60 s bound); ${r.edits} edits of a generated NetworkPolicy (merge patch \`policyTypes: [Ingress]\` by another field manager), each timed until it is put back. Then ${r.quietMinutes} quiet minutes${r.quietMinutes < 10 ? " (shortened with --quiet-minutes; the issue asks for 10)" : ""}.`,
    "",
    r.table,
    "",
    "### Configuration",
    "",
    `- **Kyverno ${r.kyvernoVersion}**, built from the Go module proxy (e2e/controlplane/kyverno/), admission controller and background controller as local processes. Installed from the module's \`config/crds\` and \`config/install-latest-testing.yaml\` without its Deployments and Services (upstream's way of running Kyverno outside the cluster): namespace, ServiceAccounts, RBAC and the \`kyverno\` and \`kyverno-metrics\` ConfigMaps as released. Added: aggregated ClusterRoles (\`rbac.kyverno.io/aggregate-to-*-controller\`) that let both controllers manage ServiceAccounts, NetworkPolicies, PeerAuthentications and AuthorizationPolicies, as Kyverno's docs ask for generate rules. Each controller uses its ServiceAccount's token. Leader election as Kyverno runs it (Leases in \`kyverno\`, one replica each). The reports and cleanup controllers do not run. Flags: the Deployment's args from the install manifest, then the local-run overrides:`,
    `  - admission controller: \`${redact(r.kyvernoCommands.admission).join(" ")}\``,
    `  - background controller: \`${redact(r.kyvernoCommands.background).join(" ")}\``,
    "- **Kyverno policy**: one ClusterPolicy, `background: true`, five `generate` rules with `data` and `synchronize: true`: four triggered by ServiceSecurityProfiles (one per object; names and selectors from `{{request.object...}}`), one triggered by namespaces labelled `meshward.io/bench-peer: \"true\"` for the default deny. The rules' data is rendered by meshward's own builders (bench/peer/policy.ts).",
    `- **meshward** (this commit), the compiled operator run as the image's ENTRYPOINT runs it (\`dist/operator/main.js ${r.meshwardArgs.join(" ")}\`, the Dockerfile's node flags) with a ServiceAccount bound to cluster-admin (the chart's narrower RBAC is not applied here), one process, leader election off (\`--leader-election false\`, as in \`npm run bench\`: in a trial run on this loaded machine meshward lost its lease and exited), so it writes no lease renewals; compare the rows without lease renewals.`,
    `- Time bound for creating the objects: ${r.kyvernoTimeoutMinutes} min per side.`,
    "",
    "<details><summary>Raw figures (JSON)</summary>",
    "",
    "```json",
    JSON.stringify(r.raw, null, 2),
    "```",
    "",
    "</details>",
  ].join("\n");
}

export function writeReport(file: string, r: Report): void {
  writeSection(file, peerSectionId(r.profiles), renderSection(r));
}
