// Validation of a raw object as a MeshwardPolicy: the rules the CRD enforces at apply time, run
// offline (`meshward validate --policy`) and by the operator (an older CRD may be installed).
import { API_VERSION } from "./schema.ts";
import { type MeshwardPolicy, POLICY_KIND, PolicySpec } from "./policy.ts";
import { type Problem, zodProblems } from "./validate.ts";

export type PolicyValidation =
  { ok: true; policy: MeshwardPolicy; problems: [] } | { ok: false; problems: Problem[] };

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Never throws. */
export function validatePolicy(raw: unknown): PolicyValidation {
  if (!isRecord(raw))
    return { ok: false, problems: [{ path: "(root)", message: "expected a YAML mapping (an object)" }] };
  const problems: Problem[] = [];
  if (raw.apiVersion !== API_VERSION)
    problems.push({ path: "apiVersion", message: `must be ${API_VERSION}` });
  if (raw.kind !== POLICY_KIND) problems.push({ path: "kind", message: `must be ${POLICY_KIND}` });
  const meta = isRecord(raw.metadata) ? raw.metadata : undefined;
  const name = meta?.name;
  if (typeof name !== "string" || !NAME.test(name) || name.length > 253)
    problems.push({
      path: "metadata.name",
      message: "is required: a lowercase object name such as default or payments-secrets",
    });
  if (meta?.namespace !== undefined)
    problems.push({
      path: "metadata.namespace",
      message: "must be omitted: a MeshwardPolicy is cluster-scoped",
    });
  if (raw.spec === undefined) {
    problems.push({ path: "spec", message: "is required" });
    return { ok: false, problems };
  }
  const parsed = PolicySpec.safeParse(raw.spec, { reportInput: true });
  if (!parsed.success) problems.push(...zodProblems(parsed.error, ["spec"]));
  if (problems.length > 0 || !parsed.success || typeof name !== "string") return { ok: false, problems };
  const metadata: MeshwardPolicy["metadata"] = { name };
  if (typeof meta?.uid === "string") metadata.uid = meta.uid;
  if (typeof meta?.generation === "number") metadata.generation = meta.generation;
  if (typeof meta?.creationTimestamp === "string") metadata.creationTimestamp = meta.creationTimestamp;
  return {
    ok: true,
    policy: { apiVersion: API_VERSION, kind: POLICY_KIND, metadata, spec: parsed.data },
    problems: [],
  };
}
