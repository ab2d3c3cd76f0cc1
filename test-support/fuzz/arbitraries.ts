// fast-check arbitraries for raw ServiceSecurityProfile objects: valid ones (with the tricky values
// the schema accepts) and hostile ones (wrong types, huge and odd strings, deep nesting, bad ports,
// CIDRs, references, paths and dates, duplicate list-map keys, unknown and prototype-polluting keys).
//
// Names come from small pools so that references between generated profiles resolve, and so that
// the requests the fuzzer samples hit the generated rules.
import fc from "fast-check";

/** The fuzzer's clock: exceptions are generated around it. */
export const NOW = new Date("2026-11-20T00:00:00Z");
const DAY = 86_400_000;

export const NAMESPACES = ["pay", "shop", "gw", "mon"] as const;
export const NAMES = ["api", "web", "db"] as const;
export const SA_NAMES = ["default", "api", "runner", "prometheus"] as const;
export const LABEL_KEYS = ["app", "tier", "app.kubernetes.io/name"] as const;
export const LABEL_VALUES = ["api", "web", "db", "v1"] as const;
export const ISSUERS = ["https://auth.example.com/", "https://idp.example", "issuer-x"] as const;

type Raw = Record<string, unknown>;

/** An object with an own key that an object literal cannot create (`__proto__`). */
export function withOwnKey(o: Raw, key: string, value: unknown): Raw {
  const out: Raw = { ...o };
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hostile values.

const oddUnits = [
  "a",
  "é",
  "e\u0301", // combining mark
  "\u202e", // right-to-left override
  "\u05d0", // Hebrew
  "🙂",
  "\u0000",
  "\ufeff",
  "\ud800", // lone surrogate
  "-",
  "/",
  "*",
  " ",
  "\n",
  ".",
];

/** Up to ~100 kB of one odd unit repeated (cheap to generate, expensive to validate badly). */
export const hugeString = fc
  .tuple(fc.constantFrom(...oddUnits), fc.integer({ min: 300, max: 100_000 }), fc.constantFrom("", "a", "/x"))
  .map(([u, n, tail]) => u.repeat(Math.ceil(n / u.length)) + tail);

export const oddString = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "api\u0000",
    "\u202eipa",
    "ａｐｉ",
    "API",
    " api",
    "api ",
    "api\n",
    "e\u0301",
    "🙂🙂🙂🙂🙂",
    "__proto__",
    "constructor",
    "toString",
    "NaN",
    "null",
    "undefined",
    "true",
    "*",
    "-",
    "a".repeat(64),
    "a".repeat(254),
  ),
  // Any code points, lone surrogates included (fc.string over all of Unicode is slow to set up).
  fc
    .array(fc.integer({ min: 0, max: 0x10ffff }), { maxLength: 12 })
    .map((cps) => String.fromCodePoint(...cps)),
  hugeString,
);

/** Something that is not what the field wants: other types, odd strings, nesting. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -0,
    1e21,
    [],
    {},
    [null],
    [[]],
  ),
  oddString,
  fc.integer({ min: 1, max: 500 }).map((depth) => nest(depth, false)),
  fc.integer({ min: 1, max: 500 }).map((depth) => nest(depth, true)),
  fc.constantFrom("__proto__", "constructor", "prototype").map((k) => withOwnKey({}, k, { polluted: true })),
);

/** `arb` with probability about p, else null. */
function rarely<T>(arb: fc.Arbitrary<T>, p: number): fc.Arbitrary<T | null> {
  const w = Math.max(1, Math.round(p * 120));
  return fc.oneof({ arbitrary: arb, weight: w }, { arbitrary: fc.constant(null), weight: 120 - w });
}

function nest(depth: number, arrays: boolean): unknown {
  let v: unknown = "x";
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
}

/**
 * How hostile a generated profile is: 0 valid (with the odd values the schema accepts), 1 valid but
 * for a rare hostile value here and there (most such profiles have one or two), 2 chaos.
 */
export type Level = 0 | 1 | 2;

function hostile<T>(valid: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown>, h: Level): fc.Arbitrary<unknown> {
  if (h === 0) return valid;
  return h === 1
    ? fc.oneof(
        { arbitrary: valid, weight: 300 },
        { arbitrary: bad, weight: 2 },
        { arbitrary: wrongType, weight: 1 },
      )
    : fc.oneof(
        { arbitrary: valid, weight: 4 },
        { arbitrary: bad, weight: 1 },
        { arbitrary: wrongType, weight: 1 },
      );
}

/** Alternatives weighted for the level: at level 1 the valid one dominates. */
function mix(
  h: Level,
  valid: fc.Arbitrary<unknown>,
  ...bad: fc.WeightedArbitrary<unknown>[]
): fc.Arbitrary<unknown> {
  return mixAt(100, h, valid, ...bad);
}

/** mix, where at level 1 one value in `odds` is hostile. */
function mixAt(
  odds: number,
  h: Level,
  valid: fc.Arbitrary<unknown>,
  ...bad: fc.WeightedArbitrary<unknown>[]
): fc.Arbitrary<unknown> {
  if (h === 0) return valid;
  const total = bad.reduce((n, b) => n + b.weight, 0);
  return fc.oneof({ arbitrary: valid, weight: h === 1 ? total * (odds - 1) : total }, ...bad);
}

// ---------------------------------------------------------------------------------------------
// Field values, valid and hostile.

export const dnsLabel = fc.oneof(
  { arbitrary: fc.constantFrom(...NAMESPACES, ...NAMES, ...SA_NAMES), weight: 4 },
  { arbitrary: fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?$/), weight: 1 },
);

const labelKey = fc.oneof(
  { arbitrary: fc.constantFrom(...LABEL_KEYS), weight: 5 },
  { arbitrary: fc.stringMatching(/^[a-z]{1,5}(\.[a-z]{1,4})?\/[a-z]{1,5}$/), weight: 1 },
);
const labelValue = fc.constantFrom(...LABEL_VALUES);
const badLabelKey = fc.constantFrom(
  "__proto__",
  "constructor",
  "app name",
  "-app",
  "app/",
  "/app",
  "a/b/c",
  "",
);
const badLabelValue = fc.constantFrom("", "-x", "x-", "a b", "a".repeat(64), "🙂");

function selector(h: Level): fc.Arbitrary<unknown> {
  const valid = fc.dictionary(labelKey, labelValue, { minKeys: 1, maxKeys: 3 });
  // Selectors decide which pods every policy governs: worth more hostile tries.
  return mixAt(
    10,
    h,
    valid,
    {
      arbitrary: fc
        .tuple(valid, badLabelKey, fc.oneof(labelValue, badLabelValue))
        .map(([sel, k, v]) => withOwnKey(sel, k, v)),
      weight: 1,
    },
    {
      arbitrary: fc.tuple(valid, labelKey, badLabelValue).map(([sel, k, v]) => ({ ...sel, [k]: v })),
      weight: 1,
    },
    { arbitrary: fc.constant({}), weight: 1 },
    {
      arbitrary: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), labelValue, { minKeys: 17, maxKeys: 20 }),
      weight: 1,
    },
    { arbitrary: wrongType, weight: 1 },
  );
}

const serviceRef = fc.oneof(
  fc.constantFrom(...NAMES),
  fc.tuple(fc.constantFrom(...NAMESPACES), fc.constantFrom(...NAMES)).map(([ns, n]) => `${ns}/${n}`),
  fc.tuple(dnsLabel, dnsLabel).map(([ns, n]) => `${ns}/${n}`),
);
const badServiceRef = fc.constantFrom(
  "a/b/c",
  "../x",
  "*/x",
  "x/*",
  "*",
  "/x",
  "x/",
  "/",
  "pay//api",
  "pay/api/",
  "PAY/api",
  "pay/api*",
  ".",
  "..",
  "pay/../shop/api",
  "api\u0000",
  "pay/ api",
);

const saName = fc.oneof(fc.constantFrom(...SA_NAMES), dnsLabel, fc.constantFrom("a.b", "sa-1.team"));
const badSaName = fc.constantFrom(
  "*",
  "x*",
  "*x",
  "default*",
  "a/b",
  "../x",
  "x/sa/y",
  "system:serviceaccount:pay:api",
  "A",
  "",
  "a b",
  "-a",
);

function source(h: Level): fc.Arbitrary<unknown> {
  const valid = fc.oneof(
    fc.record({ service: serviceRef }),
    fc.record({ serviceAccount: fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: saName }) }),
    fc.record({ namespace: fc.oneof(fc.constantFrom(...NAMESPACES), dnsLabel) }),
  );
  return mix(
    h,
    valid,
    { arbitrary: fc.record({ service: badServiceRef }), weight: 1 },
    {
      arbitrary: fc.record({
        serviceAccount: fc.record({ namespace: fc.oneof(dnsLabel, badServiceRef), name: badSaName }),
      }),
      weight: 2,
    },
    { arbitrary: fc.record({ namespace: fc.oneof(badServiceRef, badSaName) }), weight: 1 },
    { arbitrary: fc.record({ service: serviceRef, namespace: dnsLabel }), weight: 1 },
    { arbitrary: fc.constant({}), weight: 1 },
    { arbitrary: wrongType, weight: 1 },
  );
}

export const validPort = fc.oneof(
  fc.constantFrom(80, 443, 8080, 9090, 53, 15008, 15012, 1, 65535),
  fc.integer({ min: 1, max: 65535 }),
);
const badPort = fc.constantFrom(
  0,
  65536,
  -1,
  1.5,
  "80",
  "NaN",
  "1e3",
  "0x50",
  Number.NaN,
  Infinity,
  null,
  true,
  [80],
  1e21,
  -0,
);

function ports(h: Level): fc.Arbitrary<unknown> {
  return hostile(
    fc.array(hostile(validPort, badPort, h), { maxLength: 3 }),
    fc.array(validPort, { minLength: 17, maxLength: 20 }),
    h,
  );
}

const validPath = fc.oneof(
  fc.constantFrom("/v1/charges", "/v1/*", "*.json", "*", "/", "/a*", "/admin", "/v1/refunds/*", "*/x"),
  fc.stringMatching(/^\/[a-z0-9/._-]{0,8}\*?$/),
);
const badPath = fc.constantFrom(
  "/a/*/b",
  "/*/x",
  "**",
  "/a**",
  "*a*",
  "/a?b",
  "/a#b",
  "/a b",
  "",
  "a",
  "*/",
  "/x*y",
);

function http(h: Level): fc.Arbitrary<unknown> {
  const methods = fc.subarray([
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "OPTIONS",
    "CONNECT",
    "TRACE",
  ]);
  const valid = fc
    .record(
      {
        methods: hostile(methods, fc.constantFrom(["get"], ["FETCH"], ["GET", 1]), h),
        paths: fc.array(hostile(validPath, badPath, h), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    )
    .map((r) => {
      const n = (v: unknown) => (Array.isArray(v) ? v.length : v === undefined ? 0 : 1);
      return n(r.methods) + n(r.paths) > 0 ? r : { ...r, paths: ["*"] };
    });
  return hostile(valid, fc.constantFrom({}, { methods: [], paths: [] }), h);
}

const badProtocol = fc.constantFrom("udp", "Tcp", "ICMP", "", "TCP ", 17, "SCTP\u0000");

/** A port entry's protocol: omitted (TCP) or named, often UDP or SCTP. */
function protocol(h: Level): fc.Arbitrary<unknown> {
  return hostile(fc.constantFrom("TCP", "UDP", "SCTP"), badProtocol, h);
}

const notTcp = (r: Raw) => r.protocol === "UDP" || r.protocol === "SCTP";

function ingressRule(h: Level): fc.Arbitrary<unknown> {
  const rule = fc.record(
    {
      from: hostile(fc.array(source(h), { minLength: 1, maxLength: 3 }), fc.constantFrom([]), h),
      protocol: protocol(h),
      ports: ports(h),
      http: http(h),
    },
    { requiredKeys: ["from"] },
  );
  if (h === 2) return rule;
  // Below chaos, a UDP/SCTP rule is a valid one: no http, no serviceAccount caller (the schema
  // rejects both; level 2 keeps them, so the rejection is exercised too).
  return rule.map((r: Raw) => {
    if (!notTcp(r)) return r;
    const { http: _http, ...rest } = r;
    const from = Array.isArray(r.from)
      ? r.from.filter((f) => !(typeof f === "object" && f !== null && "serviceAccount" in f))
      : r.from;
    return { ...rest, from: Array.isArray(from) && from.length === 0 ? [{ namespace: "mon" }] : from };
  });
}

export const validCidr = fc.constantFrom(
  "10.0.0.0/8",
  "10.20.0.0/16",
  "0.0.0.0/0",
  "192.168.1.0/24",
  "1.2.3.4/32",
  "::/0",
  "2001:db8::/32",
  "fd00::/8",
  "2001:db8::1/128",
);
const exceptsFor: Record<string, string[]> = {
  "10.0.0.0/8": ["10.20.0.0/16", "10.0.0.0/24", "10.255.255.255/32"],
  "10.20.0.0/16": ["10.20.5.0/24"],
  "0.0.0.0/0": ["10.0.0.0/8", "169.254.0.0/16"],
  "::/0": ["fd00::/8"],
  "2001:db8::/32": ["2001:db8:1::/48"],
};
export const badCidr = fc.constantFrom(
  "10.0.0.1/8",
  "10.0.0.0/33",
  "10.0.0.0",
  "10.0.0.0/-1",
  "10.0.0.0/08",
  "010.0.0.0/8",
  "256.0.0.0/8",
  "10.0.0.0/+8",
  "::ffff:0:0/96",
  "::ffff:10.0.0.0/104",
  "::ffff:a00:0/104",
  "64:ff9b::1.2.3.0/120",
  "fe80::1/10",
  "fe80::%eth0/64",
  "2001:db8::/129",
  "1:2:3:4:5:6:7:8::/128",
  ":::/0",
  "garbage",
  "",
  " 10.0.0.0/8",
  "10.0.0.0/8 ",
  "10.0.0.0/8/8",
  "1.2.3.4/32\u0000",
);

function egressTarget(h: Level): fc.Arbitrary<unknown> {
  const svc = fc.record(
    { service: serviceRef, protocol: protocol(h), ports: ports(h) },
    { requiredKeys: ["service"] },
  );
  const cidr = validCidr.chain((c) =>
    fc.record(
      {
        cidr: fc.constant(c),
        except: fc.subarray(exceptsFor[c] ?? []),
        protocol: protocol(h),
        ports: ports(h),
      },
      { requiredKeys: ["cidr"] },
    ),
  );
  const valid = fc.oneof(svc, cidr);
  return mix(
    h,
    valid,
    { arbitrary: fc.record({ cidr: badCidr }), weight: 2 },
    {
      arbitrary: fc.record({
        cidr: validCidr,
        except: fc.array(fc.oneof(badCidr, validCidr), { minLength: 1, maxLength: 2 }),
      }),
      weight: 1,
    },
    { arbitrary: fc.record({ service: badServiceRef }), weight: 1 },
    { arbitrary: fc.record({ service: serviceRef, cidr: validCidr }), weight: 1 },
    { arbitrary: fc.record({ service: serviceRef, except: fc.constant(["10.0.0.0/8"]) }), weight: 1 },
    { arbitrary: wrongType, weight: 1 },
  );
}

const isoAt = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
/** Expiry dates around NOW and the 90-day limit, and far away. */
const expires = fc.oneof(
  fc
    .constantFrom(-DAY, -1000, 0, 1000, DAY, 89 * DAY, 90 * DAY, 90 * DAY + 1000, 365 * DAY)
    .map((d) => isoAt(NOW.getTime() + d)),
  fc.integer({ min: -400, max: 400 }).map((d) => isoAt(NOW.getTime() + d * DAY)),
  fc.constantFrom(
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2026-12-01T00:00:00.123456789Z",
    "2028-02-29T00:00:00Z",
  ),
);
const badExpires = fc.constantFrom(
  "2026-02-30T00:00:00Z",
  "2026-13-01T00:00:00Z",
  "2026-12-01",
  "2026-12-01T00:00:00+01:00",
  "2026-12-01T00:00:00",
  "2026-12-01T24:00:00Z",
  "2026-12-01T23:59:60Z",
  "tomorrow",
  "",
  "+275760-09-13T00:00:00Z",
  1_800_000_000,
);

function exception(h: Level, type: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.record({
    type: hostile(type, fc.constantFrom("permissiveMtls", "Other", ""), h),
    reason: hostile(
      fc.constantFrom("migrating the old client", "rolling out slowly", "🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂 reason"),
      fc.constantFrom("short", "🙂🙂🙂🙂🙂", "x".repeat(1025)),
      h,
    ),
    ticket: hostile(
      fc.constantFrom("SEC-1", "JIRA/OPS-12", "a#1:2"),
      fc.constantFrom("-SEC", "SEC 1", ""),
      h,
    ),
    expires: hostile(expires, badExpires, h),
  });
}

const exceptionType = fc.constantFrom("PermissiveMtls", "AuditOnly");

function exceptionsAndMtls(h: Level): fc.Arbitrary<{ exceptions?: unknown; mtls?: unknown }> {
  const unique = fc
    .uniqueArray(exceptionType, { maxLength: 2 })
    .chain((types) => fc.tuple(...types.map((t) => exception(h, fc.constant(t)))));
  const exceptions = mix(
    h,
    unique,
    // duplicate list-map keys, and too many
    { arbitrary: fc.array(exception(h, exceptionType), { minLength: 2, maxLength: 3 }), weight: 1 },
    { arbitrary: fc.array(exception(h, exceptionType), { minLength: 9, maxLength: 9 }), weight: 1 },
  );
  return fc
    .tuple(exceptions, fc.constantFrom("match", "Strict", "Permissive", "omit"), fc.boolean())
    .map(([ex, mode, withEx]) => {
      const list = ex as unknown[];
      const permissive = list.some((e) => (e as { type?: unknown }).type === "PermissiveMtls");
      const out: { exceptions?: unknown; mtls?: unknown } = {};
      if (withEx || list.length > 0) out.exceptions = list;
      if (mode === "match") out.mtls = { mode: permissive ? "Permissive" : "Strict" };
      else if (mode !== "omit" && h === 2) out.mtls = { mode };
      else if (mode !== "omit" || permissive) out.mtls = permissive ? { mode: "Permissive" } : {};
      return out;
    });
}

function requestAuthentication(h: Level): fc.Arbitrary<unknown> {
  const issuer = hostile(
    fc.constantFrom(...ISSUERS),
    fc.constantFrom("*", "*x", "x*", "https://auth.example.com/*", "*/*", "", "https://a.example/ /x"),
    h,
  );
  return fc.record(
    {
      jwt: fc.array(
        fc.record(
          {
            issuer,
            jwksUri: hostile(
              fc.constant("https://auth.example.com/jwks"),
              fc.constantFrom("http://x", "https://", ""),
              h,
            ),
            audiences: fc.array(fc.constantFrom("api", "web", "🙂"), { maxLength: 2 }),
            forwardOriginalToken: fc.boolean(),
          },
          { requiredKeys: ["issuer"] },
        ),
        { minLength: h === 2 ? 0 : 1, maxLength: 3 },
      ),
      requireToken: hostile(fc.boolean(), fc.constantFrom("true", 1, null), h),
    },
    { requiredKeys: ["jwt"] },
  );
}

function secret(h: Level, name: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.record(
    {
      name,
      storeRef: fc.record(
        {
          name: hostile(fc.constantFrom("vault", "aws"), oddString, h),
          kind: hostile(
            fc.constantFrom("SecretStore", "ClusterSecretStore"),
            fc.constantFrom("Store", ""),
            h,
          ),
        },
        { requiredKeys: ["name"] },
      ),
      refreshInterval: hostile(
        fc.constantFrom("1h", "15m", "30s", "1h30m", "100ms"),
        fc.constantFrom("1d", "h", "-1h", "1".repeat(40) + "h"),
        h,
      ),
      data: fc.array(
        fc.record({
          secretKey: hostile(
            fc.constantFrom("password", "tls.crt", "API_KEY"),
            fc.constantFrom("a/b", "", "a b"),
            h,
          ),
          remoteRef: fc.record(
            {
              key: hostile(fc.constantFrom("db/prod", "path/🙂"), oddString, h),
              property: fc.constantFrom("user"),
            },
            { requiredKeys: ["key"] },
          ),
        }),
        { minLength: h === 2 ? 0 : 1, maxLength: 2 },
      ),
    },
    { requiredKeys: ["name", "storeRef", "data"] },
  );
}

function secrets(h: Level): fc.Arbitrary<unknown> {
  const unique = fc
    .uniqueArray(dnsLabel, { maxLength: 2 })
    .chain((names) => fc.tuple(...names.map((n) => secret(h, fc.constant(n)))));
  return mix(
    h,
    unique,
    {
      arbitrary: dnsLabel.chain((n) => fc.array(secret(h, fc.constant(n)), { minLength: 2, maxLength: 2 })),
      weight: 1,
    },
    { arbitrary: fc.array(secret(h, fc.oneof(dnsLabel, badServiceRef)), { maxLength: 2 }), weight: 1 },
  );
}

/** Unknown fields, including keys that pollute prototypes when code copies objects carelessly. */
const unknownKey = fc.constantFrom(
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "extra",
  "Selector",
  "selector ",
);

/**
 * requireToken denies everything without a token, which UDP and SCTP never carry: the schema
 * rejects it next to a UDP/SCTP ingress rule, so below chaos such a spec asks for no token.
 */
function withoutTokenOnUdp(spec: Raw): void {
  const ra = spec.requestAuthentication;
  const udp =
    Array.isArray(spec.ingress) &&
    spec.ingress.some((r) => typeof r === "object" && r !== null && notTcp(r as Raw));
  if (udp && typeof ra === "object" && ra !== null)
    spec.requestAuthentication = { ...ra, requireToken: false };
}

/** A profile spec at hostility level `h`. */
export function spec(h: Level): fc.Arbitrary<unknown> {
  const body = fc
    .tuple(
      fc.record(
        {
          selector: selector(h),
          serviceAccount: fc.record(
            {
              name: hostile(dnsLabel, badSaName, h),
              automountToken: hostile(fc.boolean(), fc.constant("yes"), h),
            },
            { requiredKeys: [] },
          ),
          ingress: hostile(
            fc.array(ingressRule(h), { maxLength: 3 }),
            fc.array(ingressRule(0), { minLength: 33, maxLength: 33 }),
            h,
          ),
          egress: fc.record(
            {
              dns: hostile(fc.boolean(), fc.constant("false"), h),
              to: fc.array(egressTarget(h), { maxLength: 3 }),
            },
            { requiredKeys: [] },
          ),
          requestAuthentication: requestAuthentication(h),
          audit: fc.record(
            {
              accessLogs: hostile(
                fc.constantFrom("Enabled", "Disabled"),
                fc.constantFrom("enabled", "On", true, ""),
                h,
              ),
            },
            { requiredKeys: [] },
          ),
          secrets: secrets(h),
          driftPolicy: hostile(fc.constantFrom("Correct", "Report"), fc.constantFrom("correct", "Ignore"), h),
        },
        { requiredKeys: h === 2 ? [] : ["selector"] },
      ),
      exceptionsAndMtls(h),
      h === 0 ? fc.constant(null) : rarely(fc.tuple(unknownKey, wrongType), h === 1 ? 1 / 30 : 3 / 4),
    )
    .map(([s, em, extra]) => {
      const out: Raw = { ...s, ...em };
      if (h < 2) withoutTokenOnUdp(out);
      return extra ? withOwnKey(out, extra[0], extra[1]) : out;
    });
  return h === 2 ? fc.oneof({ arbitrary: body, weight: 12 }, { arbitrary: wrongType, weight: 1 }) : body;
}

/** Metadata, with the Argo CD tracking label and annotation a GitOps tool puts on the profile. */
function metadata(
  h: Level,
  name: fc.Arbitrary<unknown>,
  namespace: fc.Arbitrary<unknown>,
): fc.Arbitrary<unknown> {
  const valid = fc.record(
    {
      name,
      namespace,
      uid: fc.constantFrom("uid-1", "uid-2"),
      generation: hostile(fc.integer({ min: 1, max: 5 }), fc.constantFrom("2", -1, null), h),
      resourceVersion: fc.constantFrom("10", "11"),
      labels: hostile(
        fc.constant({ "app.kubernetes.io/instance": "argo-app", team: "pay" }),
        fc.constantFrom(null, "x", { a: 1 }, withOwnKey({}, "__proto__", { polluted: true })),
        h,
      ),
      annotations: fc.constant({
        "argocd.argoproj.io/tracking-id": "argo-app:meshward.io/ServiceSecurityProfile:pay/api",
      }),
    },
    { requiredKeys: ["name", "namespace"] },
  );
  return hostile(valid, fc.constantFrom(null, [], "pay/api"), h);
}

export interface RawProfile {
  raw: unknown;
  /** The key the fake cluster stores it under (namespace/name, or a stand-in for garbage metadata). */
  key: string;
}

function keyOf(raw: unknown, fallback: string): string {
  const m = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  return typeof m?.namespace === "string" &&
    typeof m.name === "string" &&
    m.namespace !== "" &&
    m.name !== "" &&
    !m.namespace.includes("/") &&
    !m.name.includes("/")
    ? `${m.namespace}/${m.name}`
    : fallback;
}

const badName = fc.oneof(oddString, fc.constantFrom("Payments_API", "a/b", "-api", "a".repeat(64), 42, null));
const badNamespace = fc.oneof(fc.constantFrom("", "a/b", "*", "PAY", "pay/", 7, null), oddString);

/** A whole object as the API server (or a YAML file) might hand it over. */
export function rawProfile(h: Level): fc.Arbitrary<RawProfile> {
  const name = hostile(fc.constantFrom(...NAMES), badName, h);
  const namespace = hostile(fc.constantFrom(...NAMESPACES), badNamespace, h);
  const status = h
    ? rarely(
        fc.oneof(
          wrongType,
          fc.record(
            { conditions: wrongType, objects: wrongType, exceptions: wrongType },
            { requiredKeys: [] },
          ),
        ),
        h === 1 ? 1 / 30 : 1 / 5,
      )
    : fc.constant(null);
  const obj = fc
    .record({
      apiVersion: hostile(fc.constant("meshward.io/v1alpha1"), fc.constantFrom("meshward.io/v1", "", 1), h),
      kind: hostile(
        fc.constant("ServiceSecurityProfile"),
        fc.constantFrom("Profile", "serviceSecurityProfile"),
        h,
      ),
      metadata: metadata(h, name, namespace),
      spec: spec(h),
    })
    .chain((o) => status.map((st) => (st === null ? o : { ...o, status: st })));
  const raw = h === 2 ? fc.oneof({ arbitrary: obj, weight: 20 }, { arbitrary: wrongType, weight: 1 }) : obj;
  return raw.map((r) => ({ raw: r, key: keyOf(r, "pay/garbage") }));
}

/** Valid profiles with unique keys: the other services a profile may reference. */
export const world = fc.uniqueArray(
  fc.record({
    namespace: fc.constantFrom(...NAMESPACES),
    name: fc.constantFrom(...NAMES),
    spec: spec(0),
  }),
  { maxLength: 4, selector: (p) => `${p.namespace}/${p.name}` },
);
