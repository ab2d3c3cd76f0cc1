// Metadata shared by every generated object: deterministic names, our labels, the owner reference.
import type { ObjectMeta, OwnerReference } from "../types/meta.ts";
import { API_VERSION, KIND, type Profile } from "../api/schema.ts";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "meshward";
export const PROFILE_LABEL = "meshward.io/profile";
/** Marks the one per-namespace object that is shared by every profile of the namespace. */
export const SCOPE_LABEL = "meshward.io/scope";
export const NAMESPACE_DEFAULT_DENY = "meshward-default-deny";

/** Any Kubernetes object we generate. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export function ownerReference(profile: Profile): OwnerReference | undefined {
  const uid = profile.metadata.uid;
  if (!uid) return undefined; // offline rendering: the operator adds it
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: profile.metadata.name,
    uid,
    controller: true,
  };
}

/**
 * Metadata of an object generated for `profile`. Labels are ours only: nothing is copied from the
 * profile, so Argo CD's tracking label and annotation never reach generated objects.
 */
export function childMeta(
  profile: Profile,
  name: string,
  annotations?: Record<string, string>,
): KubeObject["metadata"] {
  const meta: KubeObject["metadata"] = {
    name,
    namespace: profile.metadata.namespace,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [PROFILE_LABEL]: profile.metadata.name },
  };
  if (annotations && Object.keys(annotations).length > 0) meta.annotations = annotations;
  const owner = ownerReference(profile);
  if (owner) meta.ownerReferences = [owner];
  return meta;
}

export function serviceAccountName(profile: Profile): string {
  return profile.spec.serviceAccount?.name ?? profile.metadata.name;
}

/** The SPIFFE principal Istio gives a workload running as `sa` in `namespace` (without spiffe://). */
export function principal(trustDomain: string, namespace: string, sa: string): string {
  return `${trustDomain}/ns/${namespace}/sa/${sa}`;
}

/** Stable, locale-independent ordering for deterministic output. */
export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
