import { describe, expect, it } from "vitest";
import { validateProfile } from "../api/validate.ts";
import { type MeshMode, makeContext } from "./context.ts";
import { buildProfile } from "./index.ts";
import { dataplaneOf, type DataplaneSource } from "./dataplane.ts";

describe("which data plane serves a profile's pods", () => {
  it.each<
    [string, Record<string, string>, MeshMode | undefined, MeshMode, MeshMode, DataplaneSource, RegExp]
  >([
    [
      "no label: the operator's default",
      {},
      undefined,
      "sidecar",
      "sidecar",
      "Default",
      /no Istio data-plane label/,
    ],
    ["no label, ambient by default", {}, undefined, "ambient", "ambient", "Default", /default, ambient/],
    [
      "istio.io/dataplane-mode=ambient",
      { "istio.io/dataplane-mode": "ambient" },
      undefined,
      "sidecar",
      "ambient",
      "Namespace",
      /dataplane-mode=ambient$/,
    ],
    [
      "istio-injection=enabled",
      { "istio-injection": "enabled" },
      undefined,
      "ambient",
      "sidecar",
      "Namespace",
      /istio-injection=enabled$/,
    ],
    [
      "a revision label",
      { "istio.io/rev": "1-31" },
      undefined,
      "ambient",
      "sidecar",
      "Namespace",
      /istio\.io\/rev=1-31/,
    ],
    [
      "injection and ambient: sidecar, as Istio decides",
      { "istio-injection": "enabled", "istio.io/dataplane-mode": "ambient" },
      undefined,
      "ambient",
      "sidecar",
      "Namespace",
      /ztunnel does not capture pods that have one/,
    ],
    [
      "injection disabled and ambient",
      { "istio-injection": "disabled", "istio.io/dataplane-mode": "ambient" },
      undefined,
      "sidecar",
      "ambient",
      "Namespace",
      /ambient/,
    ],
    [
      "dataplane-mode=none",
      { "istio.io/dataplane-mode": "none" },
      undefined,
      "sidecar",
      "sidecar",
      "Default",
      /no Istio data-plane label/,
    ],
    [
      "the profile overrides the namespace",
      { "istio.io/dataplane-mode": "ambient" },
      "sidecar",
      "ambient",
      "sidecar",
      "Profile",
      /spec\.dataplaneMode is sidecar; the namespace has istio\.io\/dataplane-mode=ambient, which would mean ambient/,
    ],
    [
      "the profile agrees",
      { "istio.io/dataplane-mode": "ambient" },
      "ambient",
      "sidecar",
      "ambient",
      "Profile",
      /^spec\.dataplaneMode is ambient$/,
    ],
  ])("%s", (_name, labels, override, fallback, mode, source, message) => {
    const d = dataplaneOf(labels, override, fallback);
    expect(d.mode).toBe(mode);
    expect(d.source).toBe(source);
    expect(d.message).toMatch(message);
  });

  it("bounds a long revision label in the message", () => {
    const d = dataplaneOf({ "istio.io/rev": "r".repeat(5000) }, undefined, "sidecar");
    expect(d.message.length).toBeLessThanOrEqual(512);
  });
});

describe("buildProfile honours spec.dataplaneMode (offline as in the cluster)", () => {
  it("builds ambient objects for a profile that asks, whatever the context says", () => {
    const build = (dataplaneMode?: MeshMode) => {
      const v = validateProfile({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { name: "api", namespace: "shop" },
        spec: {
          selector: { app: "api" },
          audit: { accessLogs: "Enabled" },
          ...(dataplaneMode && { dataplaneMode }),
        },
      });
      if (!v.ok) throw new Error(JSON.stringify(v.problems));
      return buildProfile(v.profile, makeContext({ meshMode: "sidecar" })).objects.map((o) => o.kind);
    };
    expect(build()).toContain("Telemetry");
    expect(build("ambient")).not.toContain("Telemetry");
  });
});
