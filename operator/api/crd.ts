// Derives the CustomResourceDefinition from the zod schema (pure).
import * as z from "zod";
import {
  CATEGORIES,
  GROUP,
  KIND,
  NAME_RULE,
  PLURAL,
  ProfileSpec,
  ProfileStatus,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from "./schema.ts";

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

export function buildCrd(): Record<string, unknown> {
  const conditionColumn = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "meshward", "app.kubernetes.io/part-of": "meshward" },
    },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: SHORT_NAMES,
        categories: CATEGORIES,
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Ready", type: "string", jsonPath: conditionColumn("Ready") },
            { name: "Drifted", type: "string", jsonPath: conditionColumn("Drifted") },
            { name: "Secrets", type: "string", jsonPath: conditionColumn("SecretsReady") },
            {
              name: "Reason",
              type: "string",
              jsonPath: `.status.conditions[?(@.type=="Ready")].reason`,
              priority: 1,
            },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              description:
                "ServiceSecurityProfile declares what one service needs to be zero-trust: its identity, mTLS, who may call it, what it may call, end-user JWTs and secrets. meshward generates and keeps the matching Istio, Kubernetes and External Secrets objects.",
              type: "object",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: toSchema(ProfileSpec, "input"),
                status: toSchema(ProfileStatus, "output"),
              },
              "x-kubernetes-validations": [{ rule: NAME_RULE.cel, message: NAME_RULE.message }],
            },
          },
        },
      ],
    },
  };
}
