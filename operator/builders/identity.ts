// ServiceAccount: one workload, one identity.
import type { Profile } from "../api/schema.ts";
import { childMeta, type KubeObject, serviceAccountName } from "./meta.ts";

export function buildServiceAccount(
  profile: Profile,
): KubeObject & { automountServiceAccountToken: boolean } {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: childMeta(profile, serviceAccountName(profile)),
    automountServiceAccountToken: profile.spec.serviceAccount?.automountToken ?? false,
  };
}
