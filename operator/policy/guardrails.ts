// The guardrails on what a profile asks for: secrets, egress CIDRs and egress hosts. Each check reads the original
// spec, returns findings, and (Enforce) what to drop from the effective spec. Pure.
import type { GuardrailMode, MeshwardPolicy, VaultIdentityStore } from "../api/policy.ts";
import { type Cidr, containsCidr, parseCidr } from "../api/net.ts";
import type { ProfileSpec } from "../api/schema.ts";
import { canonical, verdict } from "./combine.ts";
import { keyMatches, type KeyScope } from "./patterns.ts";
import type { Finding, ResolvedIdentityStore } from "./types.ts";

type Violation = { policy: string; mode: GuardrailMode; detail: string };

function finding(
  reason: Finding["reason"],
  rule: string,
  path: string,
  violated: Violation[],
  advice: string,
): Finding {
  const v = verdict(violated);
  const why = violated.map((x) => `MeshwardPolicy ${x.policy} ${x.detail}`).join("; ");
  return { reason, rule, mode: v.mode, path, message: `${why}: ${advice}`, policies: v.policies };
}

export interface SecretsResult {
  findings: Finding[];
  /** Enforce: data entries to drop, by secret index; a secret left without data is dropped. */
  drop: Map<number, Set<number>>;
}

export function checkSecrets(
  spec: ProfileSpec,
  scope: KeyScope,
  policies: readonly MeshwardPolicy[],
): SecretsResult {
  const findings: Finding[] = [];
  const drop = new Map<number, Set<number>>();
  const ruled = policies.filter((p) => p.spec.guardrails?.secrets !== undefined);
  if (ruled.length === 0) return { findings, drop };
  const markAll = (i: number, n: number) => drop.set(i, new Set(Array.from({ length: n }, (_, j) => j)));
  (spec.secrets ?? []).forEach((s, i) => {
    const store = `${s.storeRef.kind} ${s.storeRef.name}`;
    const storeViolations: Violation[] = [];
    for (const p of ruled) {
      const g = p.spec.guardrails?.secrets;
      if (!g) continue;
      if (!g.stores.some((a) => a.kind === s.storeRef.kind && a.name === s.storeRef.name)) {
        const allowed = g.stores.map((a) => `${a.kind} ${a.name}`).join(", ") || "none";
        storeViolations.push({
          policy: p.metadata.name,
          mode: g.mode,
          detail: `does not allow ${store} (allowed: ${allowed})`,
        });
      }
    }
    if (storeViolations.length > 0) {
      const f = finding(
        "SecretNotAllowed",
        "guardrails.secrets",
        `spec.secrets[${i}].storeRef`,
        storeViolations,
        "use an allowed store, or ask the platform team to allow this one",
      );
      findings.push(f);
      if (f.mode === "Enforce") markAll(i, s.data.length);
      return;
    }
    s.data.forEach((d, j) => {
      const violations: Violation[] = [];
      for (const p of ruled) {
        const g = p.spec.guardrails?.secrets;
        const allowance = g?.stores.find((a) => a.kind === s.storeRef.kind && a.name === s.storeRef.name);
        if (!g || !allowance) continue;
        if (!allowance.keys.some((k) => keyMatches(k, d.remoteRef.key, scope))) {
          const shown = allowance.keys.map((k) =>
            k.replaceAll("{namespace}", scope.namespace).replaceAll("{profile}", scope.profile),
          );
          violations.push({
            policy: p.metadata.name,
            mode: g.mode,
            detail: `does not allow remote key "${d.remoteRef.key}" from ${store} (allowed here: ${shown.join(", ")})`,
          });
        }
      }
      if (violations.length === 0) return;
      const f = finding(
        "SecretNotAllowed",
        "guardrails.secrets",
        `spec.secrets[${i}].data[${j}].remoteRef.key`,
        violations,
        "use a key that matches an allowed pattern, or ask the platform team",
      );
      findings.push(f);
      if (f.mode === "Enforce") {
        const set = drop.get(i) ?? new Set<number>();
        set.add(j);
        drop.set(i, set);
      }
    });
  });
  return { findings, drop };
}

export interface IdentityResult {
  findings: Finding[];
  /** Indexes of secrets to drop: an unknown identity store (always), or not one while required (Enforce). */
  drop: Set<number>;
  /** The identity stores the profile's secrets use, by name. */
  stores: Record<string, ResolvedIdentityStore>;
}

/**
 * Identity stores: resolves each `storeRef.kind: IdentityStore` against the governing policies'
 * `secretIdentity.stores` (unknown, or defined differently by two policies: refused, fail closed),
 * and, where a policy sets `secretIdentity.mode`, reports (Audit) or refuses (Enforce) every secret
 * that does not come from an identity store.
 */
export function checkSecretIdentity(spec: ProfileSpec, policies: readonly MeshwardPolicy[]): IdentityResult {
  const findings: Finding[] = [];
  const drop = new Set<number>();
  const stores: Record<string, ResolvedIdentityStore> = {};
  const defined = new Map<string, { vault: VaultIdentityStore; policies: string[]; differ: boolean }>();
  for (const p of policies) {
    for (const st of p.spec.secretIdentity?.stores ?? []) {
      const seen = defined.get(st.name);
      if (!seen) defined.set(st.name, { vault: st.vault, policies: [p.metadata.name], differ: false });
      else {
        seen.policies.push(p.metadata.name);
        if (canonical(seen.vault) !== canonical(st.vault)) seen.differ = true;
      }
    }
  }
  const requiring = policies.filter((p) => p.spec.secretIdentity?.mode !== undefined);
  (spec.secrets ?? []).forEach((s, i) => {
    const path = `spec.secrets[${i}].storeRef`;
    if (s.storeRef.kind !== "IdentityStore") {
      if (requiring.length === 0) return;
      const f = finding(
        "SecretNotAllowed",
        "secretIdentity",
        path,
        requiring.map((p) => ({
          policy: p.metadata.name,
          mode: p.spec.secretIdentity?.mode ?? "Audit",
          detail: "requires secrets to be read with the service's own identity",
        })),
        `read it from an identity store (storeRef: { kind: IdentityStore, name: ${[...defined.keys()].join(" | ") || "<a store the policy defines>"} })`,
      );
      findings.push(f);
      if (f.mode === "Enforce") drop.add(i);
      return;
    }
    const store = defined.get(s.storeRef.name);
    if (!store || store.differ) {
      const names = [...defined.keys()];
      const message = !store
        ? `no MeshwardPolicy governing this namespace defines identity store "${s.storeRef.name}" (defined: ${names.join(", ") || "none"}): name one of those, or ask the platform team to define it in spec.secretIdentity.stores`
        : `MeshwardPolicy ${store.policies.join(", ")} define identity store "${s.storeRef.name}" differently: the platform team must make them agree; until then the secret is not read`;
      findings.push({
        reason: "SecretNotAllowed",
        rule: "secretIdentity",
        mode: "Enforce",
        path,
        message,
        policies: store ? [...store.policies].sort() : [],
      });
      drop.add(i);
      return;
    }
    stores[s.storeRef.name] = { vault: store.vault, policy: store.policies[0] as string };
  });
  return { findings, drop, stores };
}

function overlaps(a: Cidr, b: Cidr): boolean {
  return containsCidr(a, b) || containsCidr(b, a);
}

export interface EgressResult {
  findings: Finding[];
  /** Enforce: indexes of egress.to to drop. */
  drop: Set<number>;
}

export function checkEgressCidrs(spec: ProfileSpec, policies: readonly MeshwardPolicy[]): EgressResult {
  const findings: Finding[] = [];
  const drop = new Set<number>();
  const ruled = policies.filter((p) => p.spec.guardrails?.egressCidrs !== undefined);
  if (ruled.length === 0) return { findings, drop };
  (spec.egress?.to ?? []).forEach((t, i) => {
    if (t.cidr === undefined) return;
    const c = parseCidr(t.cidr);
    if (!c) return; // the schema rejects it before
    const excepts = (t.except ?? []).map(parseCidr).filter((e): e is Cidr => e !== undefined);
    const violations: Violation[] = [];
    for (const p of ruled) {
      const g = p.spec.guardrails?.egressCidrs;
      if (!g) continue;
      const allowed = (g.allowed ?? []).map(parseCidr).filter((a): a is Cidr => a !== undefined);
      if (g.allowed !== undefined && !allowed.some((a) => containsCidr(a, c))) {
        violations.push({
          policy: p.metadata.name,
          mode: g.mode,
          detail: `allows egress only inside ${g.allowed.join(", ") || "no range"}`,
        });
        continue;
      }
      const hit = (g.denied ?? []).find((d) => {
        const dc = parseCidr(d);
        return (
          dc !== undefined &&
          overlaps(c, dc) &&
          !excepts.some((e) => containsCidr(e, dc) || containsCidr(e, c))
        );
      });
      if (hit !== undefined)
        violations.push({ policy: p.metadata.name, mode: g.mode, detail: `denies egress to ${hit}` });
    }
    if (violations.length === 0) return;
    const f = finding(
      "EgressCidrNotAllowed",
      "guardrails.egressCidrs",
      `spec.egress.to[${i}].cidr`,
      violations,
      `narrow ${t.cidr} to an allowed range (or list the denied part under except)`,
    );
    findings.push(f);
    if (f.mode === "Enforce") drop.add(i);
  });
  return { findings, drop };
}

/**
 * Whether an allowed pattern covers a host: the same name, or a pattern *.d and a host under d
 * (a wildcard host *.x.d too: every name it stands for is under d). *.d does not cover d itself.
 */
export function hostAllowed(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (!pattern.startsWith("*.")) return false;
  const domain = pattern.slice(1); // ".d"
  const bare = host.startsWith("*.") ? host.slice(1) : `.${host}`;
  return bare.endsWith(domain) && bare.length > domain.length;
}

export function checkEgressHosts(spec: ProfileSpec, policies: readonly MeshwardPolicy[]): EgressResult {
  const findings: Finding[] = [];
  const drop = new Set<number>();
  const ruled = policies.filter((p) => p.spec.guardrails?.egressHosts !== undefined);
  if (ruled.length === 0) return { findings, drop };
  (spec.egress?.to ?? []).forEach((t, i) => {
    const host = t.host;
    if (host === undefined) return;
    const violations: Violation[] = [];
    for (const p of ruled) {
      const g = p.spec.guardrails?.egressHosts;
      if (!g || g.allowed.some((a) => hostAllowed(a, host))) continue;
      violations.push({
        policy: p.metadata.name,
        mode: g.mode,
        detail: `allows egress only to the hosts ${g.allowed.join(", ") || "(none)"}`,
      });
    }
    if (violations.length === 0) return;
    const f = finding(
      "EgressHostNotAllowed",
      "guardrails.egressHosts",
      `spec.egress.to[${i}].host`,
      violations,
      `call ${host} through an allowed host, or ask the platform team to allow it`,
    );
    findings.push(f);
    if (f.mode === "Enforce") drop.add(i);
  });
  return { findings, drop };
}
