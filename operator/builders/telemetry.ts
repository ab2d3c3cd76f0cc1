// Telemetry (telemetry.istio.io/v1): access logs for the service's pods, the audit record of who
// called it and what the authorization policy decided (docs/audit.md).
import type { AccessLogMode, Profile } from "../api/schema.ts";
import type { Telemetry } from "../types/generated/upstream.ts";
import type { BuildContext } from "./context.ts";
import { childMeta, type KubeObject } from "./meta.ts";

/**
 * The access log provider every Istio mesh defines (meshConfig.extensionProviders, a file access
 * log to /dev/stdout). Its format is the mesh's: meshConfig.accessLogEncoding and accessLogFormat,
 * which the platform team sets to include the peer principal (docs/audit.md).
 */
export const ACCESS_LOG_PROVIDER = "envoy";

/** Access logs for this profile: its own setting, else the platform default. */
export function accessLogMode(profile: Profile, ctx: BuildContext): AccessLogMode {
  return profile.spec.audit?.accessLogs ?? ctx.defaults.accessLogs;
}

/**
 * A Telemetry that turns on the mesh's access log for the pods the profile selects, when access
 * logs are enabled. Sidecar mode only: in ambient mode no proxy of the pod reads it (ztunnel takes
 * no Telemetry and logs every connection it carries anyway; waypoints ignore selectors), so nothing
 * is generated there and docs/audit.md says where the records come from.
 */
export function buildTelemetry(profile: Profile, ctx: BuildContext): (KubeObject & Telemetry) | undefined {
  if (accessLogMode(profile, ctx) !== "Enabled" || ctx.meshMode !== "sidecar") return undefined;
  return {
    apiVersion: "telemetry.istio.io/v1",
    kind: "Telemetry",
    metadata: childMeta(profile, profile.metadata.name),
    spec: {
      selector: { matchLabels: { ...profile.spec.selector } },
      accessLogging: [{ providers: [{ name: ACCESS_LOG_PROVIDER }] }],
    },
  };
}
