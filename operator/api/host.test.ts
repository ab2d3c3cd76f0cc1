// Egress hosts (spec.egress.to[].host): which names are accepted, and the one message each malformed
// host gets. The same rules are the CRD's CEL (examples/invalid/egress-host-*.yaml run them on a
// real API server in e2e/testbed.e2e.test.ts).
import { describe, expect, it } from "vitest";
import { validateProfile } from "./validate.ts";

function problemsFor(to: unknown[]) {
  const r = validateProfile({
    apiVersion: "meshward.io/v1alpha1",
    kind: "ServiceSecurityProfile",
    metadata: { name: "api", namespace: "shop" },
    spec: { selector: { app: "api" }, egress: { to } },
  });
  return r.ok ? [] : r.problems;
}

describe("egress host", () => {
  it.each([
    "api.stripe.com",
    "*.googleapis.com",
    "a.b",
    "xn--bcher-kva.example",
    `${"a".repeat(63)}.example.com`,
    "s3.eu-west-1.amazonaws.com",
  ])("accepts %s", (host) => {
    expect(problemsFor([{ host, ports: [443] }])).toEqual([]);
  });

  it.each([
    ["https://api.stripe.com/v1", "without scheme or path"],
    ["api.stripe.com/v1", "without scheme or path"],
    ["203.0.113.10", "not an IP address: for an address write cidr"],
    ["2001:db8::1", "not an IP address"],
    ["::1", "not an IP address"],
    ["api.stripe.com:443", "must not carry a port: put it under ports"],
    ["API.stripe.com", "must be lowercase"],
    ["api.stripe.com.", "must not end with a dot"],
    ["*", "'*' may only stand as the whole first label"],
    ["*stripe.com", "'*' may only stand as the whole first label"],
    ["api.*.stripe.com", "'*' may only stand as the whole first label"],
    ["api.stripe.*", "'*' may only stand as the whole first label"],
    ["*.svc.cluster.local", "must be outside the cluster"],
    ["payments.payments.svc", "must be outside the cluster"],
    ["metadata.google.internal", "must be outside the cluster"],
    ["stripe", "at least two labels"],
    ["*.com", "at least two labels"],
    ["api_v1.stripe.com", "at least two labels"],
    ["-api.stripe.com", "at least two labels"],
    [`${"a".repeat(64)}.example.com`, "each label 1-63 characters"],
    [`${"a.".repeat(127)}com`, "is too long (at most 253 characters)"],
  ])("refuses %s with one message: %s", (host, message) => {
    const problems = problemsFor([{ host, ports: [443] }]);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe("spec.egress.to[0].host");
    expect(problems[0]?.message).toContain(message);
  });

  it.each([
    [{ host: "api.stripe.com" }, "spec.egress.to[0].ports", "needs the ports it calls"],
    [{ host: "api.stripe.com", ports: [] }, "spec.egress.to[0].ports", "needs the ports it calls"],
    [
      { host: "ntp.example.com", ports: [123], protocol: "UDP" },
      "spec.egress.to[0].protocol",
      "TLS (the default)",
    ],
    [
      { cidr: "10.0.0.0/8", protocol: "TLS" },
      "spec.egress.to[0].protocol",
      "name the protocol of a host entry only",
    ],
    [
      { service: "orders/api", protocol: "HTTPS" },
      "spec.egress.to[0].protocol",
      "name the protocol of a host entry only",
    ],
    [
      { host: "api.stripe.com", cidr: "10.0.0.0/8", ports: [443] },
      "spec.egress.to[0]",
      "exactly one of service, cidr or host",
    ],
    [
      { host: "api.stripe.com", service: "orders/api", ports: [443] },
      "spec.egress.to[0]",
      "exactly one of service, cidr or host",
    ],
  ])("refuses %j at %s", (entry, path, message) => {
    const problems = problemsFor([entry]);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe(path);
    expect(problems[0]?.message).toContain(message);
  });

  it.each(["TLS", "HTTPS", "HTTP", "TCP"])("accepts protocol %s for a host", (protocol) => {
    expect(problemsFor([{ host: "api.stripe.com", ports: [443], protocol }])).toEqual([]);
  });
});
