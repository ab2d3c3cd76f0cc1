// AuthorizationPolicy (who may call the service) and RequestAuthentication (end-user JWTs).
import { type IngressRule, type Profile, protocolOf } from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import type { AuthorizationPolicy, RequestAuthentication } from "../types/generated/upstream.ts";
import type { BuildContext } from "./context.ts";
import { type ExceptionState, isPermissive } from "./exceptions.ts";
import { childMeta, type KubeObject, principal } from "./meta.ts";
import { resolveService } from "./references.ts";

type Source = { principals?: string[]; namespaces?: string[]; requestPrincipals?: string[] };
type Operation = { ports?: string[]; methods?: string[]; paths?: string[] };
type Rule = { from?: { source: Source }[]; to?: { operation: Operation }[] };

/** Istio's annotation that runs an AuthorizationPolicy in dry-run (log only). */
export const DRY_RUN_ANNOTATION = "istio.io/dry-run";

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

function buildRule(
  rule: IngressRule,
  i: number,
  profile: Profile,
  ctx: BuildContext,
  plaintextAllowed: boolean,
  problems: Problem[],
): Rule | undefined {
  const principals: string[] = [];
  const namespaces: string[] = [];
  rule.from.forEach((s, j) => {
    const path = `spec.ingress[${i}].from[${j}]`;
    if (s.service !== undefined) {
      const r = resolveService(s.service, profile, ctx, `${path}.service`, problems);
      if (r) principals.push(r.principal);
    } else if (s.serviceAccount !== undefined) {
      principals.push(principal(ctx.trustDomain, s.serviceAccount.namespace, s.serviceAccount.name));
    } else if (s.namespace !== undefined) {
      namespaces.push(s.namespace);
    }
  });
  // Fail closed: a rule whose callers are all unresolved allows nothing, so it is left out.
  if (principals.length === 0 && namespaces.length === 0) return undefined;
  const jwt = profile.spec.requestAuthentication;
  // A rule may waive the token (a scraper has none); omitted, the profile-wide setting decides.
  const needsToken = jwt !== undefined && (rule.requireToken ?? jwt.requireToken);
  const requestPrincipals = needsToken ? uniq(jwt.jwt.map((j) => `${j.issuer}/*`)) : undefined;
  const from: { source: Source }[] = [];
  if (plaintextAllowed) {
    // Callers without mTLS have no principal or namespace: matching on them would deny exactly the
    // callers the exception is for. The NetworkPolicy still admits only the listed callers' pods.
    if (requestPrincipals) from.push({ source: { requestPrincipals } });
  } else {
    if (principals.length > 0)
      from.push({
        source: { principals: uniq(principals), ...(requestPrincipals && { requestPrincipals }) },
      });
    if (namespaces.length > 0) {
      from.push({
        source: { namespaces: uniq(namespaces), ...(requestPrincipals && { requestPrincipals }) },
      });
    }
  }
  const operation: Operation = {};
  if (rule.ports && rule.ports.length > 0) operation.ports = uniq(rule.ports.map(String));
  if (rule.http?.methods && rule.http.methods.length > 0) operation.methods = uniq(rule.http.methods);
  if (rule.http?.paths && rule.http.paths.length > 0) operation.paths = uniq(rule.http.paths);
  const out: Rule = {};
  if (from.length > 0) out.from = from;
  if (Object.keys(operation).length > 0) out.to = [{ operation }];
  return out;
}

/**
 * One ALLOW policy with a rule per ingress entry. No entries (or none resolvable) gives an ALLOW
 * policy without rules, which Istio reads as "allow nothing": nobody may call the service.
 */
export function buildAuthorizationPolicy(
  profile: Profile,
  ctx: BuildContext,
  exceptions: ExceptionState,
  problems: Problem[],
): KubeObject & AuthorizationPolicy {
  const rules: Rule[] = [];
  const plaintextAllowed = isPermissive(profile, exceptions);
  (profile.spec.ingress ?? []).forEach((rule, i) => {
    // Built for every rule, so unresolved references are reported whatever the protocol. Istio's
    // proxies carry and authorize TCP only: a UDP/SCTP rule is the NetworkPolicy's alone, and its
    // ports must not reach `operation.ports` (callers would get those port numbers over TCP).
    const r = buildRule(rule, i, profile, ctx, plaintextAllowed, problems);
    if (r && protocolOf(rule) === "TCP") rules.push(r);
    if (ctx.meshMode === "ambient" && rule.http) {
      problems.push({
        path: `spec.ingress[${i}].http`,
        message:
          "HTTP rules are enforced in ambient mode only by a waypoint proxy; without one, ztunnel denies these requests",
        severity: "warning",
      });
    }
  });
  const annotations = exceptions.active.has("AuditOnly") ? { [DRY_RUN_ANNOTATION]: "true" } : undefined;
  const spec: AuthorizationPolicy["spec"] = {
    selector: { matchLabels: { ...profile.spec.selector } },
    action: "ALLOW",
  };
  if (rules.length > 0) (spec as { rules?: Rule[] }).rules = rules;
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: childMeta(profile, profile.metadata.name, annotations),
    spec,
  };
}

export function buildRequestAuthentication(
  profile: Profile,
): (KubeObject & RequestAuthentication) | undefined {
  const ra = profile.spec.requestAuthentication;
  if (!ra) return undefined;
  return {
    apiVersion: "security.istio.io/v1",
    kind: "RequestAuthentication",
    metadata: childMeta(profile, profile.metadata.name),
    spec: {
      selector: { matchLabels: { ...profile.spec.selector } },
      jwtRules: ra.jwt.map((j) => ({
        issuer: j.issuer,
        ...(j.jwksUri !== undefined && { jwksUri: j.jwksUri }),
        ...(j.audiences !== undefined && j.audiences.length > 0 && { audiences: [...j.audiences] }),
        ...(j.forwardOriginalToken !== undefined && { forwardOriginalToken: j.forwardOriginalToken }),
      })),
    },
  };
}
