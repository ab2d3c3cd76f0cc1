// Fuzzer: hostile and valid profiles through validation, the builders and the reconciler.
//
// For every generated object (valid or malformed, see arbitraries.ts):
// - nothing throws and no promise is left rejected;
// - every problem names a field path (spec…, metadata…, apiVersion, kind or (root)); "is required"
//   is only said of a field that is missing; an accepted profile keeps every field it was given;
// - everything generated lives in the profile's namespace, carries our labels (and nothing of
//   Argo CD's), and selects the profile's pods;
// - generated ≤ asked: for sampled requests, whatever the AuthorizationPolicy or the NetworkPolicy
//   admits, the profile asks for (evaluator.ts reads both, independently of the builders);
// - the reconciler on a fake cluster does the same, and a second pass writes nothing.
//
// Runs: 10,000 by default (about 20 s). More, or a replay of a failure (fast-check prints the
// seed and path of a counterexample):
//   FUZZ_RUNS=100000 npx vitest run --project unit test-support/fuzz
//   FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run --project unit test-support/fuzz
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Profile, ProfileStatus } from "../../operator/api/schema.ts";
import { type Problem, validateProfile } from "../../operator/api/validate.ts";
import { buildProfile, DEFAULT_PLATFORM, makeContext } from "../../operator/builders/index.ts";
import type { KubeObjectLike } from "../../operator/runtime/client.ts";
import { Reconciler } from "../../operator/reconcile/reconciler.ts";
import { FakeCluster } from "../fake-cluster.ts";
import { NOW, rawProfile, world } from "./arbitraries.ts";
import {
  authorizationPolicyAllows,
  serviceOf,
  networkPolicyAllowsEgress,
  networkPolicyAllowsIngress,
  type Platform,
  specAllowsEgress,
  specAllowsL4Ingress,
  specAllowsL7,
} from "./evaluator.ts";
import { egressRequests, ingressRequests, prng } from "./requests.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const PATH = process.env.FUZZ_PATH;
const TRUST_DOMAIN = "cluster.local";
const INGRESS_SAMPLES = 24;
const EGRESS_SAMPLES = 12;

const PATH_START = /^(spec|metadata|apiVersion|kind|\(root\))(\.|\[|$)/;
const OURS = { "app.kubernetes.io/managed-by": "meshward" };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** A deep copy that keeps own `__proto__` keys as data (the fake cluster mutates what it holds). */
function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const k of Object.keys(v))
    Object.defineProperty(out, k, {
      value: clone(v[k]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

function fail(what: string, detail: unknown): never {
  throw new Error(
    `${what}: ${JSON.stringify(detail, (_k, v: unknown) => (typeof v === "string" && v.length > 300 ? `${v.slice(0, 300)}…(${v.length})` : v))}`,
  );
}

function checkProblems(where: string, problems: Problem[], raw: unknown): void {
  for (const p of problems) {
    if (typeof p.path !== "string" || !PATH_START.test(p.path))
      fail(`${where}: problem without a field path`, p);
    if (typeof p.message !== "string" || p.message.trim() === "")
      fail(`${where}: problem without a message`, p);
    if (p.message === "is required") {
      const at = valueAt(raw, p.path);
      if (at.found && at.value !== undefined && at.value !== "")
        fail(`${where}: "is required" said of a field that is there`, p);
    }
  }
}

/** The raw value at a formatted path ("spec.ingress[0].from"); found is false when the path is ambiguous. */
function valueAt(raw: unknown, path: string): { found: boolean; value?: unknown } {
  if (path === "(root)") return { found: true, value: raw };
  const tokens: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  for (let m = re.exec(path); m; m = re.exec(path))
    tokens.push(m[2] !== undefined ? Number(m[2]) : (m[1] as string));
  if (tokens.includes("selector")) return { found: false }; // label keys contain dots
  let v: unknown = raw;
  for (const t of tokens) {
    if (typeof t === "number" ? !Array.isArray(v) : !isObj(v)) return { found: true, value: undefined };
    v = (v as Record<string | number, unknown>)[t];
  }
  return { found: true, value: v };
}

/** The first place where `parsed` lost or changed something of `raw` (defaults may be added). */
function lost(raw: unknown, parsed: unknown, path: string): string | undefined {
  if (Array.isArray(raw)) {
    if (!Array.isArray(parsed) || parsed.length !== raw.length) return path;
    for (let i = 0; i < raw.length; i++) {
      const l = lost(raw[i], parsed[i], `${path}[${i}]`);
      if (l) return l;
    }
    return undefined;
  }
  if (isObj(raw)) {
    if (!isObj(parsed)) return path;
    for (const k of Object.keys(raw)) {
      if (!Object.hasOwn(parsed, k)) return `${path}.${k}`;
      const l = lost(raw[k], parsed[k], `${path}.${k}`);
      if (l) return l;
    }
    return undefined;
  }
  return raw === parsed ? undefined : path;
}

function checkObjects(where: string, objects: KubeObjectLike[], profile: Profile, shared: boolean): void {
  const { name, namespace } = profile.metadata;
  for (const o of objects) {
    const m = o.metadata ?? {};
    if (m.namespace !== namespace)
      fail(`${where}: object outside the profile's namespace`, {
        kind: o.kind,
        name: m.name,
        namespace: m.namespace,
      });
    const scope = m.labels?.["meshward.io/scope"];
    const sharedScope = shared && (scope === "namespace" || scope === "waypoint");
    // A waypoint (Gateway) also says which traffic it serves, as Istio reads it.
    const gateway = o.kind === "Gateway" ? { "istio.io/waypoint-for": "service" } : {};
    const expected = sharedScope
      ? { ...OURS, "meshward.io/scope": scope, ...gateway }
      : { ...OURS, "meshward.io/profile": name, ...gateway };
    const labels = { ...m.labels };
    delete (labels as Obj)["meshward.io/desired-hash"];
    if (JSON.stringify(Object.entries(labels).sort()) !== JSON.stringify(Object.entries(expected).sort()))
      fail(`${where}: labels are not exactly ours`, { kind: o.kind, labels: m.labels });
    if (/argo/i.test(JSON.stringify(m))) fail(`${where}: Argo CD metadata copied`, m);
    if (sharedScope) continue;
    const spec = (
      o as { spec?: { selector?: { matchLabels?: unknown }; podSelector?: { matchLabels?: unknown } } }
    ).spec;
    const sel = spec?.selector?.matchLabels ?? spec?.podSelector?.matchLabels;
    // The waypoint's NetworkPolicy (meshward-l7-<profile>) selects the waypoint's pods, by the
    // Gateway API's label and a name only meshward's waypoints have.
    const waypointPods =
      o.kind === "NetworkPolicy" &&
      m.name === `meshward-l7-${name}` &&
      isObj(sel) &&
      Object.keys(sel).length === 1 &&
      /^meshward-waypoint(-|$)/.test(String(sel["gateway.networking.k8s.io/gateway-name"]));
    if (sel !== undefined && !waypointPods && JSON.stringify(sel) !== JSON.stringify(profile.spec.selector))
      fail(`${where}: selects other pods than the profile's`, { kind: o.kind, sel });
    for (const r of m.ownerReferences ?? [])
      if (r.name !== name || r.kind !== "ServiceSecurityProfile") fail(`${where}: foreign owner`, r);
  }
}

const stats = { runs: 0, valid: 0, apAllows: 0, npIn: 0, npOut: 0, requests: 0, reconciles: 0 };

/** Generated ≤ asked, for sampled requests. */
function checkPolicies(
  where: string,
  objects: KubeObjectLike[],
  profile: Profile,
  profiles: ReadonlyMap<string, Profile>,
  p: Platform,
  seed: number,
): void {
  const aps = objects.filter((o) => o.kind === "AuthorizationPolicy");
  const nps = objects.filter(
    (o) => o.kind === "NetworkPolicy" && o.metadata?.labels?.["meshward.io/scope"] !== "namespace",
  );
  const r = prng(seed);
  for (const req of ingressRequests(profile, profiles, p, r, INGRESS_SAMPLES)) {
    stats.requests++;
    for (const ap of aps) {
      if (!authorizationPolicyAllows(ap, req, TRUST_DOMAIN, serviceOf(profile))) continue;
      stats.apAllows++;
      if (!specAllowsL7(profile, profiles, p, req))
        fail(`${where}: the AuthorizationPolicy allows a request the profile does not`, {
          req,
          rules: (ap as Obj).spec,
          spec: profile.spec,
        });
    }
    for (const np of nps) {
      if (!networkPolicyAllowsIngress(np, req)) continue;
      stats.npIn++;
      if (!specAllowsL4Ingress(profile, profiles, p, req))
        fail(`${where}: the NetworkPolicy admits a connection the profile does not`, {
          req,
          ingress: (np as { spec?: Obj }).spec?.ingress,
          spec: profile.spec,
        });
    }
  }
  for (const req of egressRequests(profile, profiles, p, r, EGRESS_SAMPLES)) {
    for (const np of nps) {
      if (!networkPolicyAllowsEgress(np, req)) continue;
      stats.npOut++;
      if (!specAllowsEgress(profile, profiles, p, req))
        fail(`${where}: the NetworkPolicy lets out a connection the profile does not`, {
          req,
          egress: (np as { spec?: Obj }).spec?.egress,
          spec: profile.spec,
        });
    }
  }
}

/** What decides what a policy admits: kind, spec, and dry-run. */
function policyKey(o: KubeObjectLike): string {
  return JSON.stringify([o.kind, o.spec, o.metadata?.annotations?.["istio.io/dry-run"]]);
}

const quiet = { info() {}, warn() {}, debug() {} };

async function throughReconciler(
  worldRaws: { key: string; raw: unknown }[],
  subject: { key: string; raw: unknown },
  profile: Profile | undefined,
  problems: Problem[],
  profiles: ReadonlyMap<string, Profile>,
  p: Platform,
  seed: number,
  checked: Set<string>,
): Promise<void> {
  const cluster = new FakeCluster();
  for (const w of worldRaws) cluster.profilesMap.set(w.key, clone(w.raw) as KubeObjectLike);
  cluster.profilesMap.set(subject.key, clone(subject.raw) as KubeObjectLike);
  const reconciler = new Reconciler(
    cluster,
    { trustDomain: TRUST_DOMAIN, meshMode: p.meshMode, defaults: DEFAULT_PLATFORM, now: () => NOW },
    { record: () => true },
    quiet,
    // As the operator does: a change of the shared waypoint requeues the namespace's profiles.
    { waypoint: () => (waypointChanged = true) },
  );
  let waypointChanged = false;
  const namespace = subject.key.split("/")[0] as string;
  await reconciler.reconcile(subject.key);
  await reconciler.reconcile(namespace);
  if (waypointChanged) await reconciler.reconcile(subject.key);
  stats.reconciles++;
  const objects = [...cluster.objects.values()];
  if (profile) {
    checkObjects("reconciler", objects, profile, true);
    // What the reconciler applied was built from the same profile and references: evaluate only
    // the policies that differ from the ones already checked.
    const fresh = objects.filter((o) => !checked.has(policyKey(o)));
    checkPolicies("reconciler", fresh, profile, profiles, p, seed);
  } else {
    // The namespace's shared objects serve the other (valid) profiles of the namespace.
    const ours = objects.filter(
      (o) => !["namespace", "waypoint"].includes(o.metadata?.labels?.["meshward.io/scope"] ?? ""),
    );
    if (ours.length > 0)
      fail(
        "reconciler: an invalid profile produced objects",
        ours.map((o) => `${o.kind}/${o.metadata?.name}`),
      );
    const status = cluster.profilesMap.get(subject.key)?.status as ProfileStatus | undefined;
    const ready = status?.conditions?.find((c) => c.type === "Ready");
    if (ready?.reason !== "InvalidSpec")
      fail("reconciler: an invalid profile is not reported InvalidSpec", status);
    const first = problems[0];
    if (first && !ready.message.includes(`${first.path}: `))
      fail("reconciler: InvalidSpec does not name the field", { ready, first });
  }
  // Level-triggered and idempotent: nothing changed, so a second pass writes nothing.
  cluster.calls = [];
  await reconciler.reconcile(subject.key);
  await reconciler.reconcile(namespace);
  const writes = cluster.writes();
  if (writes.length > 0) fail("reconciler: a second pass wrote again", writes);
}

function pristine(): void {
  if (Object.keys(Object.prototype).length > 0 || ({} as Obj).polluted !== undefined)
    fail("Object.prototype polluted", Object.keys(Object.prototype));
}

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

describe("fuzz: hostile profiles through validation, builders and reconciler", () => {
  beforeAll(() => {
    process.on("unhandledRejection", onUnhandled);
  });
  afterAll(() => {
    process.off("unhandledRejection", onUnhandled);
  });

  it(`holds for ${RUNS} generated profiles`, { timeout: 600_000 }, async () => {
    const input = fc.record({
      world,
      subject: fc.oneof(
        { arbitrary: rawProfile(0), weight: 3 },
        { arbitrary: rawProfile(1), weight: 5 },
        { arbitrary: rawProfile(2), weight: 2 },
      ),
      meshMode: fc.constantFrom("sidecar" as const, "ambient" as const),
      seed: fc.integer(),
    });
    await fc.assert(
      fc.asyncProperty(input, async ({ world: others, subject, meshMode, seed }) => {
        stats.runs++;
        const platform: Platform = {
          trustDomain: TRUST_DOMAIN,
          meshMode,
          now: NOW,
          maxExceptionDays: DEFAULT_PLATFORM.maxExceptionDays,
          dns: DEFAULT_PLATFORM.dns,
          istiod: DEFAULT_PLATFORM.istiod,
        };
        const worldRaws = others
          .map((w) => ({
            key: `${w.namespace}/${w.name}`,
            raw: {
              apiVersion: "meshward.io/v1alpha1",
              kind: "ServiceSecurityProfile",
              metadata: { name: w.name, namespace: w.namespace, uid: `w-${w.name}`, resourceVersion: "1" },
              spec: w.spec,
            },
          }))
          .filter((w) => w.key !== subject.key);

        let result: ReturnType<typeof validateProfile>;
        try {
          result = validateProfile(subject.raw);
        } catch (e) {
          fail("validateProfile threw", String(e));
        }
        checkProblems("validateProfile", result.problems, subject.raw);
        if (!result.ok && result.problems.length === 0) fail("rejected without a problem", null);

        const profiles = new Map<string, Profile>();
        for (const w of worldRaws) {
          const r = validateProfile(w.raw);
          if (r.ok) profiles.set(w.key, r.profile);
        }
        let profile: Profile | undefined;
        const checked = new Set<string>();
        if (result.ok) {
          stats.valid++;
          profile = result.profile;
          profiles.set(`${profile.metadata.namespace}/${profile.metadata.name}`, profile);
          const l = lost((subject.raw as Obj).spec, profile.spec, "spec");
          if (l) fail("an accepted profile lost or changed a field", l);
          const built = buildProfile(
            profile,
            makeContext({ now: NOW, meshMode, trustDomain: TRUST_DOMAIN, profiles }),
          );
          checkProblems("buildProfile", built.problems, subject.raw);
          for (const prob of built.problems)
            if (!prob.path.startsWith("spec.")) fail("builder problem outside spec", prob);
          checkObjects("buildProfile", built.objects as KubeObjectLike[], profile, false);
          checkPolicies("buildProfile", built.objects as KubeObjectLike[], profile, profiles, platform, seed);
          for (const o of built.objects) checked.add(policyKey(o as KubeObjectLike));
        }
        // The cache only ever holds objects (the informer drops anything else); garbage inside them is fair.
        if (isObj(subject.raw))
          await throughReconciler(
            worldRaws,
            subject,
            profile,
            result.problems,
            profiles,
            platform,
            seed,
            checked,
          );
        pristine();
      }),
      {
        numRuns: RUNS,
        ...(SEED !== undefined && { seed: SEED }),
        ...(PATH && { path: PATH }),
      },
    );
    expect(unhandled).toEqual([]);
    // The property says little unless many profiles are valid and the policies admit things.
    expect(stats.valid / stats.runs).toBeGreaterThan(0.3);
    expect(stats.apAllows).toBeGreaterThan(RUNS / 20);
    expect(stats.npIn).toBeGreaterThan(RUNS / 20);
    expect(stats.npOut).toBeGreaterThan(RUNS / 20);
    console.error(`fuzz: ${JSON.stringify(stats)}`);
  });

  // fast-check cannot print a counterexample nested much deeper than the generators go (500), so
  // the very deep cases are fixed ones.
  it("survives nesting 100,000 levels deep anywhere in a profile", async () => {
    let obj: unknown = "x";
    let arr: unknown = "x";
    for (let i = 0; i < 100_000; i++) {
      obj = { a: obj };
      arr = [arr];
    }
    for (const deep of [obj, arr]) {
      const specs = [
        deep,
        { selector: deep },
        { selector: { app: "a" }, ingress: deep },
        { selector: { app: "a" }, ingress: [deep] },
        { selector: { app: "a" }, ingress: [{ from: [deep], ports: deep }] },
        { selector: { app: "a" }, egress: { to: [{ cidr: deep }] } },
        { selector: { app: "a" }, exceptions: [{ type: "AuditOnly", expires: deep }] },
        { selector: { app: "a" }, extra: deep },
      ];
      for (const spec of specs) {
        const raw = {
          apiVersion: "meshward.io/v1alpha1",
          kind: "ServiceSecurityProfile",
          metadata: { name: "api", namespace: "pay", labels: deep, annotations: deep },
          spec,
          status: deep,
        };
        const r = validateProfile(raw);
        expect(r.ok).toBe(false);
        checkProblems("validateProfile", r.problems, raw);
        const cluster = new FakeCluster();
        cluster.profilesMap.set("pay/api", raw as KubeObjectLike);
        const reconciler = new Reconciler(
          cluster,
          { trustDomain: TRUST_DOMAIN, meshMode: "sidecar", defaults: DEFAULT_PLATFORM, now: () => NOW },
          { record: () => true },
          quiet,
        );
        await reconciler.reconcile("pay/api");
        const status = cluster.profilesMap.get("pay/api")?.status as ProfileStatus | undefined;
        expect(status?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("InvalidSpec");
      }
    }
  });
});
