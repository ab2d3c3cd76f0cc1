// Which Istio data plane serves a profile's pods (pure): the profile's spec.dataplaneMode when set,
// otherwise what Istio itself decides from the namespace's labels, otherwise the operator's default
// (--mesh-mode). Istio injects a sidecar where the namespace asks for injection (istio-injection=
// enabled or a revision label), and ztunnel does not capture pods that have one: a namespace with
// both labels is a sidecar namespace.
import type { MeshMode } from "./context.ts";

export const DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode";
export const INJECTION_LABEL = "istio-injection";
export const REVISION_LABEL = "istio.io/rev";

export type DataplaneSource = "Profile" | "Namespace" | "Default";

export interface Dataplane {
  mode: MeshMode;
  source: DataplaneSource;
  message: string;
}

/** What the namespace's labels say, or undefined when they say nothing. */
function fromNamespace(
  labels: Readonly<Record<string, string>>,
): { mode: MeshMode; why: string } | undefined {
  const ambient = labels[DATAPLANE_MODE_LABEL] === "ambient";
  const injection =
    labels[INJECTION_LABEL] === "enabled"
      ? `${INJECTION_LABEL}=enabled`
      : labels[REVISION_LABEL]
        ? `${REVISION_LABEL}=${labels[REVISION_LABEL].slice(0, 63)}`
        : undefined;
  if (injection && ambient)
    return {
      mode: "sidecar",
      why: `the namespace has ${injection} and ${DATAPLANE_MODE_LABEL}=ambient: Istio injects sidecars, and ztunnel does not capture pods that have one`,
    };
  if (injection) return { mode: "sidecar", why: `the namespace has ${injection}` };
  if (ambient) return { mode: "ambient", why: `the namespace has ${DATAPLANE_MODE_LABEL}=ambient` };
  return undefined;
}

export function dataplaneOf(
  namespaceLabels: Readonly<Record<string, string>>,
  override: MeshMode | undefined,
  fallback: MeshMode,
): Dataplane {
  const ns = fromNamespace(namespaceLabels);
  if (override) {
    const differs = ns && ns.mode !== override ? `; ${ns.why}, which would mean ${ns.mode}` : "";
    return { mode: override, source: "Profile", message: `spec.dataplaneMode is ${override}${differs}` };
  }
  if (ns) return { mode: ns.mode, source: "Namespace", message: ns.why };
  return {
    mode: fallback,
    source: "Default",
    message: `the namespace has no Istio data-plane label (${INJECTION_LABEL}, ${REVISION_LABEL} or ${DATAPLANE_MODE_LABEL}): the operator's default, ${fallback}`,
  };
}
