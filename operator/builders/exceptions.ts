// Which exceptions are in force at `now`, and when the next one runs out (pure).
import type { Exception, ExceptionStatus, Profile } from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import type { BuildContext } from "./context.ts";

export interface ExceptionState {
  active: Set<Exception["type"]>;
  status: ExceptionStatus[];
  /** Earliest expiry of an active exception: when the profile must be reconciled again. */
  nextExpiry?: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function evaluateExceptions(profile: Profile, ctx: BuildContext, problems: Problem[]): ExceptionState {
  const active = new Set<Exception["type"]>();
  const status: ExceptionStatus[] = [];
  let nextExpiry: Date | undefined;
  const limit = ctx.now.getTime() + ctx.defaults.maxExceptionDays * DAY_MS;
  (profile.spec.exceptions ?? []).forEach((e, i) => {
    const expires = new Date(e.expires);
    const t = expires.getTime();
    let state: ExceptionStatus["state"] = "Rejected";
    if (Number.isNaN(t)) {
      problems.push({
        path: `spec.exceptions[${i}].expires`,
        message: "must be an RFC 3339 UTC time such as 2026-12-31T00:00:00Z",
      });
    } else if (t > limit) {
      problems.push({
        path: `spec.exceptions[${i}].expires`,
        message: `is more than ${ctx.defaults.maxExceptionDays} days ahead, the longest exception the platform allows; pick an earlier date (the exception is not honoured until then)`,
      });
    } else if (t > ctx.now.getTime()) {
      state = "Active";
      active.add(e.type);
      if (nextExpiry === undefined || t < nextExpiry.getTime()) nextExpiry = expires;
    } else {
      state = "Expired";
    }
    status.push({ type: e.type, ticket: e.ticket, expires: e.expires, state });
  });
  return nextExpiry ? { active, status, nextExpiry } : { active, status };
}

/** mTLS is PERMISSIVE only when the spec asks for it and a PermissiveMtls exception is in force. */
export function isPermissive(profile: Profile, exceptions: ExceptionState): boolean {
  return profile.spec.mtls?.mode === "Permissive" && exceptions.active.has("PermissiveMtls");
}
