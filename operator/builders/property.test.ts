// Property: any profile the schema accepts builds without throwing, and everything it builds
// lives in the profile's own namespace and selects only the profile's pods.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Profile } from "../api/schema.ts";
import { validateProfile } from "../api/validate.ts";
import { buildProfile, indexProfiles, makeContext } from "./index.ts";

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
const port = fc.integer({ min: 1, max: 65535 });
const source = fc.oneof(
  fc.record({
    service: fc.oneof(
      label,
      fc.tuple(label, label).map(([a, b]) => `${a}/${b}`),
    ),
  }),
  fc.record({ serviceAccount: fc.record({ namespace: label, name: label }) }),
  fc.record({ namespace: label }),
);
const octet = fc.integer({ min: 0, max: 255 });
const cidr = fc.tuple(octet, octet, fc.integer({ min: 8, max: 16 })).map(([a, b, len]) => {
  const v = ((a << 24) | (b << 16)) >>> 0;
  const masked = (v >>> (32 - len)) << (32 - len);
  const o = [(masked >>> 24) & 255, (masked >>> 16) & 255, 0, 0];
  return `${o.join(".")}/${len}`;
});
const spec = fc.record(
  {
    selector: fc.dictionary(label, label, { minKeys: 1, maxKeys: 3 }),
    ingress: fc.array(
      fc.record({
        from: fc.array(source, { minLength: 1, maxLength: 3 }),
        ports: fc.array(port, { maxLength: 3 }),
      }),
      { maxLength: 3 },
    ),
    egress: fc.record({
      dns: fc.boolean(),
      to: fc.array(
        fc.oneof(fc.record({ service: label, ports: fc.array(port, { maxLength: 2 }) }), fc.record({ cidr })),
        { maxLength: 3 },
      ),
    }),
    secrets: fc.uniqueArray(
      fc.record({
        name: label,
        storeRef: fc.record({ name: label }),
        data: fc.constant([{ secretKey: "k", remoteRef: { key: "x" } }]),
      }),
      {
        maxLength: 2,
        selector: (s) => s.name,
      },
    ),
    exceptions: fc.constant([
      { type: "AuditOnly", reason: "a long enough reason", ticket: "SEC-1", expires: "2026-12-01T00:00:00Z" },
    ]),
  },
  { requiredKeys: ["selector"] },
);

describe("builders (property)", () => {
  it("build every schema-valid profile, inside its own namespace only", () => {
    let built = 0;
    fc.assert(
      fc.property(
        label,
        label,
        spec,
        fc.constantFrom("sidecar" as const, "ambient" as const),
        (name, namespace, s, meshMode) => {
          const r = validateProfile({
            apiVersion: "meshward.io/v1alpha1",
            kind: "ServiceSecurityProfile",
            metadata: { name, namespace },
            spec: s,
          });
          if (!r.ok) return; // not schema-valid: nothing to build
          built++;
          const p: Profile = r.profile;
          const out = buildProfile(
            p,
            makeContext({ now: new Date("2026-11-20T00:00:00Z"), meshMode, profiles: indexProfiles([p]) }),
          );
          for (const o of out.objects) {
            expect(o.metadata.namespace).toBe(namespace);
            const sel = o.spec as
              { selector?: { matchLabels: unknown }; podSelector?: { matchLabels: unknown } } | undefined;
            const matchLabels = sel?.selector?.matchLabels ?? sel?.podSelector?.matchLabels;
            if (matchLabels !== undefined) expect(matchLabels).toEqual(p.spec.selector);
          }
          for (const prob of out.problems) expect(prob.path).toMatch(/^spec\./);
        },
      ),
      { numRuns: 500 },
    );
    expect(
      built,
      "most generated profiles should be schema-valid, or the property says little",
    ).toBeGreaterThan(400);
  });
});
