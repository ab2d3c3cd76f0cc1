// `meshward admission`: the workload baseline's ValidatingAdmissionPolicies and their bindings
// (operator/policy/admission.ts, the same builders the chart's template is generated from), bound
// with a mode and namespace selector from the flags, or one pair of bindings per MeshwardPolicy
// that sets spec.admission (--policy).
import { stringify } from "yaml";
import { ADMISSION_MODES, type AdmissionMode, DEFAULT_MESH_ROOT_NAMESPACE } from "../api/policy.ts";
import { buildPerimeter } from "../perimeter/admission.ts";
import {
  type BindingOptions,
  baselinePolicy,
  buildAdmission,
  buildAdmissionForPolicies,
  serviceAccountPolicy,
} from "../policy/admission.ts";
import { EXIT } from "./check.ts";
import { loadProfiles } from "./load.ts";
import { parseLabels } from "./policy.ts";
import { formatProblem } from "./report.ts";

/** The manifest `meshward admission` prints: YAML documents, ready for kubectl apply. */
export function admissionManifest(opts: BindingOptions): string {
  return buildAdmission(opts)
    .map((o) => stringify(o, { lineWidth: 0 }))
    .join("---\n");
}

export const DEFAULT_ADMISSION_MODE: AdmissionMode = "Audit";

export interface AdmissionArgs {
  inputs: readonly string[];
  output: "yaml" | "json";
  mode?: string;
  /** "k=v,k2=v2". */
  namespaceSelector?: string;
  policyPaths?: string[];
  readStdin?: () => string;
  /** --perimeter, with --operator and --mesh-root as given. */
  perimeter?: { operator: string | undefined; meshRoot: string | undefined };
}

/** A usage error (exit 2 with the usage hint), or what to print and the exit code. */
export type AdmissionResult = { usage: string } | { code: number; out: string; err: string[] };

function print(objects: readonly unknown[], output: AdmissionArgs["output"]): string {
  return output === "json"
    ? `${JSON.stringify(objects, null, 2)}\n`
    : objects.map((o) => stringify(o, { lineWidth: 0 })).join("---\n");
}

const NAMESPACED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)[/]([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function perimeter(a: AdmissionArgs, flags: NonNullable<AdmissionArgs["perimeter"]>): AdmissionResult {
  if (a.policyPaths !== undefined || a.namespaceSelector !== undefined)
    return {
      usage: `--perimeter and --${a.policyPaths !== undefined ? "policy" : "namespace-selector"} exclude each other: the perimeter reads the MeshwardPolicies in the cluster`,
    };
  const mode = a.mode ?? "Deny";
  if (!(ADMISSION_MODES as readonly string[]).includes(mode))
    return { usage: `--mode must be one of ${ADMISSION_MODES.join(", ")}, not "${mode}"` };
  const sa = NAMESPACED_NAME.exec(flags.operator ?? "meshward-system/meshward");
  if (!sa)
    return {
      usage: `--operator must be meshward's ServiceAccount as <namespace>/<name>, e.g. meshward-system/meshward`,
    };
  const meshRoot = flags.meshRoot ?? DEFAULT_MESH_ROOT_NAMESPACE;
  if (!NAMESPACE.test(meshRoot)) return { usage: `--mesh-root must be a namespace name, e.g. istio-system` };
  const objects = buildPerimeter({
    operator: { namespace: sa[1] ?? "", name: sa[3] ?? "" },
    meshRootNamespace: meshRoot,
    mode: mode as AdmissionMode,
  });
  return { code: EXIT.valid, out: print(objects, a.output), err: [] };
}

export function admission(a: AdmissionArgs): AdmissionResult {
  if (a.inputs.length > 0)
    return { usage: `meshward admission takes no inputs (got ${a.inputs.join(" ")}); use --policy FILE` };
  if (a.perimeter) return perimeter(a, a.perimeter);
  if (a.policyPaths === undefined) {
    const mode = a.mode ?? DEFAULT_ADMISSION_MODE;
    if (!(ADMISSION_MODES as readonly string[]).includes(mode))
      return { usage: `--mode must be one of ${ADMISSION_MODES.join(", ")}, not "${mode}"` };
    const selector = a.namespaceSelector ? parseLabels(a.namespaceSelector, "--namespace-selector") : {};
    if (typeof selector === "string") return { usage: selector };
    const opts = { mode: mode as AdmissionMode, namespaceSelector: selector };
    const out = a.output === "json" ? print(buildAdmission(opts), "json") : admissionManifest(opts);
    return { code: EXIT.valid, out, err: [] };
  }
  if (a.mode !== undefined || a.namespaceSelector !== undefined)
    return {
      usage: `--${a.mode !== undefined ? "mode" : "namespace-selector"} and --policy exclude each other: with --policy each MeshwardPolicy's spec.admission and namespaceSelector decide`,
    };
  const loaded = loadProfiles([], { readStdin: a.readStdin, policyPaths: a.policyPaths });
  const problems = loaded.problems;
  if (problems.length > 0)
    return {
      code: problems.some((p) => p.io) ? EXIT.usage : EXIT.invalid,
      out: "",
      err: [
        ...problems.map(formatProblem),
        `meshward admission: ${problems.length} error${problems.length === 1 ? "" : "s"}; nothing printed`,
      ],
    };
  const bound = buildAdmissionForPolicies(loaded.policies.map((l) => l.policy));
  const err =
    bound.length > 0
      ? []
      : [
          `meshward admission: no MeshwardPolicy among ${loaded.policies.length} sets spec.admission: the admission policies are printed without bindings (they take effect only once bound)`,
        ];
  return {
    code: EXIT.valid,
    out: print([serviceAccountPolicy(), baselinePolicy(), ...bound], a.output),
    err,
  };
}
