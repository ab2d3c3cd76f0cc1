// The builders: a profile and its context in, the desired objects out. Pure: no I/O, no clock
// (the context carries `now`), deterministic output.
import type { Profile } from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import { buildAmbientProfile, buildSharedWaypoint } from "./ambient.ts";
import { buildAuthorizationPolicy, buildRequestAuthentication } from "./authorization.ts";
import type { BuildContext } from "./context.ts";
import { buildEgress } from "./egress.ts";
import { evaluateExceptions } from "./exceptions.ts";
import { buildServiceAccount } from "./identity.ts";
import type { KubeObject } from "./meta.ts";
import type { BuildResult } from "./result.ts";
import { buildPeerAuthentication } from "./mtls.ts";
import { buildNamespaceDefaultDeny, buildNetworkPolicy } from "./network.ts";
import { buildExternalSecrets } from "./secrets.ts";
import { buildTelemetry } from "./telemetry.ts";

export * from "./context.ts";
export * from "./meta.ts";
export type { BuildResult } from "./result.ts";
export { buildNamespaceDefaultDeny } from "./network.ts";
export { referencedProfiles, parseServiceRef } from "./references.ts";

/**
 * `ctx.meshMode` is the data plane of the profile's namespace (operator/builders/dataplane.ts); a
 * profile's own spec.dataplaneMode wins over it, offline as in the cluster.
 */
export function buildProfile(profile: Profile, namespaceCtx: BuildContext): BuildResult {
  const mode = profile.spec.dataplaneMode;
  const ctx = mode && mode !== namespaceCtx.meshMode ? { ...namespaceCtx, meshMode: mode } : namespaceCtx;
  // Ambient: ztunnel's selector policies, and a waypoint for http rules and token checks.
  if (ctx.meshMode === "ambient") return buildAmbientProfile(profile, ctx);
  const problems: Problem[] = [];
  const exceptions = evaluateExceptions(profile, ctx, problems);
  const objects: KubeObject[] = [
    buildServiceAccount(profile),
    buildPeerAuthentication(profile, exceptions),
    buildAuthorizationPolicy(profile, ctx, exceptions, problems),
  ];
  const ra = buildRequestAuthentication(profile);
  if (ra) objects.push(ra);
  objects.push(buildNetworkPolicy(profile, ctx, problems));
  const telemetry = buildTelemetry(profile, ctx);
  if (telemetry) objects.push(telemetry);
  objects.push(...buildExternalSecrets(profile, ctx, problems));
  objects.push(...buildEgress(profile, ctx, problems));
  const result: BuildResult = { objects, problems, exceptions: exceptions.status };
  if (exceptions.nextExpiry) result.nextChange = exceptions.nextExpiry;
  return result;
}

/** Objects shared by all profiles of a namespace: the default deny, while any profile exists. */
export function buildNamespace(namespace: string, profileCount: number): KubeObject[] {
  return profileCount > 0 ? [buildNamespaceDefaultDeny(namespace)] : [];
}

/**
 * The namespace's shared waypoint, while any profile of the namespace needs it (an ambient profile
 * with http rules or token checks and `spec.waypoint.scope: Namespace`, the default); else none.
 * No owner: the namespace keeps it, like the default deny (docs/adr/0024-the-shared-waypoint.md).
 */
export function buildNamespaceWaypoint(namespace: string, needed: boolean): KubeObject[] {
  return needed ? [buildSharedWaypoint(namespace)] : [];
}
