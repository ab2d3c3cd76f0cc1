// ExternalSecret per secret entry: External Secrets Operator writes (and rotates) the Secret.
// meshward itself never reads or writes Secrets.
import type { Profile } from "../api/schema.ts";
import type { ExternalSecret } from "../types/generated/upstream.ts";
import type { BuildContext } from "./context.ts";
import { childMeta, type KubeObject } from "./meta.ts";

export function buildExternalSecrets(profile: Profile, ctx: BuildContext): (KubeObject & ExternalSecret)[] {
  return (profile.spec.secrets ?? []).map((s) => ({
    apiVersion: "external-secrets.io/v1",
    kind: "ExternalSecret",
    metadata: childMeta(profile, s.name),
    spec: {
      secretStoreRef: { kind: s.storeRef.kind, name: s.storeRef.name },
      refreshInterval: s.refreshInterval ?? ctx.defaults.secretRefreshInterval,
      target: { name: s.name, creationPolicy: "Owner" },
      data: s.data.map((d) => ({
        secretKey: d.secretKey,
        remoteRef: {
          key: d.remoteRef.key,
          ...(d.remoteRef.property !== undefined && { property: d.remoteRef.property }),
          ...(d.remoteRef.version !== undefined && { version: d.remoteRef.version }),
        },
      })),
    },
  }));
}
