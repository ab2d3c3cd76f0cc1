// Test helpers: parsed profiles and policies from plain objects (through the real validators).
import type { MeshwardPolicy, PolicySpecInput } from "../api/policy.ts";
import type { ProfileSpecInput } from "../api/schema.ts";
import { validatePolicy } from "../api/validate-policy.ts";
import { validateProfile } from "../api/validate.ts";
import type { PolicyProfile } from "./types.ts";

export const NOW = new Date("2026-11-20T00:00:00Z");

export function profile(ref: string, spec: ProfileSpecInput, creationTimestamp?: string): PolicyProfile {
  const [namespace, name] = ref.split("/");
  const r = validateProfile({
    apiVersion: "meshward.io/v1alpha1",
    kind: "ServiceSecurityProfile",
    metadata: { name, namespace },
    spec,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return creationTimestamp
    ? { ...r.profile, metadata: { ...r.profile.metadata, creationTimestamp } }
    : r.profile;
}

export function policy(name: string, spec: PolicySpecInput): MeshwardPolicy {
  const r = validatePolicy({
    apiVersion: "meshward.io/v1alpha1",
    kind: "MeshwardPolicy",
    metadata: { name },
    spec,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}
