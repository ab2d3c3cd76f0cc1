// The cluster's settings for an offline check (pure): what the operator is started with (its flags,
// the chart's values) changes verdicts, e.g. how far ahead an exception may expire. They come from
// the chart's values file (--values: trustDomain, meshMode, maxExceptionDays,
// secretRefreshInterval, as the platform team installs the chart) and from flags named as the
// operator's (--max-exception-days, ...), which win; otherwise the chart's defaults. Each value is
// checked with the operator's own rules (operator/config.ts).
import type * as z from "zod";
import { ConfigSchema } from "../config.ts";

export interface ClusterSettings {
  trustDomain: string;
  meshMode: "sidecar" | "ambient";
  maxExceptionDays: number;
  secretRefreshInterval: string;
}

/** Setting, its flag, its key in the chart's values. */
const SETTINGS = [
  ["trustDomain", "--trust-domain"],
  ["meshMode", "--mesh-mode"],
  ["maxExceptionDays", "--max-exception-days"],
  ["secretRefreshInterval", "--secret-refresh-interval"],
] as const;

type Flags = Partial<Record<keyof ClusterSettings, string | undefined>>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The settings from the chart's values (`values`, read from `valuesFile`; undefined: none given)
 * and flags, or a usage error message naming the flag or the values key.
 */
export function clusterSettings(
  values: unknown,
  valuesFile: string | undefined,
  flags: Flags,
): ClusterSettings | string {
  if (values !== undefined && values !== null && !isRecord(values))
    return `--values ${valuesFile ?? ""}: expected the chart's values (a YAML mapping such as maxExceptionDays: 180)`;
  const shape = ConfigSchema.shape as unknown as Record<keyof ClusterSettings, z.ZodType>;
  const out: Record<string, unknown> = {};
  for (const [key, flag] of SETTINGS) {
    const fromFlag = flags[key];
    const fromValues = isRecord(values) ? values[key] : undefined;
    const given = fromFlag ?? fromValues;
    const parsed = shape[key].safeParse(given);
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? "invalid";
      const where = fromFlag !== undefined ? flag : `${key} in ${valuesFile ?? "the values"}`;
      return `${where}: ${why} (got ${JSON.stringify(given)}); write it as in the chart's values.yaml, e.g. maxExceptionDays: 90, secretRefreshInterval: 1h`;
    }
    out[key] = parsed.data;
  }
  return out as unknown as ClusterSettings;
}
