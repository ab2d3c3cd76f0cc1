// `meshward render`: every object the given profiles produce, as YAML (pure over loaded profiles).
// With platform policies, the profiles are the effective ones (operator/cli/policy.ts) and the
// quarantine objects follow; comment lines say which rules a policy added. With --cluster-tier, the
// platform tier's ClusterNetworkPolicies (ADR 15) come last.
import { stringify } from "yaml";
import type { Profile } from "../api/schema.ts";
import {
  type BuildContext,
  buildNamespace,
  buildProfile,
  byString,
  indexProfiles,
  type KubeObject,
} from "../builders/index.ts";
import type { Dataplane } from "../builders/dataplane.ts";
import type { ClusterNetworkPolicy } from "../policy/cluster-tier.ts";
import type { NamespaceDecision } from "../policy/fleet.ts";
import { escapeControls } from "../api/escape.ts";
import type { FileProblem, LoadedProfile } from "./load.ts";
import type { BaselineEntry } from "./policy.ts";

export interface RenderResult {
  yaml: string;
  objects: (KubeObject | ClusterNetworkPolicy)[];
  problems: FileProblem[];
}

/** What the platform's policies decided, for rendering (absent: no policy given). */
export interface RenderPolicy {
  namespaces: ReadonlyMap<string, NamespaceDecision>;
  baseline: readonly BaselineEntry[];
  quarantine: readonly KubeObject[];
  /** The platform tier's ClusterNetworkPolicies, when asked for (--cluster-tier). */
  clusterTier?: readonly ClusterNetworkPolicy[];
}

function sortProfiles(profiles: LoadedProfile[]): LoadedProfile[] {
  return [...profiles].sort(
    (a, b) =>
      byString(a.profile.metadata.namespace, b.profile.metadata.namespace) ||
      byString(a.profile.metadata.name, b.profile.metadata.name),
  );
}

/** One comment line per baseline rule a policy added to the profile (the rule's strings escaped). */
function baselineComments(key: string, policy: RenderPolicy | undefined): string {
  return (policy?.baseline ?? [])
    .filter((b) => b.profile === key)
    .map(
      (b) =>
        `${escapeControls(`# baseline rule from MeshwardPolicy ${b.policies.join(", ")}: ${b.path} ${JSON.stringify(b.rule)}`)}\n`,
    )
    .join("");
}

/**
 * `dataplane` says which data plane a namespace has (its labels, else the default: as the
 * operator decides, operator/builders/dataplane.ts); without it every namespace has base.meshMode.
 * A profile's own spec.dataplaneMode wins either way (buildProfile).
 */
export function render(
  loaded: LoadedProfile[],
  base: Omit<BuildContext, "profiles">,
  policy?: RenderPolicy,
  dataplane?: (namespace: string) => Dataplane,
): RenderResult {
  const ctx: BuildContext = { ...base, profiles: indexProfiles(loaded.map((l) => l.profile)) };
  const docs: string[] = [];
  const objects: RenderResult["objects"] = [];
  const problems: FileProblem[] = [];
  const perNamespace = new Map<string, LoadedProfile[]>();
  const sharedSeen = new Set<string>();
  for (const l of sortProfiles(loaded)) {
    const ns = l.profile.metadata.namespace;
    perNamespace.set(ns, [...(perNamespace.get(ns) ?? []), l]);
  }
  for (const [ns, profiles] of perNamespace) {
    const decision = policy?.namespaces.get(ns);
    const plane = dataplane?.(ns);
    const nsCtx = plane ? { ...ctx, meshMode: plane.mode } : ctx;
    let note =
      plane?.source === "Namespace"
        ? `${escapeControls(`# namespace ${ns}: ${plane.mode} data plane (${plane.message})`)}\n`
        : "";
    if (decision && !decision.createDefaultDeny)
      note += `# no namespace-wide default deny in ${ns}: adoption is Audit (MeshwardPolicy ${decision.policies.join(", ")})\n`;
    else
      for (const o of buildNamespace(ns, profiles.length)) {
        objects.push(o);
        docs.push(`${note}# shared by every profile in namespace ${ns}\n${stringify(o, { lineWidth: 0 })}`);
        note = "";
      }
    for (const { file, profile } of profiles) {
      const key = `${ns}/${profile.metadata.name}`;
      const result = buildProfile(profile as Profile, nsCtx);
      for (const prob of result.problems) problems.push({ file, profile: key, ...prob });
      const marks = baselineComments(key, policy);
      result.objects.forEach((o, i) => {
        objects.push(o);
        const head = i === 0 ? `${note}${marks}` : "";
        docs.push(`${head}# from ServiceSecurityProfile ${key}\n${stringify(o, { lineWidth: 0 })}`);
      });
      if (result.objects.length > 0) note = "";
      for (const o of result.shared ?? []) {
        const id = `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
        if (sharedSeen.has(id)) continue;
        sharedSeen.add(id);
        objects.push(o);
        docs.push(
          `# shared by the profiles of namespace ${ns} with http rules or token checks (ambient)\n${stringify(o, { lineWidth: 0 })}`,
        );
      }
    }
  }
  for (const o of policy?.quarantine ?? []) {
    objects.push(o);
    docs.push(`# emergency quarantine (MeshwardPolicy spec.quarantine)\n${stringify(o, { lineWidth: 0 })}`);
  }
  for (const o of policy?.clusterTier ?? []) {
    objects.push(o);
    docs.push(
      `# platform tier (${o.spec.tier}), where the ClusterNetworkPolicy CRD is installed\n${stringify(o, { lineWidth: 0 })}`,
    );
  }
  return { yaml: docs.join("---\n"), objects, problems };
}
