// Which policies quarantine a profile: by reference, by its ServiceAccount or by its namespace
// (quarantine is fleet-wide: every policy counts, whatever namespaces it selects). Pure.
import type { MeshwardPolicy } from "../api/policy.ts";
import { byString, serviceAccountName } from "../builders/meta.ts";
import type { PolicyProfile } from "./types.ts";

export function quarantiningPolicies(profile: PolicyProfile, policies: readonly MeshwardPolicy[]): string[] {
  const ref = `${profile.metadata.namespace}/${profile.metadata.name}`;
  const sa = serviceAccountName(profile);
  const out = policies
    .filter((p) =>
      (p.spec.quarantine?.identities ?? []).some(
        (i) =>
          i.profile === ref ||
          i.namespace === profile.metadata.namespace ||
          (i.serviceAccount?.namespace === profile.metadata.namespace && i.serviceAccount.name === sa),
      ),
    )
    .map((p) => p.metadata.name);
  return [...new Set(out)].sort(byString);
}
