// Secret health (pure): folds the status that External Secrets Operator writes on each generated
// ExternalSecret into the profile: one entry per secret (ESO's Ready condition, last refresh), the
// SecretsReady condition, the Events to record on a change and a summary for metrics. meshward
// reads the ExternalSecret only, never the Secret.
import type { ObjectStatus, Profile, SecretSpec, SecretStatus } from "../api/schema.ts";

export const SECRETS_READY = "SecretsReady";
/** The Ready/Degraded reason while a secret cannot be synced (the Argo CD health check maps it to Degraded). */
export const SECRET_SYNC_FAILED = "SecretSyncFailed";

type ConditionStatus = SecretStatus["ready"];

export interface SecretInput {
  spec: SecretSpec;
  /** The generated object's entry in status.objects (its state decides whether ESO's status can be read). */
  object: ObjectStatus | undefined;
  /** The cached ExternalSecret, when it is ours; undefined if not (yet) in the cache. */
  live: unknown;
  /** ESO's detailed error for a failing secret (its newest UpdateFailed event), when read. */
  detail?: string;
  /** The reconcile's time: a dynamic credential past its expiresAt is reported as failing. */
  now?: Date;
}

/** The reason of a dynamic credential whose lease ended with no newer one fetched. */
export const LEASE_EXPIRED = "LeaseExpired";
/** The reason of a dynamic credential still valid but not replaced in LEASE_WARN_SHARE of its lease. */
export const LEASE_ENDING = "LeaseEnding";
/** ESO refreshing at most every half lease replaces a credential well before this share of it. */
const LEASE_WARN_SHARE = 0.75;

/** When a lease not renewed by then is reported as ending (ms since the epoch). */
export function leaseWarnTime(lease: { issuedAt: string; expiresAt: string }): number {
  const issued = Date.parse(lease.issuedAt);
  return issued + (Date.parse(lease.expiresAt) - issued) * LEASE_WARN_SHARE;
}

export interface SecretEvent {
  type: "Normal" | "Warning";
  reason: "SecretSynced" | "SecretSyncFailed" | "SecretLeaseEnding";
  note: string;
  /** The ExternalSecret the event is about. */
  name: string;
}

export interface SecretHealth {
  entries: SecretStatus[];
  condition: { type: typeof SECRETS_READY; status: ConditionStatus; reason: string; message: string };
  /** Set when at least one secret cannot be synced: the Degraded/Ready reason and message. */
  failure?: { reason: typeof SECRET_SYNC_FAILED; message: string };
  events: SecretEvent[];
  summary: { ready: number; failing: number; pending: number };
}

const MAX_MESSAGE = 1000;

function clip(s: string, max = MAX_MESSAGE): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Vault's errors span lines ("Code: 403. Errors:\n\n* permission denied"): one line, spaces collapsed. */
export function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** What ESO wrote, read defensively (the cache hands over whatever the API server has). */
export function readEsoStatus(live: unknown): {
  generation?: number;
  ready?: { status: ConditionStatus; reason: string; message: string };
  refreshTime?: string;
  syncedResourceVersion?: string;
} {
  if (!isRecord(live)) return {};
  const meta = isRecord(live.metadata) ? live.metadata : {};
  const status = isRecord(live.status) ? live.status : {};
  const out: ReturnType<typeof readEsoStatus> = {};
  if (typeof meta.generation === "number" && Number.isSafeInteger(meta.generation))
    out.generation = meta.generation;
  const conditions = Array.isArray(status.conditions) ? (status.conditions as unknown[]) : [];
  const ready = conditions.find((c): c is Record<string, unknown> => isRecord(c) && c.type === "Ready");
  if (ready && (ready.status === "True" || ready.status === "False" || ready.status === "Unknown")) {
    out.ready = {
      status: ready.status,
      reason: str(ready.reason) ?? "Unknown",
      message: str(ready.message) ?? "",
    };
  }
  const refresh = str(status.refreshTime);
  if (refresh && DATE_TIME.test(refresh) && refresh.length <= 64) out.refreshTime = refresh;
  const synced = str(status.syncedResourceVersion);
  if (synced) out.syncedResourceVersion = synced.slice(0, 256);
  return out;
}

/** "payments/database (property password)" for every remote reference of the secret. */
export function remoteKeys(spec: SecretSpec): string {
  const keys = spec.data.map((d) =>
    d.remoteRef.property ? `${d.remoteRef.key} (property ${d.remoteRef.property})` : d.remoteRef.key,
  );
  return `remote key${keys.length === 1 ? "" : "s"} ${keys.join(", ")}`;
}

function store(spec: SecretSpec): string {
  return `${spec.storeRef.kind} ${spec.storeRef.name}`;
}

/** A duration as the schema accepts it (e.g. 1h30m, 40s, 500ms) in milliseconds. */
export function durationMs(d: string): number | undefined {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = d;
  while (rest !== "") {
    const m = /^(\d+)(ms|s|m|h)/.exec(rest);
    if (!m?.[1] || !m[2]) return undefined;
    total += Number(m[1]) * (unit[m[2]] ?? 0);
    rest = rest.slice(m[0].length);
  }
  return d === "" || !Number.isSafeInteger(total) ? undefined : total;
}

/**
 * A dynamic credential's lease (spec leaseTTL): issued at ESO's last successful fetch (each read of a
 * dynamic path issues a new credential), expiring leaseTTL later. Nothing without both.
 */
export function leaseOf(
  spec: SecretSpec,
  refreshTime: string | undefined,
): { issuedAt: string; expiresAt: string } | undefined {
  const ttl = spec.leaseTTL === undefined ? undefined : durationMs(spec.leaseTTL);
  const issued = refreshTime === undefined ? NaN : Date.parse(refreshTime);
  if (ttl === undefined || !Number.isFinite(issued)) return undefined;
  return {
    issuedAt: new Date(issued).toISOString().replace(".000Z", "Z"),
    expiresAt: new Date(issued + ttl).toISOString().replace(".000Z", "Z"),
  };
}

/** One secret's entry: ESO's verdict when it can be trusted, else why it cannot be read yet. */
export function secretEntry(input: SecretInput): SecretStatus {
  // (a dynamic credential's lease: see leaseOf; its end is checked against input.now)
  const name = input.spec.name;
  const pending = (reason: string, message: string): SecretStatus => ({
    name,
    ready: "Unknown",
    reason,
    message,
  });
  const state = input.object?.state;
  if (state === "Conflict")
    return pending(
      "NotManaged",
      "an ExternalSecret with this name belongs to someone else; its status is not read",
    );
  if (state === "Missing" || input.live === undefined) {
    const why = input.object?.message ?? "not created yet";
    return pending(
      input.object?.message?.includes("CRD is not installed") ? "ExternalSecretsNotInstalled" : "NotCreated",
      `the ExternalSecret does not exist: ${why}`,
    );
  }
  const eso = readEsoStatus(input.live);
  const lease = leaseOf(input.spec, eso.refreshTime);
  const extra = {
    ...(eso.refreshTime && { refreshTime: eso.refreshTime }),
    ...lease,
    ...(eso.syncedResourceVersion && { syncedResourceVersion: eso.syncedResourceVersion }),
  };
  if (!eso.ready) {
    return {
      ...pending(
        "Pending",
        `External Secrets Operator has not reported on it yet (is ESO running, and does ${store(input.spec)} exist?)`,
      ),
      ...extra,
    };
  }
  // ESO's syncedResourceVersion is "<generation>-<hash>": a success for an older spec is not one yet.
  const syncedGeneration = Number(/^(\d+)-/.exec(eso.syncedResourceVersion ?? "")?.[1]);
  if (
    eso.ready.status === "True" &&
    eso.generation !== undefined &&
    Number.isSafeInteger(syncedGeneration) &&
    syncedGeneration !== eso.generation
  ) {
    return {
      ...pending(
        "Pending",
        `External Secrets Operator has not synced the current spec (generation ${eso.generation}) yet`,
      ),
      ...extra,
    };
  }
  // A dynamic credential past its lease, which ESO still calls synced (ESO stopped, or not refreshing):
  // the workload holds a dead credential. Reported as failing, so the alert fires.
  if (eso.ready.status === "True" && lease && input.now && input.now.getTime() >= Date.parse(lease.expiresAt))
    return {
      name,
      ready: "False",
      reason: LEASE_EXPIRED,
      message: `the credential issued at ${lease.issuedAt} expired at ${lease.expiresAt} (leaseTTL ${input.spec.leaseTTL ?? ""}) and no newer one was fetched: is External Secrets Operator running and refreshing (refreshInterval shorter than leaseTTL)?`,
      ...extra,
    };
  // Still valid, but a refresh should have replaced it by now: warn while there is time to act.
  if (eso.ready.status === "True" && lease && input.now && input.now.getTime() >= leaseWarnTime(lease))
    return {
      name,
      ready: "True",
      reason: LEASE_ENDING,
      message: `the credential issued at ${lease.issuedAt} expires at ${lease.expiresAt} (leaseTTL ${input.spec.leaseTTL ?? ""}) and no newer one has been fetched in three quarters of its lease: is External Secrets Operator refreshing (refreshInterval at most half of leaseTTL)?`,
      ...extra,
    };
  // ESO's condition has a short message ("could not get secret data from provider"); the provider's
  // own words (Vault's "permission denied") are in its event, added for a failing secret.
  const detail = eso.ready.status === "False" && input.detail ? oneLine(input.detail) : "";
  return {
    name,
    ready: eso.ready.status,
    reason: eso.ready.reason,
    message: clip(detail ? `${eso.ready.message}: ${detail}` : eso.ready.message),
    ...extra,
  };
}

function describeEntry(e: SecretStatus, spec: SecretSpec | undefined): string {
  const where = spec ? ` (${remoteKeys(spec)} from ${store(spec)})` : "";
  return `${e.name}${where}: ${e.reason}${e.message ? `: ${e.message}` : ""}`;
}

function list(items: string[], max = 5): string {
  const head = items.slice(0, max).join("; ");
  return items.length > max ? `${head}; and ${items.length - max} more` : head;
}

/**
 * The fold. `previous` is the profile's status.secrets as last written: an entry whose verdict
 * changed gives an Event (SecretSyncFailed when a secret fails or fails differently, SecretSynced
 * when it becomes ready); a refresh that only moves refreshTime gives none.
 */
export function foldSecretHealth(inputs: SecretInput[], previous: SecretStatus[] | undefined): SecretHealth {
  const entries = inputs.map(secretEntry);
  const specOf = new Map(inputs.map((i) => [i.spec.name, i.spec]));
  const failing = entries.filter((e) => e.ready === "False");
  const pending = entries.filter((e) => e.ready === "Unknown");
  const ready = entries.filter((e) => e.ready === "True");
  const events: SecretEvent[] = [];
  for (const e of entries) {
    const before = previous?.find((p) => p.name === e.name);
    if (
      e.ready === "False" &&
      !(before?.ready === "False" && before.reason === e.reason && before.message === e.message)
    ) {
      events.push({
        type: "Warning",
        reason: "SecretSyncFailed",
        name: e.name,
        note: `ExternalSecret ${describeEntry(e, specOf.get(e.name))}`,
      });
    } else if (e.reason === LEASE_ENDING && before?.reason !== LEASE_ENDING) {
      events.push({
        type: "Warning",
        reason: "SecretLeaseEnding",
        name: e.name,
        note: `ExternalSecret ${describeEntry(e, specOf.get(e.name))}`,
      });
    } else if (e.ready === "True" && before?.ready !== "True") {
      const spec = specOf.get(e.name);
      events.push({
        type: "Normal",
        reason: "SecretSynced",
        name: e.name,
        note: `ExternalSecret ${e.name} synced${spec ? ` (${remoteKeys(spec)} from ${store(spec)})` : ""}`,
      });
    }
  }
  const summary = { ready: ready.length, failing: failing.length, pending: pending.length };
  const total = entries.length;
  let condition: SecretHealth["condition"];
  let failure: SecretHealth["failure"];
  if (total === 0) {
    condition = {
      type: SECRETS_READY,
      status: "True",
      reason: "NoSecrets",
      message: "the profile declares no secrets",
    };
  } else if (failing.length > 0) {
    const what = list(failing.map((e) => describeEntry(e, specOf.get(e.name))));
    const message = `${failing.length} of ${total} secret${total === 1 ? "" : "s"} cannot be synced by External Secrets Operator: ${what}. ESO's detailed error: kubectl describe externalsecret ${failing[0]?.name ?? ""}`;
    condition = {
      type: SECRETS_READY,
      status: "False",
      reason: failing[0]?.reason ?? "SecretSyncedError",
      message,
    };
    failure = { reason: SECRET_SYNC_FAILED, message };
  } else if (pending.length > 0) {
    condition = {
      type: SECRETS_READY,
      status: "Unknown",
      reason: pending[0]?.reason ?? "Pending",
      message: `${pending.length} of ${total} secret${total === 1 ? "" : "s"} not synced yet: ${list(pending.map((e) => describeEntry(e, specOf.get(e.name))))}`,
    };
  } else if (ready.some((e) => e.reason === LEASE_ENDING)) {
    const ending = ready.filter((e) => e.reason === LEASE_ENDING);
    condition = {
      type: SECRETS_READY,
      status: "True",
      reason: LEASE_ENDING,
      message: `${ending.length} of ${total} secret${total === 1 ? "" : "s"} hold${ending.length === 1 ? "s" : ""} a credential near the end of its lease: ${list(ending.map((e) => describeEntry(e, specOf.get(e.name))))}`,
    };
  } else {
    condition = {
      type: SECRETS_READY,
      status: "True",
      reason: "SecretSynced",
      message: `${total === 1 ? "the secret is" : `all ${total} secrets are`} synced by External Secrets Operator: ${ready.map((e) => e.name).join(", ")}`,
    };
  }
  return { entries, condition, ...(failure && { failure }), events, summary };
}

/** The inputs of the fold for a profile, from its status.objects entries and a cache lookup. */
export function secretInputs(
  profile: Profile,
  objects: ObjectStatus[],
  live: (name: string) => unknown,
): SecretInput[] {
  return (profile.spec.secrets ?? []).map((spec) => {
    const object = objects.find((o) => o.kind === "ExternalSecret" && o.name === spec.name);
    return { spec, object, live: object?.state === "Conflict" ? undefined : live(spec.name) };
  });
}
