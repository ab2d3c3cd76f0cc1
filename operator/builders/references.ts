// Resolving `service: <namespace>/<name>` references to other profiles (pure).
import type { Profile } from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import { type BuildContext, profileKey } from "./context.ts";
import { principal, serviceAccountName } from "./meta.ts";

export interface ResolvedService {
  namespace: string;
  name: string;
  principal: string;
  selector: Record<string, string>;
}

/** Splits a reference: "ns/name", or "name" for the profile's own namespace. */
export function parseServiceRef(ref: string, ownNamespace: string): { namespace: string; name: string } {
  const slash = ref.indexOf("/");
  return slash < 0
    ? { namespace: ownNamespace, name: ref }
    : { namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
}

/** All service references a profile makes, as "namespace/name" keys (for the reverse index). */
export function referencedProfiles(profile: Profile): Set<string> {
  const ns = profile.metadata.namespace;
  const out = new Set<string>();
  const add = (ref: string | undefined) => {
    if (ref === undefined) return;
    const r = parseServiceRef(ref, ns);
    out.add(profileKey(r.namespace, r.name));
  };
  for (const rule of profile.spec.ingress ?? []) for (const s of rule.from) add(s.service);
  for (const t of profile.spec.egress?.to ?? []) add(t.service);
  return out;
}

export function resolveService(
  ref: string,
  profile: Profile,
  ctx: BuildContext,
  path: string,
  problems: Problem[],
): ResolvedService | undefined {
  const { namespace, name } = parseServiceRef(ref, profile.metadata.namespace);
  const target: Profile | undefined = ctx.profiles.get(profileKey(namespace, name));
  if (!target) {
    problems.push({
      path,
      message: `no ServiceSecurityProfile ${namespace}/${name} was found; create it, fix the name, or name the caller by serviceAccount or namespace instead (until then this entry allows nothing)`,
      severity: "warning",
    });
    return undefined;
  }
  return {
    namespace,
    name,
    principal: principal(ctx.trustDomain, namespace, serviceAccountName(target)),
    selector: target.spec.selector,
  };
}
