// The side-by-side table: measurements of both sides in, Markdown out. Pure.

export interface ProbeSummary {
  tried: number;
  restored: number;
  p50Ms: number | null;
  p99Ms: number | null;
  stopped?: string;
}

export interface SideResult {
  /** "meshward" or "Kyverno" */
  name: string;
  /** applying the profiles → every expected object present; null when it did not finish in time */
  createSeconds: number | null;
  present: number;
  expected: number;
  /** API requests / writes by the controller's own users from applying the profiles until settled */
  requests: number;
  writes: number;
  leaseWrites: number;
  eventWrites: number;
  /** CPU seconds the controller processes used in the same window */
  cpuSeconds: number;
  /** RSS (sum over the controller's processes) once settled, and peak RSS (VmHWM) */
  rssMb: number;
  peakRssMb: number;
  idleCpuPercent: number;
  restore: ProbeSummary;
  edit: ProbeSummary;
  quietMinutes: number;
  quietRequests: number;
  quietWrites: number;
  quietLeaseWrites: number;
}

/** meshward ÷ Kyverno, two decimals; "n/a" when a side has no figure or Kyverno's is 0. */
export function ratio(meshward: number | null, kyverno: number | null): string {
  if (meshward === null || kyverno === null || !Number.isFinite(meshward) || !Number.isFinite(kyverno))
    return "n/a";
  if (kyverno === 0) return meshward === 0 ? "1 (both 0)" : "n/a (Kyverno 0)";
  return (meshward / kyverno).toFixed(2);
}

const num = (x: number | null, digits = 0): string => (x === null ? "—" : x.toFixed(digits));

function probeCell(s: ProbeSummary, withP99: boolean): string {
  if (s.tried === 0) return "not run";
  const lat = withP99 ? `${num(s.p50Ms)} / ${num(s.p99Ms)}` : num(s.p50Ms);
  const count = `${s.restored}/${s.tried} restored`;
  return s.restored === 0
    ? `none restored (${s.tried} tried)`
    : `${lat} (${count}${s.stopped ? ", stopped" : ""})`;
}

function createCell(s: SideResult): string {
  return s.createSeconds === null
    ? `did not finish (${s.present}/${s.expected} objects)`
    : s.createSeconds.toFixed(1);
}

/** Markdown table rows: measure | meshward | Kyverno | meshward ÷ Kyverno. */
export function peerTable(m: SideResult, k: SideResult, profiles: number): string {
  const rows: [string, string, string, string][] = [
    [
      `Applying ${profiles} profiles → all ${m.expected} objects present (s)`,
      createCell(m),
      createCell(k),
      ratio(m.createSeconds, k.createSeconds),
    ],
    [
      "API requests by the controller(s) until settled",
      `${m.requests}`,
      `${k.requests}`,
      ratio(m.requests, k.requests),
    ],
    [
      "… of which writes (lease renewals, events)",
      `${m.writes} (${m.leaseWrites}, ${m.eventWrites})`,
      `${k.writes} (${k.leaseWrites}, ${k.eventWrites})`,
      ratio(m.writes, k.writes),
    ],
    [
      "CPU time of the controller(s) until settled (s)",
      num(m.cpuSeconds, 1),
      num(k.cpuSeconds, 1),
      ratio(m.cpuSeconds, k.cpuSeconds),
    ],
    ["RSS once settled (MB)", num(m.rssMb), num(k.rssMb), ratio(m.rssMb, k.rssMb)],
    ["Peak RSS (MB)", num(m.peakRssMb), num(k.peakRssMb), ratio(m.peakRssMb, k.peakRssMb)],
    [
      "Idle CPU (% of one core, 30 s)",
      num(m.idleCpuPercent, 2),
      num(k.idleCpuPercent, 2),
      ratio(m.idleCpuPercent, k.idleCpuPercent),
    ],
    [
      `Deleted generated object back, p50 / p99 (ms)`,
      probeCell(m.restore, true),
      probeCell(k.restore, true),
      `${ratio(m.restore.p50Ms, k.restore.p50Ms)} / ${ratio(m.restore.p99Ms, k.restore.p99Ms)}`,
    ],
    [
      "Edited generated object (NetworkPolicy policyTypes) put back, p50 (ms)",
      probeCell(m.edit, false),
      probeCell(k.edit, false),
      ratio(m.edit.p50Ms, k.edit.p50Ms),
    ],
    [
      `Writes during ${m.quietMinutes} quiet minutes (lease renewals)`,
      `${m.quietWrites} (${m.quietLeaseWrites})`,
      `${k.quietWrites} (${k.quietLeaseWrites})`,
      ratio(m.quietWrites, k.quietWrites),
    ],
    [
      `Writes during ${m.quietMinutes} quiet minutes, without lease renewals`,
      `${m.quietWrites - m.quietLeaseWrites}`,
      `${k.quietWrites - k.quietLeaseWrites}`,
      ratio(m.quietWrites - m.quietLeaseWrites, k.quietWrites - k.quietLeaseWrites),
    ],
    [
      `API requests during ${m.quietMinutes} quiet minutes`,
      `${m.quietRequests}`,
      `${k.quietRequests}`,
      ratio(m.quietRequests, k.quietRequests),
    ],
  ];
  return [
    `| Measure | ${m.name} | ${k.name} | ${m.name} ÷ ${k.name} |`,
    "| --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}
