// Per-profile gauge values from a profile as the cache holds it (pure): its status conditions, the
// earliest expiry among its active exceptions and how many of its secrets cannot be synced. The
// status is read defensively (readStatus).
import type { KubeObjectLike } from "../runtime/client.ts";
import { readStatus } from "../reconcile/status.ts";

export interface ProfileSeries {
  namespace: string;
  name: string;
  ready: 0 | 1;
  drifted: 0 | 1;
  conflict: 0 | 1;
  /** Secrets ESO cannot sync (status.secrets ready=False); undefined for a profile without secrets. */
  secretsFailing?: number;
  /** Dynamic credentials near the end of their lease, not replaced yet (reason LeaseEnding). */
  secretsLeaseEnding?: number;
  /** Unix seconds of the next active exception's expiry; undefined without one. */
  nextExceptionExpiry?: number;
  /** Findings of the platform's policies: refused (Enforce) and reported only (Audit). */
  policyRefused: number;
  policyAudit: number;
}

/** The series of one cached profile; undefined for an object without namespace and name. */
export function profileSeries(p: KubeObjectLike): ProfileSeries | undefined {
  const namespace = p.metadata?.namespace;
  const name = p.metadata?.name;
  if (!namespace || !name) return undefined;
  const status = readStatus((p as { status?: unknown }).status);
  const isTrue = (type: string): 0 | 1 =>
    status?.conditions?.some((c) => c.type === type && c.status === "True") ? 1 : 0;
  const expiries = (status?.exceptions ?? [])
    .filter((e) => e.state === "Active")
    .map((e) => Date.parse(e.expires))
    .filter((t) => Number.isFinite(t));
  const series: ProfileSeries = {
    namespace,
    name,
    ready: isTrue("Ready"),
    drifted: isTrue("Drifted"),
    conflict: isTrue("Conflict"),
    policyRefused: (status?.policy?.findings ?? []).filter((f) => f.mode === "Enforce").length,
    policyAudit: (status?.policy?.findings ?? []).filter((f) => f.mode === "Audit").length,
  };
  const secrets = status?.secrets ?? [];
  if (secrets.length > 0) {
    series.secretsFailing = secrets.filter((e) => e.ready === "False").length;
    series.secretsLeaseEnding = secrets.filter((e) => e.reason === "LeaseEnding").length;
  }
  if (expiries.length > 0) series.nextExceptionExpiry = Math.min(...expiries) / 1000;
  return series;
}
