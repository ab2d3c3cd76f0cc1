// Secret health across profiles for the meshward_secrets gauge: the last summary the reconciler
// reported for each profile (Observer.secrets), summed at scrape. A profile's entry goes when the
// profile is deleted or reports no secrets, so the map holds only live profiles with secrets; the
// gauge itself has one series per state, whatever the number of profiles.

export const SECRET_STATES = ["ready", "failing", "pending"] as const;
export type SecretState = (typeof SECRET_STATES)[number];
export type SecretSummary = Record<SecretState, number>;

export class SecretStates {
  readonly #byProfile = new Map<string, SecretSummary>();

  /** The profile's secrets after a reconcile; a profile without secrets is forgotten. */
  set(profile: string, summary: SecretSummary): void {
    if (SECRET_STATES.every((s) => summary[s] === 0)) this.#byProfile.delete(profile);
    else this.#byProfile.set(profile, { ...summary });
  }

  /** The profile was deleted (or is no longer watched). */
  forget(profile: string): void {
    this.#byProfile.delete(profile);
  }

  /** Secrets by state, summed over profiles; every state present (0 when none). */
  totals(): SecretSummary {
    const out: SecretSummary = { ready: 0, failing: 0, pending: 0 };
    for (const s of this.#byProfile.values()) for (const state of SECRET_STATES) out[state] += s[state];
    return out;
  }

  /** Profiles with at least one secret (for tests: nothing is kept for a deleted profile). */
  get size(): number {
    return this.#byProfile.size;
  }
}
