// Foreign ExternalSecrets against the governing secrets guardrails: table tests.
import { describe, expect, it } from "vitest";
import type { MeshwardPolicy, PolicySpecInput } from "../api/policy.ts";
import { policy } from "../../test-support/fixtures/policy.ts";
import { readExternalSecret } from "./read.ts";
import { externalSecretWidening, type SecretScope } from "./secrets.ts";

const vault = (
  keys: string[],
  extra: Partial<PolicySpecInput> = {},
  name = "baseline",
  mode: "Enforce" | "Audit" = "Enforce",
) =>
  policy(name, {
    ...extra,
    guardrails: { secrets: { mode, stores: [{ kind: "ClusterSecretStore", name: "vault", keys }] } },
  });

const VAULT = { kind: "ClusterSecretStore", name: "vault" };

function es(spec: Record<string, unknown>) {
  const r = readExternalSecret({ metadata: { name: "stolen", namespace: "payments" }, spec });
  if (!r) throw new Error("unreadable");
  return r;
}

const key = (k: string, store: Record<string, unknown> = VAULT) => ({
  secretStoreRef: store,
  data: [{ secretKey: "v", remoteRef: { key: k } }],
});

interface Case {
  name: string;
  policies: MeshwardPolicy[];
  profiles?: string[];
  spec: Record<string, unknown>;
  want?: string;
}

const cases: Case[] = [
  { name: "no guardrail: nothing is refused", policies: [policy("other", {})], spec: key("orders/db") },
  {
    name: "a guardrail of a policy that does not govern the namespace",
    policies: [vault(["{namespace}/*"], { namespaceSelector: { team: "orders" } })],
    spec: key("orders/db"),
  },
  { name: "an allowed key", policies: [vault(["{namespace}/*"])], spec: key("payments/db") },
  {
    name: "another team's key widens",
    policies: [vault(["{namespace}/*"])],
    spec: key("orders/db"),
    want: 'spec.data[0] reads remote key "orders/db" from ClusterSecretStore vault, which MeshwardPolicy baseline does not allow to any profile of namespace payments',
  },
  {
    name: "an Audit guardrail counts too",
    policies: [vault(["{namespace}/*"], {}, "baseline", "Audit")],
    spec: key("orders/db"),
    want: 'spec.data[0] reads remote key "orders/db" from ClusterSecretStore vault, which MeshwardPolicy baseline does not allow to any profile of namespace payments',
  },
  {
    name: "a key that walks out of its prefix widens",
    policies: [vault(["{namespace}/*"])],
    spec: key("payments/../orders/db"),
    want: 'spec.data[0] reads remote key "payments/../orders/db" from ClusterSecretStore vault, which MeshwardPolicy baseline does not allow to any profile of namespace payments',
  },
  {
    name: "a store the guardrail does not list widens",
    policies: [vault(["{namespace}/*"])],
    spec: key("payments/db", { name: "local" }),
    want: 'spec.data[0] reads remote key "payments/db" from SecretStore local, which MeshwardPolicy baseline does not allow in namespace payments',
  },
  {
    name: "a per-entry store overrides the ExternalSecret's",
    policies: [vault(["*"])],
    spec: {
      secretStoreRef: VAULT,
      data: [
        { secretKey: "a", remoteRef: { key: "x" } },
        {
          secretKey: "b",
          remoteRef: { key: "y" },
          sourceRef: { storeRef: { kind: "ClusterSecretStore", name: "aws" } },
        },
      ],
    },
    want: 'spec.data[1] reads remote key "y" from ClusterSecretStore aws, which MeshwardPolicy baseline does not allow in namespace payments',
  },
  {
    name: "{profile}: allowed when that profile exists in the namespace",
    policies: [vault(["{namespace}/{profile}/*"])],
    profiles: ["payments-api", "billing"],
    spec: key("payments/payments-api/db"),
  },
  {
    name: "{profile}: refused when no profile of that name exists",
    policies: [vault(["{namespace}/{profile}/*"])],
    profiles: ["billing"],
    spec: key("payments/payments-api/db"),
    want: 'spec.data[0] reads remote key "payments/payments-api/db" from ClusterSecretStore vault, which MeshwardPolicy baseline does not allow to any profile of namespace payments',
  },
  {
    name: "{profile}: a namespace without profiles allows nothing through it",
    policies: [vault(["{namespace}/{profile}*"])],
    spec: key("payments/anything"),
    want: 'spec.data[0] reads remote key "payments/anything" from ClusterSecretStore vault, which MeshwardPolicy baseline does not allow to any profile of namespace payments',
  },
  {
    name: "every governing policy must allow it for one same profile",
    policies: [vault(["{namespace}/{profile}/*"], {}, "a"), vault(["{namespace}/billing/*"], {}, "b")],
    profiles: ["payments-api", "billing"],
    spec: key("payments/payments-api/db"),
    want: 'spec.data[0] reads remote key "payments/payments-api/db" from ClusterSecretStore vault, which MeshwardPolicy b does not allow to any profile of namespace payments',
  },
  {
    name: "dataFrom extract is a key like data",
    policies: [vault(["{namespace}/*"])],
    spec: { secretStoreRef: VAULT, dataFrom: [{ extract: { key: "orders/all" } }] },
    want: 'spec.dataFrom[0].extract reads remote key "orders/all" from ClusterSecretStore vault, which MeshwardPolicy baseline does not allow to any profile of namespace payments',
  },
  {
    name: "a search of a restricted store widens",
    policies: [vault(["{namespace}/*"])],
    spec: { secretStoreRef: VAULT, dataFrom: [{ find: { path: "payments/" } }] },
    want: 'spec.dataFrom[0].find searches ClusterSecretStore vault (path payments/), which can return keys MeshwardPolicy baseline does not allow in namespace payments (only a store whose allowed keys are "*" may be searched)',
  },
  {
    name: "a search of a store whose every key is allowed",
    policies: [vault(["*"])],
    spec: { secretStoreRef: VAULT, dataFrom: [{ find: { name: { regexp: ".*" } } }] },
  },
  {
    name: "a ClusterGenerator widens",
    policies: [vault(["*"])],
    spec: {
      data: [
        {
          secretKey: "t",
          remoteRef: { key: "" },
          sourceRef: { generatorRef: { kind: "ClusterGenerator", name: "ecr" } },
        },
      ],
    },
    want: "spec.data[0] uses ClusterGenerator ecr, which the secrets guardrail of MeshwardPolicy baseline does not list (it allows stores only)",
  },
  {
    name: "a namespaced generator does not",
    policies: [vault(["{namespace}/*"])],
    spec: { dataFrom: [{ sourceRef: { generatorRef: { kind: "Password", name: "pw" } } }] },
  },
];

describe("externalSecretWidening", () => {
  for (const c of cases)
    it(c.name, () => {
      const scope: SecretScope = {
        namespace: "payments",
        namespaceLabels: { team: "pay", "kubernetes.io/metadata.name": "payments" },
        profiles: c.profiles ?? [],
        policies: c.policies,
      };
      expect(externalSecretWidening(es(c.spec), scope)).toBe(c.want);
    });
});
