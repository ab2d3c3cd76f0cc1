// meshward's findings kept as OpenReports (--openreports; the builder is operator/reports/build.ts):
// for a namespace key, the Report "meshward" of the namespace from its profiles (validation
// problems, and what the policies found as their status says); for the cluster key, the
// ClusterReport "meshward" from the MeshwardPolicies' status. Written with server-side apply under
// its own field manager, and only when the content changed: the lean cache keeps a hash of each
// live report's content (so an edit behind meshward's back is seen and undone), and the last write
// is remembered until its watch event arrives. Deleted when its namespace has no profile left (or no policy is left). Where the CRDs
// are not installed nothing is done, and that is logged once.
import { createHash } from "node:crypto";
import type { MeshwardPolicy } from "../api/policy.ts";
import type { Profile } from "../api/schema.ts";
import { isError, type Problem } from "../api/validate.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../builders/meta.ts";
import { governingPolicies } from "../policy/combine.ts";
import { defaultNamespaceLabels } from "../policy/fleet.ts";
import {
  buildClusterReport,
  buildNamespaceReport,
  type FindingInput,
  guardrailRules,
  type OpenReport,
  type PolicyInput,
  type ProfileInput,
  REPORT_NAME,
} from "../reports/build.ts";
import { type KubeClient, type KubeObjectLike, resourcePath } from "../runtime/client.ts";
import { isConflict, isNotFound } from "../runtime/errors.ts";
import type { InformerState } from "../runtime/informer.ts";
import type { Result } from "../runtime/queue.ts";
import { CLUSTER_REPORTS, REPORTS } from "./kinds.ts";
import { CLUSTER_REPORT_KEY, reportKey } from "./keys.ts";

export const REPORTS_FIELD_MANAGER = "meshward-reports";
/** How soon to look again while a report cache is still listing (or failing: it logs why). */
const NOT_READY_MS = 5_000;

type Log = { info(o: object, m: string): void; warn(o: object, m: string): void };

export interface ReportReads {
  profilesIn(namespace: string): Iterable<KubeObjectLike>;
  validate(raw: KubeObjectLike): { profile: Profile | undefined; problems: Problem[] };
  validPolicies(): MeshwardPolicy[];
  policies(): Iterable<KubeObjectLike>;
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  namespaceTerminating(namespace: string): boolean;
  /** The cached Report of ours in a namespace (lean: no results) and the cache's state. */
  report(namespace: string): { state: InformerState; object: KubeObjectLike | undefined };
  clusterReport(): { state: InformerState; object: KubeObjectLike | undefined };
}

export interface ReportWrites {
  /** Server-side apply; `uid` (the cached object's) is a precondition and allows taking fields over. */
  apply(report: OpenReport, uid: string | undefined): Promise<void>;
  remove(kind: OpenReport["kind"], namespace: string | undefined, uid: string): Promise<void>;
}

/** A cached report: metadata and the hash of its content, not its results. */
export type LeanReport = KubeObjectLike & { contentHash: string };

/** A report as the cache keeps it: metadata and the hash of its content (reportHash). */
export function leanReport(o: KubeObjectLike): LeanReport {
  const m = o.metadata ?? {};
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: m.name,
      ...(m.namespace && { namespace: m.namespace }),
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      ...(m.deletionTimestamp && { deletionTimestamp: m.deletionTimestamp }),
    },
    contentHash: reportHash(o),
  } as LeanReport;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, x]) => [k, canonical(x)]),
    );
  return v;
}

/** The hash of what a report says (not its metadata), the same for the built and the live object. */
export function reportHash(r: object): string {
  const { source, configuration, summary, results } = r as Partial<OpenReport>;
  return createHash("sha256")
    .update(JSON.stringify(canonical({ source, configuration, summary, results })))
    .digest("hex")
    .slice(0, 32);
}

type Status = {
  policy?: { findings?: FindingInput[] };
  problems?: { path: string; message: string }[];
  conditions?: { type: string; status: string; reason?: string }[];
};

export class ReportsReconciler {
  /** The hash last written per key, until the cache's event for that report arrives. */
  private readonly written = new Map<string, string>();
  private readonly absentLogged = new Set<string>();

  private readonly reads: ReportReads;
  private readonly writes: ReportWrites;
  private readonly log: Log;

  constructor(reads: ReportReads, writes: ReportWrites, log: Log) {
    this.reads = reads;
    this.writes = writes;
    this.log = log;
  }

  /** The cache has an event for this report: it is at least as new as our last write. */
  observed(key: string): void {
    this.written.delete(key);
  }

  async reconcile(key: string, namespace: string | undefined): Promise<Result> {
    const cached = namespace === undefined ? this.reads.clusterReport() : this.reads.report(namespace);
    const kind = namespace === undefined ? "ClusterReport" : "Report";
    if (cached.state === "absent") {
      if (!this.absentLogged.has(kind)) {
        this.absentLogged.add(kind);
        this.log.info(
          { kind, crd: `${kind === "Report" ? REPORTS.plural : CLUSTER_REPORTS.plural}.openreports.io` },
          "openreports: the CRD is not installed; no report is written until it is",
        );
      }
      return;
    }
    this.absentLogged.delete(kind);
    if (cached.state !== "synced") return { requeueAfterMs: NOT_READY_MS };
    if (namespace !== undefined && this.reads.namespaceTerminating(namespace)) return;
    const desired = namespace === undefined ? this.clusterDesired() : this.namespaceDesired(namespace);
    const live = cached.object;
    if (!desired) {
      this.written.delete(key);
      const uid = live?.metadata?.uid;
      if (!live || !uid || live.metadata?.deletionTimestamp) return;
      try {
        await this.writes.remove(kind, namespace, uid);
      } catch (e) {
        // Already gone, or replaced behind the cache (the uid precondition): nothing of ours to delete.
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
      this.log.info({ key, kind }, "openreports: nothing left to report; deleted");
      return;
    }
    const hash = reportHash(desired);
    if ((live as Partial<LeanReport> | undefined)?.contentHash === hash || this.written.get(key) === hash)
      return;
    try {
      await this.writes.apply(desired, live?.metadata?.uid);
    } catch (e) {
      // Not ours (a conflict with another field manager on a report we did not make): left alone.
      if (isConflict(e) && !live) {
        this.log.warn(
          { key, kind, name: REPORT_NAME, error: e.message },
          "openreports: a report with this name exists and is not ours; leaving it",
        );
        return;
      }
      throw e;
    }
    this.written.set(key, hash);
    this.log.info(
      { key, kind, summary: desired.summary, results: desired.results.length },
      live ? "openreports: updated" : "openreports: created",
    );
  }

  private namespaceDesired(namespace: string): OpenReport | undefined {
    const profiles: ProfileInput[] = [];
    for (const raw of this.reads.profilesIn(namespace)) {
      if (raw.metadata?.deletionTimestamp) continue;
      const { profile, problems } = this.reads.validate(raw);
      const status = (raw as { status?: Status }).status;
      profiles.push({
        name: raw.metadata?.name ?? "",
        ...(raw.metadata?.uid && { uid: raw.metadata.uid }),
        invalid: profile ? [] : problems.filter(isError).map(({ path, message }) => ({ path, message })),
        // Evaluated: the Compliant condition is written for every valid profile reconciled;
        // status.policy only when there is something to say.
        findings:
          status?.policy || status?.conditions?.some((c) => c.type === "Compliant")
            ? (status.policy?.findings ?? [])
            : undefined,
      });
    }
    const labels = this.reads.namespaceLabels(namespace) ?? defaultNamespaceLabels(namespace);
    const rules = guardrailRules(governingPolicies(this.reads.validPolicies(), labels));
    return buildNamespaceReport(namespace, profiles, rules);
  }

  private clusterDesired(): OpenReport | undefined {
    const policies: PolicyInput[] = [];
    for (const raw of this.reads.policies()) {
      if (raw.metadata?.deletionTimestamp) continue;
      const status = (raw as { status?: Status }).status;
      const ready = status?.conditions?.find((c) => c.type === "Ready");
      policies.push({
        name: raw.metadata?.name ?? "",
        ...(raw.metadata?.uid && { uid: raw.metadata.uid }),
        invalid: ready?.reason === "InvalidSpec",
        problems: status?.problems ?? [],
        pending: !ready,
      });
    }
    policies.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return buildClusterReport(policies);
  }
}

/** The keys of every report: namespaces with profiles or with a report of ours, and the cluster's. */
export function reportKeys(namespaces: Iterable<string>): string[] {
  return [...new Set(namespaces)].filter(Boolean).map(reportKey).concat(CLUSTER_REPORT_KEY);
}

/** The writes, through the API server. */
export function reportWrites(client: KubeClient, signal: () => AbortSignal | undefined): ReportWrites {
  return {
    apply: async (report, uid) => {
      const r = report.kind === "Report" ? REPORTS : CLUSTER_REPORTS;
      const body = {
        ...report,
        metadata: {
          ...report.metadata,
          labels: { ...report.metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY },
          ...(uid && { uid }),
        },
      };
      // Force only on a report the cache says is ours: a new name never takes fields from another manager.
      await client.apply(
        resourcePath(r, report.metadata.namespace, report.metadata.name),
        body,
        REPORTS_FIELD_MANAGER,
        uid !== undefined,
        undefined,
        signal(),
      );
    },
    remove: async (kind, namespace, uid) => {
      const r = kind === "Report" ? REPORTS : CLUSTER_REPORTS;
      await client.delete(resourcePath(r, namespace, REPORT_NAME), { uid }, signal());
    },
  };
}
