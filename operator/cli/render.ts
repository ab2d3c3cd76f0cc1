// `meshward render`: every object the given profiles produce, as YAML (pure over loaded profiles).
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
import type { FileProblem, LoadedProfile } from "./load.ts";

export interface RenderResult {
  yaml: string;
  objects: KubeObject[];
  problems: FileProblem[];
}

function sortProfiles(profiles: LoadedProfile[]): LoadedProfile[] {
  return [...profiles].sort(
    (a, b) =>
      byString(a.profile.metadata.namespace, b.profile.metadata.namespace) ||
      byString(a.profile.metadata.name, b.profile.metadata.name),
  );
}

export function render(loaded: LoadedProfile[], base: Omit<BuildContext, "profiles">): RenderResult {
  const ctx: BuildContext = { ...base, profiles: indexProfiles(loaded.map((l) => l.profile)) };
  const docs: string[] = [];
  const objects: KubeObject[] = [];
  const problems: FileProblem[] = [];
  const perNamespace = new Map<string, Profile[]>();
  for (const l of sortProfiles(loaded)) {
    const ns = l.profile.metadata.namespace;
    perNamespace.set(ns, [...(perNamespace.get(ns) ?? []), l.profile]);
  }
  for (const [ns, profiles] of perNamespace) {
    for (const o of buildNamespace(ns, profiles.length)) {
      objects.push(o);
      docs.push(`# shared by every profile in namespace ${ns}\n${stringify(o, { lineWidth: 0 })}`);
    }
    for (const p of profiles) {
      const key = `${ns}/${p.metadata.name}`;
      const file = loaded.find((l) => l.profile === p)?.file ?? "";
      const result = buildProfile(p, ctx);
      for (const prob of result.problems) problems.push({ file, profile: key, ...prob });
      for (const o of result.objects) {
        objects.push(o);
        docs.push(`# from ServiceSecurityProfile ${key}\n${stringify(o, { lineWidth: 0 })}`);
      }
    }
  }
  return { yaml: docs.join("---\n"), objects, problems };
}
