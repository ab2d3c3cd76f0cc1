// Operator configuration from flags and environment, validated with zod. Flags win over env.
import { parseArgs } from "node:util";
import * as os from "node:os";
import * as z from "zod";

const boolish = z.union([
  z.boolean(),
  z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1"),
]);

export const ConfigSchema = z
  .object({
    namespaces: z
      .string()
      .default("")
      .transform((s) =>
        s
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
      )
      .pipe(
        z
          .array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "each namespace must be a DNS label"))
          .max(100),
      )
      .describe("Namespaces to watch, comma-separated; empty means all."),
    concurrency: z.coerce.number().int().min(1).max(64).default(4),
    trustDomain: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[a-zA-Z0-9.-]+$/, "trust domain must be a DNS name such as cluster.local")
      .default("cluster.local"),
    meshMode: z.enum(["sidecar", "ambient"]).default("sidecar"),
    leaderElection: boolish.default(true),
    leaderElectionNamespace: z
      .string()
      .min(1)
      .default(process.env.POD_NAMESPACE ?? "meshward-system"),
    leaseName: z.string().min(1).default("meshward-leader"),
    identity: z.string().min(1).default(`${os.hostname()}_${process.pid}`),
    metricsPort: z.coerce.number().int().min(0).max(65535).default(8080),
    metricsHost: z.string().default("0.0.0.0"),
    metricsSecure: boolish
      .default(true)
      .describe("HTTPS, and only for callers the API server authenticates and authorizes (ADR 13)."),
    metricsCertDir: z.string().min(1).optional(),
    healthPort: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(8081)
      .describe("Port of /healthz and /readyz; 0 serves them on the metrics port (plain-HTTP metrics only)."),
    livenessWatchSeconds: z.coerce
      .number()
      .int()
      .min(60)
      .max(86_400)
      .default(600)
      .describe("/healthz fails once a watch has heard nothing from the API server for this long."),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
    resyncMinutes: z.coerce
      .number()
      .min(1)
      .max(24 * 60)
      .default(600),
    maxExceptionDays: z.coerce.number().int().min(1).max(3650).default(90),
    secretRefreshInterval: z
      .string()
      .regex(/^([0-9]+(ms|s|m|h))+$/, "a duration such as 1h")
      .default("1h"),
    shutdownTimeoutSeconds: z.coerce.number().min(1).max(300).default(20),
    openreports: boolish
      .default(false)
      .describe("Keep meshward's findings as OpenReports Report/ClusterReport objects (docs/reports.md)."),
    kubeconfig: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    // The kubelet probes without a token: with HTTPS metrics the probes need a plain port.
    if (c.metricsSecure && c.metricsPort > 0 && (c.healthPort === 0 || c.healthPort === c.metricsPort))
      ctx.addIssue({
        code: "custom",
        path: ["healthPort"],
        message: `must be a port of its own (e.g. 8081) while /metrics is served over HTTPS on ${c.metricsPort}: the probes stay plain HTTP; or set --metrics-secure false`,
      });
    if (!c.metricsSecure && c.metricsCertDir)
      ctx.addIssue({
        code: "custom",
        path: ["metricsCertDir"],
        message: "is for HTTPS metrics; it cannot be used with --metrics-secure false",
      });
  });

export type Config = z.output<typeof ConfigSchema>;

const FLAGS = {
  namespaces: "MESHWARD_NAMESPACES",
  concurrency: "MESHWARD_CONCURRENCY",
  "trust-domain": "MESHWARD_TRUST_DOMAIN",
  "mesh-mode": "MESHWARD_MESH_MODE",
  "leader-election": "MESHWARD_LEADER_ELECTION",
  "leader-election-namespace": "MESHWARD_LEADER_ELECTION_NAMESPACE",
  "lease-name": "MESHWARD_LEASE_NAME",
  identity: "MESHWARD_IDENTITY",
  "metrics-port": "MESHWARD_METRICS_PORT",
  "metrics-host": "MESHWARD_METRICS_HOST",
  "metrics-secure": "MESHWARD_METRICS_SECURE",
  "metrics-cert-dir": "MESHWARD_METRICS_CERT_DIR",
  "health-port": "MESHWARD_HEALTH_PORT",
  "liveness-watch-seconds": "MESHWARD_LIVENESS_WATCH_SECONDS",
  "log-level": "MESHWARD_LOG_LEVEL",
  "resync-minutes": "MESHWARD_RESYNC_MINUTES",
  "max-exception-days": "MESHWARD_MAX_EXCEPTION_DAYS",
  "secret-refresh-interval": "MESHWARD_SECRET_REFRESH_INTERVAL",
  "shutdown-timeout-seconds": "MESHWARD_SHUTDOWN_TIMEOUT_SECONDS",
  openreports: "MESHWARD_OPENREPORTS",
  kubeconfig: "KUBECONFIG",
} as const;

/** What each flag does, for --help. */
const HELP: Record<keyof typeof FLAGS, string> = {
  namespaces: "namespaces to watch, comma-separated; empty means all",
  concurrency: "profiles reconciled at once (1-64)",
  "trust-domain": "SPIFFE trust domain of the mesh",
  "mesh-mode": "sidecar or ambient",
  "leader-election": "elect one active replica through a Lease (true/false)",
  "leader-election-namespace": "namespace of the Lease (POD_NAMESPACE when set)",
  "lease-name": "name of the Lease",
  identity: "this replica's name in the Lease (hostname_pid)",
  "metrics-port": "port of /metrics; 0 turns it off",
  "metrics-host": "address the metrics and health servers listen on",
  "metrics-secure":
    "HTTPS /metrics, only for bearer tokens the API server lets get /metrics; false: plain HTTP for all",
  "metrics-cert-dir":
    "directory with tls.crt and tls.key for /metrics, re-read when they change (default: a self-signed certificate made at start)",
  "health-port":
    "port of /healthz and /readyz (plain HTTP); 0 serves them on the metrics port, only with --metrics-secure false",
  "liveness-watch-seconds": "/healthz fails when a watch has not heard from the API server for this long",
  "log-level": "trace, debug, info, warn, error or fatal",
  "resync-minutes": "minutes between full resyncs",
  "max-exception-days": "longest exception a profile may declare, in days",
  "secret-refresh-interval": "default refreshInterval of ExternalSecrets (e.g. 1h)",
  "shutdown-timeout-seconds": "seconds to finish running work on SIGTERM",
  openreports:
    "keep a Report per namespace and a ClusterReport (openreports.io) with meshward's findings (true/false)",
  kubeconfig: "kubeconfig file (default: in-cluster, then ~/.kube/config)",
};

/** `--help` or `--version` among the arguments: answered before any configuration is read. */
export function infoRequest(argv: string[]): "help" | "version" | undefined {
  if (argv.some((a) => a === "--help" || a === "-h")) return "help";
  if (argv.some((a) => a === "--version" || a === "-v")) return "version";
  return undefined;
}

/** The operator's --help: every flag with its environment variable and default. */
export function usage(): string {
  const shape = ConfigSchema.shape as Record<string, z.ZodType>;
  const lines = Object.entries(FLAGS).map(([flag, envName]) => {
    const def = (shape[camel(flag)] as unknown as { _zod: { def: { defaultValue?: unknown } } })._zod.def;
    const dflt =
      def.defaultValue === undefined || def.defaultValue === ""
        ? ""
        : ` (default ${String(def.defaultValue)})`;
    return `  --${flag} <value>`.padEnd(40) + `${envName}\n      ${HELP[flag as keyof typeof FLAGS]}${dflt}`;
  });
  return [
    "Usage: meshward-operator [flags]   (the container runs node dist/operator/main.js)",
    "",
    "The meshward operator. Every flag can also be set by its environment variable; a flag wins.",
    "",
    "Flags:                                  Environment:",
    ...lines,
    "  -h, --help                            show this help",
    "  -v, --version                         print the version",
    "",
    "Exit codes: 0 stopped cleanly; 1 lost leadership or failed; 2 invalid configuration.",
    "",
  ].join("\n");
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

export class ConfigError extends Error {}

/** Reads flags (argv) and environment; throws ConfigError with one line per bad setting. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: "string" as const }])),
      allowPositionals: false,
    }).values as Record<string, string | undefined>;
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const raw: Record<string, unknown> = {};
  for (const [flag, envName] of Object.entries(FLAGS)) {
    const v = values[flag] ?? env[envName];
    if (v !== undefined && v !== "") raw[camel(flag)] = v;
  }
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues
        .map((i) => {
          const key = String(i.path[0] ?? "");
          const flag = Object.keys(FLAGS).find((f) => camel(f) === key) ?? key;
          return `--${flag} (${FLAGS[flag as keyof typeof FLAGS] ?? ""}): ${i.message}`;
        })
        .join("\n"),
    );
  }
  return r.data;
}
