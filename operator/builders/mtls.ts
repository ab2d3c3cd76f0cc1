// PeerAuthentication: mTLS STRICT, PERMISSIVE only under an active PermissiveMtls exception.
import type { Profile } from "../api/schema.ts";
import type { PeerAuthentication } from "../types/generated/upstream.ts";
import { type ExceptionState, isPermissive } from "./exceptions.ts";
import { childMeta, type KubeObject } from "./meta.ts";

export function buildPeerAuthentication(
  profile: Profile,
  exceptions: ExceptionState,
): KubeObject & PeerAuthentication {
  const permissive = isPermissive(profile, exceptions);
  return {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: childMeta(profile, profile.metadata.name),
    spec: {
      selector: { matchLabels: { ...profile.spec.selector } },
      mtls: { mode: permissive ? "PERMISSIVE" : "STRICT" },
    },
  };
}
