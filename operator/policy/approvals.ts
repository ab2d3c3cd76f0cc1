// The exceptions guardrail: allowed types, maximum length, and platform approval (ADR 6). An
// exception written in a profile takes effect only while an approval in a governing policy names
// that profile and type, with an expiry no earlier than the exception's. Pure.
import type { Approval, GuardrailMode, MeshwardPolicy } from "../api/policy.ts";
import type { Exception } from "../api/schema.ts";
import { byString } from "../builders/meta.ts";
import { verdict } from "./combine.ts";
import type { ExceptionApproval, Finding } from "./types.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface ExceptionsResult {
  findings: Finding[];
  approvals: ExceptionApproval[];
  /** Enforce: exception indexes to drop from the effective spec (enforcement stays on). */
  drop: Set<number>;
}

type Found = { policy: string; approval: Approval };

function approvalsFor(policies: readonly MeshwardPolicy[], ref: string): Found[] {
  const out: Found[] = [];
  for (const p of policies)
    for (const a of p.spec.guardrails?.exceptions?.approvals ?? [])
      if (a.profile === ref) out.push({ policy: p.metadata.name, approval: a });
  return out;
}

export function checkExceptions(
  exceptions: readonly Exception[],
  ref: string,
  policies: readonly MeshwardPolicy[],
  now: Date,
): ExceptionsResult {
  const findings: Finding[] = [];
  const approvals: ExceptionApproval[] = [];
  const drop = new Set<number>();
  const ruled = policies.filter((p) => p.spec.guardrails?.exceptions !== undefined);
  const found = approvalsFor(ruled, ref);
  exceptions.forEach((e, i) => {
    const path = `spec.exceptions[${i}]`;
    const limits: { policy: string; mode: GuardrailMode; detail: string }[] = [];
    const requiring: { policy: string; mode: GuardrailMode }[] = [];
    const expires = new Date(e.expires).getTime();
    for (const p of ruled) {
      const g = p.spec.guardrails?.exceptions;
      if (!g) continue;
      if (g.allowedTypes !== undefined && !g.allowedTypes.includes(e.type))
        limits.push({
          policy: p.metadata.name,
          mode: g.mode,
          detail: `allows only exception types ${g.allowedTypes.join(", ") || "(none)"}`,
        });
      if (g.maxDays !== undefined && expires > now.getTime() + g.maxDays * DAY_MS)
        limits.push({
          policy: p.metadata.name,
          mode: g.mode,
          detail: `allows exceptions at most ${g.maxDays} days ahead`,
        });
      if (g.requireApproval) requiring.push({ policy: p.metadata.name, mode: g.mode });
    }
    let enforced = false;
    if (limits.length > 0) {
      const v = verdict(limits);
      const why = limits.map((l) => `MeshwardPolicy ${l.policy} ${l.detail}`).join("; ");
      findings.push({
        reason: "ExceptionNotAllowed",
        rule: "guardrails.exceptions",
        mode: v.mode,
        path,
        policies: v.policies,
        message: `${why}: remove the ${e.type} exception or shorten it`,
      });
      enforced ||= v.mode === "Enforce";
    }
    if (requiring.length === 0) {
      approvals.push({ type: e.type, state: "NotRequired" });
    } else {
      const state = approvalState(e, ref, found, now);
      approvals.push(state);
      if (state.state === "PendingApproval") {
        const v = verdict(requiring);
        findings.push({
          reason: "PendingApproval",
          rule: "guardrails.exceptions.approvals",
          mode: v.mode,
          path,
          policies: v.policies,
          message: state.message ?? "",
        });
        enforced ||= v.mode === "Enforce";
      }
    }
    if (enforced) drop.add(i);
  });
  return { findings, approvals, drop };
}

function approvalState(e: Exception, ref: string, found: Found[], now: Date): ExceptionApproval {
  const ask = `ask the platform team for an approval {profile: ${ref}, type: ${e.type}, expires: ${e.expires}} in spec.guardrails.exceptions.approvals of a MeshwardPolicy that governs this namespace`;
  const same = found.filter((f) => f.approval.type === e.type).sort((a, b) => byString(a.policy, b.policy));
  if (same.length === 0) {
    const others = found.map((f) => f.approval.type);
    const note = others.length > 0 ? ` (approvals exist only for ${[...new Set(others)].join(", ")})` : "";
    return {
      type: e.type,
      state: "PendingApproval",
      message: `exception ${e.type} is not approved${note}; ${ask}`,
    };
  }
  const exceptionEnd = new Date(e.expires).getTime();
  const covering = same.find(
    (f) =>
      new Date(f.approval.expires).getTime() >= exceptionEnd &&
      new Date(f.approval.expires).getTime() > now.getTime(),
  );
  if (covering)
    return {
      type: e.type,
      state: "Approved",
      approvedUntil: covering.approval.expires,
      policy: covering.policy,
    };
  const latest =
    same
      .map((f) => f.approval.expires)
      .sort(byString)
      .at(-1) ?? "";
  const message =
    new Date(latest).getTime() <= now.getTime()
      ? `the approval of exception ${e.type} ended at ${latest}; ${ask}`
      : `exception ${e.type} runs until ${e.expires} but its approval ends at ${latest}: set expires to ${latest} or earlier, or ${ask}`;
  return { type: e.type, state: "PendingApproval", message };
}
