// Derives the CustomResourceDefinition from the zod schema (pure).
import * as z from "zod";
import {
  CATEGORIES,
  GROUP,
  KIND,
  NAME_RULE,
  PLURAL,
  RESERVED_NAME_RULE,
  ProfileSpec,
  ProfileStatus,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from "./schema.ts";
import {
  POLICY_KIND,
  POLICY_PLURAL,
  POLICY_SHORT_NAMES,
  POLICY_SINGULAR,
  PolicySpec,
  PolicyStatus,
} from "./policy.ts";

type JsonSchema = Record<string, unknown>;

/**
 * Turns zod's OpenAPI output into a Kubernetes structural schema: no `additionalProperties: false`
 * (the API server prunes unknown fields instead), no `propertyNames`, no regex on date-times
 * (format date-time is checked by the server), no JSON-Schema bookkeeping keys.
 */
export function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (typeof node !== "object" || node === null) return node;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node as JsonSchema)) {
    if (k === "$schema" || k === "propertyNames" || k === "id") continue;
    if (k === "additionalProperties" && v === false) continue;
    if (k === "pattern" && (node as JsonSchema).format === "date-time") continue;
    // x-kubernetes-validations are data, not schemas: keep them verbatim.
    out[k] = k === "x-kubernetes-validations" || k === "enum" || k === "default" ? v : structural(v);
  }
  if (out.properties !== undefined && out.type === undefined) out.type = "object";
  return out;
}

function toSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  return structural(
    z.toJSONSchema(schema, { target: "openapi-3.0", io, unrepresentable: "throw" }),
  ) as JsonSchema;
}

interface KindDef {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: "Namespaced" | "Cluster";
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  columns: Record<string, unknown>[];
  rootRules: { rule: string; message: string; optionalOldSelf?: boolean }[];
}

const conditionColumn = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;

function crdOf(def: KindDef): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${def.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "meshward", "app.kubernetes.io/part-of": "meshward" },
    },
    spec: {
      group: GROUP,
      scope: def.scope,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: CATEGORIES,
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.columns,
          schema: {
            openAPIV3Schema: {
              description: def.description,
              type: "object",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: toSchema(def.spec, "input"),
                status: toSchema(def.status, "output"),
              },
              ...(def.rootRules.length > 0 && { "x-kubernetes-validations": def.rootRules }),
            },
          },
        },
      ],
    },
  };
}

export function buildCrd(): Record<string, unknown> {
  return crdOf({
    kind: KIND,
    plural: PLURAL,
    singular: SINGULAR,
    shortNames: SHORT_NAMES,
    scope: "Namespaced",
    description:
      "ServiceSecurityProfile declares what one service needs to be zero-trust: its identity, mTLS, who may call it, what it may call, end-user JWTs and secrets. meshward generates and keeps the matching Istio, Kubernetes and External Secrets objects.",
    spec: ProfileSpec,
    status: ProfileStatus,
    columns: [
      { name: "Ready", type: "string", jsonPath: conditionColumn("Ready") },
      { name: "Drifted", type: "string", jsonPath: conditionColumn("Drifted") },
      { name: "Secrets", type: "string", jsonPath: conditionColumn("SecretsReady") },
      { name: "Policy", type: "string", jsonPath: `.status.conditions[?(@.type=="Compliant")].reason` },
      // Objects meshward did not create that open more than the profile declares (operator/perimeter).
      { name: "Widened", type: "string", jsonPath: conditionColumn("Widened") },
      { name: "Dataplane", type: "string", jsonPath: ".status.dataplane.mode", priority: 1 },
      {
        name: "Reason",
        type: "string",
        jsonPath: `.status.conditions[?(@.type=="Ready")].reason`,
        priority: 1,
      },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
    rootRules: [
      { rule: NAME_RULE.cel, message: NAME_RULE.message },
      // At create only (metadata.name never changes): a profile an older CRD let in keeps its
      // status writable and can be deleted; the operator builds nothing for it.
      {
        rule: `oldSelf.hasValue() || ${RESERVED_NAME_RULE.cel}`,
        message: RESERVED_NAME_RULE.message,
        optionalOldSelf: true,
      },
    ],
  });
}

/** The cluster-scoped MeshwardPolicy CRD (operator/api/policy.ts). Service teams get no RBAC on it. */
export function buildPolicyCrd(): Record<string, unknown> {
  return crdOf({
    kind: POLICY_KIND,
    plural: POLICY_PLURAL,
    singular: POLICY_SINGULAR,
    shortNames: POLICY_SHORT_NAMES,
    scope: "Cluster",
    description:
      "MeshwardPolicy is written by the platform team: guardrails on what profiles of the selected namespaces may ask for (Enforce or Audit), approvals of exceptions, baseline rules every profile gets, an emergency quarantine of identities, and the workload baseline at admission.",
    spec: PolicySpec,
    status: PolicyStatus,
    columns: [
      { name: "Ready", type: "string", jsonPath: conditionColumn("Ready") },
      { name: "Namespaces", type: "integer", jsonPath: ".status.namespaceCount" },
      { name: "Profiles", type: "integer", jsonPath: ".status.profileCount" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
    rootRules: [],
  });
}
