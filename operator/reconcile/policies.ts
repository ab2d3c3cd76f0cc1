// The platform's MeshwardPolicies as the reconciler reads them: from the informer's cache, each
// validated once per resourceVersion (an older CRD may have let anything in). Only valid policies
// take part in decisions; an invalid one is reported in its own status.
import type { MeshwardPolicy } from "../api/policy.ts";
import { type PolicyValidation, validatePolicy } from "../api/validate-policy.ts";
import { byString } from "../builders/meta.ts";
import type { KubeObjectLike } from "../runtime/client.ts";

export class PolicyBook {
  private readonly source: () => Iterable<KubeObjectLike>;
  private readonly memo = new Map<string, { rv: string | undefined; result: PolicyValidation }>();
  private last: { stamp: string; valid: MeshwardPolicy[] } | undefined;

  constructor(source: () => Iterable<KubeObjectLike>) {
    this.source = source;
  }

  check(raw: KubeObjectLike): PolicyValidation {
    const name = raw.metadata?.name ?? "";
    const rv = raw.metadata?.resourceVersion;
    const hit = this.memo.get(name);
    if (hit && rv !== undefined && hit.rv === rv) return hit.result;
    const result = validatePolicy(raw);
    this.memo.set(name, { rv, result });
    return result;
  }

  /** The valid policies, sorted by name (the same array while nothing changed). */
  valid(): MeshwardPolicy[] {
    const raws = [...this.source()].filter((r) => !r.metadata?.deletionTimestamp);
    const stamp = raws.map((r) => `${r.metadata?.name}@${r.metadata?.resourceVersion}`).join(",");
    if (this.last?.stamp === stamp) return this.last.valid;
    const live = new Set(raws.map((r) => r.metadata?.name ?? ""));
    for (const name of this.memo.keys()) if (!live.has(name)) this.memo.delete(name);
    const valid = raws
      .map((r) => this.check(r))
      .flatMap((r) => (r.ok ? [r.policy] : []))
      .sort((a, b) => byString(a.metadata.name, b.metadata.name));
    this.last = { stamp, valid };
    return valid;
  }
}
